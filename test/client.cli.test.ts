/**
 * The terminal client (`npm run client`, scripts/client.ts) against a real
 * gateway: one-shot hold, extend, release, book and ping with their JSON
 * replies and exit codes, `sub` printing the snapshot and the diffs of
 * another client's hold as JSON lines, and the interactive mode.
 */
import { spawn, type ChildProcessWithoutNullStreams } from 'node:child_process';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createEventFromLayout } from '../core/events.js';
import { generateVenue, withStandingArea } from '../core/layout/index.js';
import { createVenueEvent, startTestGateway, token, wipePrefix, type TestGateway } from './support/gateway.js';

let gw: TestGateway;
let alice = '';

beforeAll(async () => {
  gw = await startTestGateway();
  await createVenueEvent(gw.store, 'cli', 200);
  alice = await token('cli-alice');
});

afterAll(async () => {
  await gw?.stop();
  if (gw) await wipePrefix(gw.prefix);
});

function client(args: string[]): ChildProcessWithoutNullStreams {
  // node with tsx's loader directly: no npx lookup and no second process, which on a loaded
  // machine cost seconds per command
  return spawn(process.execPath, ['--import', 'tsx', 'scripts/client.ts', '--url', gw.wsUrl, ...args], { stdio: 'pipe' });
}

/** Runs one command to its end: exit code and the JSON lines it printed. */
function run(args: string[]): Promise<{ code: number | null; lines: Record<string, unknown>[]; stderr: string }> {
  return new Promise((resolve) => {
    const child = client(args);
    let out = '';
    let err = '';
    child.stdout.on('data', (d: Buffer) => (out += d.toString()));
    child.stderr.on('data', (d: Buffer) => (err += d.toString()));
    child.on('close', (code) => resolve({ code, lines: out.split('\n').filter(Boolean).map((l) => JSON.parse(l) as Record<string, unknown>), stderr: err }));
  });
}

/** Collects a child's JSON lines as they come. */
function lines(child: ChildProcessWithoutNullStreams): { seen: Record<string, unknown>[]; until(pred: (l: Record<string, unknown>) => boolean, ms?: number): Promise<Record<string, unknown>> } {
  const seen: Record<string, unknown>[] = [];
  let buffer = '';
  const waiters: { pred: (l: Record<string, unknown>) => boolean; resolve: (l: Record<string, unknown>) => void }[] = [];
  child.stdout.on('data', (d: Buffer) => {
    buffer += d.toString();
    let nl: number;
    while ((nl = buffer.indexOf('\n')) >= 0) {
      const line = JSON.parse(buffer.slice(0, nl)) as Record<string, unknown>;
      buffer = buffer.slice(nl + 1);
      seen.push(line);
      for (const w of [...waiters]) if (w.pred(line)) (waiters.splice(waiters.indexOf(w), 1), w.resolve(line));
    }
  });
  return {
    seen,
    until(pred, ms = 40_000) {
      const found = seen.find(pred);
      if (found) return Promise.resolve(found);
      return new Promise((resolve, reject) => {
        const timer = setTimeout(() => reject(new Error(`no such line in ${ms} ms; seen: ${JSON.stringify(seen)}`)), ms);
        waiters.push({ pred, resolve: (l) => (clearTimeout(timer), resolve(l)) });
      });
    },
  };
}

