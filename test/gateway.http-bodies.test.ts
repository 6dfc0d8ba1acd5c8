/**
 * Request bodies of the admin routes (POST /events, block, unblock) against
 * real gateways: a body is not read before its credentials are checked, a
 * refused call is answered at once and its connection closed, and the
 * memory of a gateway process under many large unauthenticated bodies at
 * once stays bounded (its VmRSS, sampled from /proc). The process-wide body
 * budget refuses a body that would pass it with 503, the others go on.
 */
import { readFileSync } from 'node:fs';
import net from 'node:net';
import { afterAll, describe, expect, it } from 'vitest';
import { mintDevToken } from '../gateway/auth.js';
import { processBodyBudget } from '../gateway/http-body.js';
import { generateVenue } from '../scripts/generate-venue.js';
import { TEST_JWT_SECRET, newPrefix, spawnGateway, startTestGateway, token, wipePrefix, type SpawnedGateway, type TestGateway } from './support/gateway.js';
import { apiFetch } from './support/openapi.js';

const cleanups: (() => Promise<unknown>)[] = [];
afterAll(async () => {
  for (const fn of cleanups.reverse()) await fn().catch(() => undefined);
});

/** Resident memory of a process, in bytes. */
function rssOf(pid: number): number {
  const kb = /VmRSS:\s+(\d+)\s+kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))?.[1];
  if (kb === undefined) throw new Error(`no VmRSS for ${pid}`);
  return Number(kb) * 1024;
}

interface Upload {
  /** the status line of the answer, '' when none came */
  status: string;
  body: string;
  /** ms from the start until the answer, and until the server closed the connection (null: it did not) */
  answeredAfter: number | null;
  closedAfter: number | null;
  /** body bytes the client got to write before the connection closed */
  sent: number;
}

/**
 * A POST over a raw socket that declares `size` bytes and writes them as fast
 * as the server takes them (`stallAt`: stops there until `resume()`), and
 * records the answer and when the server closed the connection.
 */
function upload(port: number, path: string, size: number, options: { auth?: string; stallAt?: number; body?: Buffer; waitMs?: number } = {}) {
  const socket = net.connect(port, '127.0.0.1');
  const started = Date.now();
  const result: Upload = { status: '', body: '', answeredAfter: null, closedAfter: null, sent: 0 };
  const chunk = Buffer.alloc(64 * 1024, 'x'.charCodeAt(0));
  let received = '';
  let limit = options.stallAt ?? size;
  const pump = () => {
    while (result.sent < limit && !socket.destroyed) {
      const n = Math.min(chunk.length, limit - result.sent);
      const piece = options.body ? options.body.subarray(result.sent, result.sent + n) : chunk.subarray(0, n);
      result.sent += n;
      if (!socket.write(piece)) return void socket.once('drain', pump);
    }
  };
  socket.on('connect', () => {
    const auth = options.auth ? `Authorization: Bearer ${options.auth}\r\n` : '';
    socket.write(`POST ${path} HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\nContent-Length: ${size}\r\n${auth}\r\n`);
    pump();
  });
  let onAnswer: (r: Upload) => void = () => {};
  const answered = new Promise<Upload>((resolve) => (onAnswer = resolve));
  socket.on('data', (data) => {
    received += data.toString('latin1');
    const headerEnd = received.indexOf('\r\n\r\n');
    if (headerEnd < 0) return;
    result.status = received.slice(0, received.indexOf('\r\n'));
    result.answeredAfter ??= Date.now() - started;
    result.body = received.slice(headerEnd + 4);
    const length = /\r\ncontent-length: *(\d+)/i.exec(received.slice(0, headerEnd))?.[1];
    if (length !== undefined && result.body.length >= Number(length)) onAnswer(result);
  });
  socket.on('error', () => undefined); // EPIPE / ECONNRESET once the server closed: expected
  let gaveUp = false;
  const done = new Promise<Upload>((resolve) => {
    // a connection the server keeps open is given up on after waitMs: closedAfter stays null
    const timer = setTimeout(() => {
      gaveUp = true;
      socket.destroy();
    }, options.waitMs ?? 20_000);
    socket.on('close', () => {
      clearTimeout(timer);
      if (!gaveUp) result.closedAfter = Date.now() - started;
      resolve(result);
    });
  });
  return {
    /** resolves once the connection is closed */
    done,
    /** resolves once a whole answer is in (the connection may stay open) */
    answered,
    /** sends the rest of a stalled body */
    resume() {
      limit = size;
      pump();
    },
  };
}

