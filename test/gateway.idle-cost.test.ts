/**
 * Idle cost per event, measured with MONITOR at a Redis of the test's own (the
 * shared test Redis carries other files' traffic, which MONITOR would show too,
 * and whose volume can confuse the client's monitor mode): a gateway
 * watching many events that never change sends Redis no more than a
 * documented constant per node on its timers (docs/gateway.md, What a node
 * costs at rest), however many events it watches; and it is not quiet
 * because it is deaf: a change to one of them still reaches its room at once.
 */
import { once } from 'node:events';
import { connect } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CLAIM_WINDOW } from '../core/bookings/outbox-claims.js';
import { CHECKED_PER_PASS } from '../core/bookings/recovery.js';
import { ROOM_CHECKS_PER_TICK } from '../gateway/hub.js';
import { queryGatewayDb, startTestGateway, type TestGateway } from './support/gateway.js';
import { Redis } from 'ioredis';
import { startPrivateRedis, type PrivateRedis } from './support/private-redis.js';

const EVENTS = 1000;
const WINDOW_MS = 3000;
/** how often a timer of period `ms` can run in the window: whole periods, plus one for where it falls */
const runs = (ms: number) => Math.floor(WINDOW_MS / ms) + 1;
/**
 * What a node's timers may send Redis in the window at rest, with the default
 * settings, in commands and in keys named: the room check's window
 * (ROOM_CHECKS_PER_TICK HMGETs per ROOM_CHECK_MS = 1 s), the sweeper's claim
 * (a script and its ZRANGEBYSCORE, which MONITOR shows too, every 200 ms),
 * the flusher's registry size (SCARD every 250 ms) and claim window
 * (CLAIM_WINDOW XAUTOCLAIMs and one XREADGROUP of them per 2.5 s), the
 * lost-event check (SCARD, SMISMEMBER and CHECKED_PER_PASS EXISTS per 1 s).
 * None of it counts events.
 */
const COMMANDS = runs(1000) * ROOM_CHECKS_PER_TICK + runs(200) * 2 + runs(250) + runs(2500) * (CLAIM_WINDOW + 1) + runs(1000) * (2 + CHECKED_PER_PASS);
const KEYS = runs(1000) * ROOM_CHECKS_PER_TICK + runs(200) * 2 + runs(250) + runs(2500) * 2 * CLAIM_WINDOW + runs(1000) * (1 + 2 * CHECKED_PER_PASS);
const rules = { holdTtlMs: 60_000, maxHoldLifetimeMs: 120_000, maxSeatsPerToken: 4, maxSeatsPerHolder: 100 };

let gw: TestGateway;
let redis: PrivateRedis;
let admin: Redis;

beforeAll(async () => {
  redis = await startPrivateRedis();
  admin = new Redis(redis.url);
  gw = await startTestGateway({ REDIS_URL: redis.url, ROOM_CHECK_MS: '1000', ROOM_LINGER_MS: '600000', REBUILD_CHECK_MS: '1000', SWEEP_INTERVAL_MS: '200' });
  for (let i = 0; i < EVENTS; i++) expect((await gw.store.createEvent({ eventId: `idle${i}`, seatCount: 100, rules })).ok).toBe(true);
  await Promise.all(Array.from({ length: EVENTS }, (_, i) => gw.node.server.hub.join(`idle${i}`)));
}, 60_000);

afterAll(async () => {
  await gw?.stop();
  await admin?.quit();
  await redis?.stop(); // its keys go with it
});

/**
 * Every command naming a key (or channel) of the gateway's prefix, for `ms`:
 * MONITOR on a plain socket, each line `+<time> [<db> <client>] "cmd" "arg"…`.
 * (ioredis's monitor mode loses track of its replies when MONITOR output
 * arrives with the OK.)
 */
async function monitor(ms: number): Promise<string[][]> {
  const seen: string[][] = [];
  const socket = connect(redis.port, '127.0.0.1');
  await once(socket, 'connect');
  let buffer = '';
  socket.on('data', (data: Buffer) => {
    buffer += data.toString('latin1');
    for (let nl = buffer.indexOf('\r\n'); nl >= 0; nl = buffer.indexOf('\r\n')) {
      const line = buffer.slice(0, nl);
      buffer = buffer.slice(nl + 2);
      if (!line.startsWith('+') || line === '+OK') continue;
      const args = [...line.matchAll(/"((?:[^"\\]|\\.)*)"/g)].map((m) => m[1]!);
      if (args.some((a) => a.startsWith(gw.prefix))) seen.push(args);
    }
  });
  socket.write('MONITOR\r\n');
  await new Promise((r) => setTimeout(r, ms));
  socket.destroy();
  return seen;
}

describe('idle cost per event', () => {
  it(`${EVENTS} watched events that never change: the timers (rooms, flusher, sweeper, lost-event check) cost Redis a constant per node, and no log is read`, async () => {
    // start-up work is done first: the flusher's consumer groups and event rows (once per event; the row is written last),
    for (let i = 0; i < 240; i++) {
      const [row] = await queryGatewayDb(gw.prefix, 'SELECT count(*)::int AS n FROM events');
      if (Number(row!.n) >= EVENTS) break;
      await new Promise((r) => setTimeout(r, 250));
    }
    // and the rooms' first reads
    for (let i = 0; i < 30; i++) {
      const settling = await monitor(500);
      if (!settling.some((args) => ['xgroup', 'xread', 'hgetall'].includes(args[0]!.toLowerCase()))) break;
    }
    const seen = await monitor(WINDOW_MS);
    // the sweeper's claim alone runs every 200 ms: a monitor that saw nothing saw nothing at all
    expect(seen.length, 'commands seen').toBeGreaterThan(0);
    const keys = seen.reduce((n, args) => n + args.filter((a) => a.startsWith(gw.prefix)).length, 0);
    const byCommand: Record<string, number> = {};
    for (const args of seen) byCommand[args[0]!.toLowerCase()] = (byCommand[args[0]!.toLowerCase()] ?? 0) + 1;
    expect(seen.length, JSON.stringify(byCommand)).toBeLessThanOrEqual(COMMANDS);
    expect(keys, JSON.stringify(byCommand)).toBeLessThanOrEqual(KEYS);
    expect(byCommand.xread ?? 0, 'quiet logs are not read').toBe(0);
    // one command per event per second (what a room check of every room costs) would not fit
    expect(COMMANDS).toBeLessThan((EVENTS * WINDOW_MS) / 1000);
  }, 90_000);

  it('a change to one of the quiet events reaches its room at once', async () => {
    const room = gw.node.server.hub.room('idle7')!;
    const before = room.received;
    const started = performance.now();
    expect((await gw.store.hold({ eventId: 'idle7', holder: 'a', seats: [3] })).ok).toBe(true);
    while (room.received === before) {
      if (performance.now() - started > 2000) throw new Error('the change did not reach the room');
      await new Promise((r) => setTimeout(r, 2));
    }
    expect(room.received).toBe(before + 1);
    expect(performance.now() - started).toBeLessThan(500); // not the room check's second
  });
});