// each test spawns several Node processes; on a machine busy with the other test files one can
// take seconds to start, so the budget is per test file here, not the global 30 s
describe('npm run client', { timeout: 90_000 }, () => {
  it('holds, extends, releases and books, printing each reply as JSON; exit 1 with the err on a refusal', async () => {
    const held = await run(['--token', alice, 'hold', 'cli', '3', '4']);
    expect(held.code, held.stderr).toBe(0);
    expect(held.stderr).toContain('connected as cli-alice');
    const tok = held.lines[0]!.tok as string;
    expect(held.lines[0]).toMatchObject({ t: 'ok', rid: 1, tok: expect.any(String), exp: expect.any(Number) });

    const extended = await run(['--token', alice, 'extend', 'cli', tok]);
    expect(extended.lines[0]).toMatchObject({ t: 'ok', exp: expect.any(Number) });
    const released = await run(['--token', alice, 'release', 'cli', tok, '4']);
    expect(released.lines[0]).toMatchObject({ t: 'ok', n: 1 });
    const booked = await run(['--token', alice, 'book', 'cli', tok, '--key', 'cli-order-1']);
    expect(booked.code, booked.stderr).toBe(0);
    expect(booked.lines[0]).toMatchObject({ t: 'ok', seats: [3], reference: expect.stringMatching(/^SM-/) });
    expect((await gw.store.snapshot('cli'))!.status[3]).toBe(2);

    const refused = await run(['--token', alice, 'hold', 'cli', '3', '500', '-1']);
    expect(refused.code).toBe(1);
    expect(refused.lines[0]).toMatchObject({ t: 'err', code: 'BAD_SEAT', seats: [500, -1] });

    const pong = await run(['ping']);
    expect(pong.lines[0]).toMatchObject({ t: 'pong' });
  });

  it('sell books free seats directly with a box-office token; FORBIDDEN without the scope', async () => {
    const clerk = await token('cli-clerk', 'seats:read seats:box-office');
    const sold = await run(['--token', clerk, 'sell', 'cli', '70', '71', '--key', 'cli-sale-1']);
    expect(sold.code, sold.stderr).toBe(0);
    expect(sold.lines[0]).toMatchObject({ t: 'ok', seats: [70, 71], replayed: false, state: 'confirmed' });
    const status = (await gw.store.snapshot('cli'))!.status;
    expect([status[70], status[71]]).toEqual([2, 2]);
    const refused = await run(['--token', alice, 'sell', 'cli', '72']);
    expect(refused.code).toBe(1);
    expect(refused.lines[0]).toMatchObject({ t: 'err', code: 'FORBIDDEN' });
  });

  it('--ga holds, releases and sells places of a general-admission area', async () => {
    expect((await createEventFromLayout(gw.store, 'cli-ga', withStandingArea(generateVenue({ seats: 100, seed: 7, name: 'cli-ga' }), 20))).ok).toBe(true);
    const held = await run(['--token', alice, 'hold', 'cli-ga', '--ga', '0:3']);
    expect(held.code, held.stderr).toBe(0);
    const tok = held.lines[0]!.tok as string;
    expect(await run(['--token', alice, 'release', 'cli-ga', tok, '--ga', '0:1'])).toMatchObject({ code: 0, lines: [{ t: 'ok', n: 1 }] });
    const clerk = await token('cli-clerk-ga', 'seats:read seats:box-office');
    const sold = await run(['--token', clerk, 'sell', 'cli-ga', '5', '--ga', '0:4', '--key', 'cli-ga-1']);
    expect(sold.code, sold.stderr).toBe(0);
    expect(sold.lines[0]).toMatchObject({ t: 'ok', seats: [5], ga: [[0, 4]], state: 'confirmed' });
    expect(await gw.store.areaCounters('cli-ga')).toEqual([{ capacity: 20, held: 2, booked: 4, blocked: 0 }]);
    const bad = await run(['--token', alice, 'hold', 'cli-ga', '--ga', 'floor']);
    expect(bad.code).not.toBe(0);
    expect(bad.stderr).toMatch(/--ga must be area:quantity pairs/);
  });

  it('sub prints the snapshot and then the diffs as JSON lines', async () => {
    const watcher = client(['sub', 'cli', '--count', '3']);
    // listened to from the start: the watcher may print its last line and exit while the hold below runs
    const closed = new Promise((resolve) => watcher.on('close', resolve));
    const out = lines(watcher);
    const reply = await out.until((l) => l.t === 'ok');
    expect(reply).toMatchObject({ t: 'ok', rid: 1 });
    const snap = await out.until((l) => l.t === 'snap');
    expect(snap).toMatchObject({ ev: 'cli', seats: 200, counts: expect.objectContaining({ free: expect.any(Number), booked: expect.any(Number) }) });
    const held = await run(['--token', alice, 'hold', 'cli', '50']);
    const diff = await out.until((l) => l.t === 'diff');
    expect(diff).toMatchObject({ ev: 'cli', ch: [50, 1] });
    // --count 3: the reply, the snapshot and one diff, then it exits
    expect(await closed).toBe(0);
    await run(['--token', alice, 'release', 'cli', held.lines[0]!.tok as string]);
  });

  it('interactive: commands from stdin, replies and diffs as they come', async () => {
    const session = client(['--token', alice]);
    const out = lines(session);
    session.stdin.write('sub cli\n');
    await out.until((l) => l.t === 'snap');
    session.stdin.write('hold cli 60 61\n');
    const held = await out.until((l) => l.t === 'ok' && typeof l.tok === 'string');
    await out.until((l) => l.t === 'diff' && Array.isArray(l.ch) && (l.ch as number[]).includes(60));
    session.stdin.write(`release cli ${held.tok as string}\nping\n`);
    await out.until((l) => l.t === 'pong');
    session.stdin.write('quit\n');
    expect(await new Promise((resolve) => session.on('close', resolve))).toBe(0);
    expect(out.seen.some((l) => l.t === 'ok' && l.n === 2)).toBe(true);
  });
});