describe('admin bodies are read only after the credentials are checked', () => {
  let gw: SpawnedGateway;

  it('many large unauthenticated bodies at once: each answered at once and its connection closed; memory stays bounded', { timeout: 120_000 }, async () => {
    const prefix = newPrefix();
    cleanups.push(() => wipePrefix(prefix));
    gw = await spawnGateway(prefix, { DEMO: '0', LOG_LEVEL: 'info' });
    cleanups.push(() => gw.stop('SIGKILL'));
    const pid = gw.child.pid!;
    expect((await apiFetch(`${gw.httpUrl}/healthz`)).status).toBe(200);
    await new Promise((r) => setTimeout(r, 500));
    const before = rssOf(pid);

    const SIZE = 60 << 20;
    const viewer = await token('viewer', 'seats:read');
    const forged = await mintDevToken('not-the-gateway-secret', { sub: 'mallory', scope: 'admin' });
    const calls: { path: string; auth?: string; status: number }[] = [
      ...Array.from({ length: 4 }, () => ({ path: '/events', status: 401 })), // no token: refused without any await
      ...Array.from({ length: 4 }, () => ({ path: '/events', auth: forged, status: 401 })), // checked asynchronously
      ...Array.from({ length: 2 }, () => ({ path: '/events', auth: viewer, status: 403 })),
      ...Array.from({ length: 2 }, () => ({ path: '/events/e1/block', status: 401 })),
      ...Array.from({ length: 2 }, () => ({ path: '/events/e1/block', auth: forged, status: 401 })),
      ...Array.from({ length: 2 }, () => ({ path: '/events/e1/unblock', auth: viewer, status: 403 })),
    ];
    let peak = before;
    const sampler = setInterval(() => {
      try {
        peak = Math.max(peak, rssOf(pid));
      } catch {
        // the process is gone: the assertions below say so
      }
    }, 25);
    const results = await Promise.all(calls.map((c) => upload(gw.port, c.path, SIZE, { auth: c.auth }).done));
    await new Promise((r) => setTimeout(r, 500));
    clearInterval(sampler);
    peak = Math.max(peak, rssOf(pid));

    const growth = peak - before;
    console.info(`16 unauthenticated 60 MB bodies at once: gateway VmRSS ${(before / 2 ** 20).toFixed(0)} MB -> peak ${(peak / 2 ** 20).toFixed(0)} MB; client wrote at most ${(Math.max(...results.map((r) => r.sent)) / 2 ** 20).toFixed(1)} MB of a body`);
    expect(growth).toBeLessThan(100 * 2 ** 20);
    results.forEach((r, i) => {
      const call = calls[i]!;
      expect(r.status, `${call.path} ${call.auth ? 'with a token' : 'without a token'}`).toMatch(new RegExp(`^HTTP/1\\.1 ${call.status} `));
      expect(JSON.parse(r.body)).toMatchObject({ code: call.status === 401 ? 'UNAUTHORIZED' : 'FORBIDDEN' });
      expect(r.answeredAfter).toBeLessThan(5000);
      // the server closed the connection: the client could not send its whole body
      expect(r.closedAfter, 'closed by the server').not.toBeNull();
      expect(r.sent).toBeLessThan(SIZE / 2);
    });
    // and the gateway serves on
    expect((await apiFetch(`${gw.httpUrl}/healthz`)).status).toBe(200);
    expect(await gw.stop()).toBe(0);
  });
});

describe('the process-wide body budget', () => {
  let gw: TestGateway;

  it('a body that would pass MAX_BODY_BUFFER_BYTES is answered 503 RATE_LIMITED and its connection closed; the others go on', { timeout: 60_000 }, async () => {
    const BUDGET = 1 << 20;
    gw = await startTestGateway({ MAX_BODY_BYTES: String(BUDGET), MAX_BODY_BUFFER_BYTES: String(BUDGET) });
    cleanups.push(() => gw.stop());
    cleanups.push(() => wipePrefix(gw.prefix));
    expect(processBodyBudget.limitBytes).toBe(BUDGET);
    const port = gw.node.port;
    const admin = await mintDevToken(TEST_JWT_SECRET, { sub: 'ops', scope: 'admin' });

    // a valid event padded to 900 KB, of which 600 KB are sent and then the client stalls: buffered, within the budget
    const padded = (id: string) => {
      const text = JSON.stringify({ id, layout: generateVenue({ seats: 120, seed: 5, name: id }), pad: '' });
      return Buffer.from(text.replace('"pad":""', `"pad":"${'p'.repeat(900 * 1024 - text.length)}"`));
    };
    const first = padded('budget-1');
    const stalled = upload(port, '/events', first.length, { auth: admin, body: first, stallAt: 600 * 1024 });
    await new Promise((r) => setTimeout(r, 1000));
    expect(processBodyBudget.usedBytes).toBeGreaterThanOrEqual(500 * 1024);

    // a second one cannot fit beside it
    const second = padded('budget-2');
    const refused = await upload(port, '/events', second.length, { auth: admin, body: second }).done;
    expect(refused.status).toMatch(/^HTTP\/1\.1 503 /);
    expect(JSON.parse(refused.body)).toEqual({ code: 'RATE_LIMITED', msg: 'the server is receiving too many request bodies at once; retry later' });
    expect(refused.closedAfter).not.toBeNull();
    expect(await gw.store.meta('budget-2')).toBeNull();

    // the first one completes and is served; the budget is given back
    stalled.resume();
    const created = await stalled.answered;
    expect(created.status).toMatch(/^HTTP\/1\.1 201 /);
    expect(JSON.parse(created.body)).toMatchObject({ id: 'budget-1', seatCount: 120 });
    expect(processBodyBudget.usedBytes).toBe(0);

    // the refused one, retried alone, fits
    const retried = await apiFetch(`${gw.httpUrl}/events`, { method: 'POST', headers: { Authorization: `Bearer ${admin}`, 'Content-Type': 'application/json' }, body: second });
    expect(retried.status).toBe(201);
    expect(processBodyBudget.usedBytes).toBe(0);

    // an empty body is read (and refused as JSON), not waited for
    const empty = await apiFetch(`${gw.httpUrl}/events`, { method: 'POST', headers: { Authorization: `Bearer ${admin}` }, body: '' });
    expect(empty.status).toBe(400);
  });
});
