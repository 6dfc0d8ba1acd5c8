/**
 * Idle cost per event, measured at the real Redis with MONITOR: a gateway
 * watching many events that never change sends Redis no more than a
 * documented constant per node on its timers (docs/gateway.md, What a node
 * costs at rest), however many events it watches; and it is not quiet
 * because it is deaf: a change to one of them still reaches its room at once.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ROOM_CHECKS_PER_TICK } from '../gateway/hub.js';
import { startTestGateway, wipePrefix, type TestGateway } from './support/gateway.js';
import { newRedis } from './support/redis.js';

const EVENTS = 4 * ROOM_CHECKS_PER_TICK;
const WINDOW_MS = 3000;
const rules = { holdTtlMs: 60_000, maxHoldLifetimeMs: 120_000, maxSeatsPerToken: 4, maxSeatsPerHolder: 100 };

let gw: TestGateway;
const admin = newRedis();

beforeAll(async () => {
  gw = await startTestGateway({ FLUSHER: '0', REBUILD_CHECK_MS: '0', ROOM_CHECK_MS: '1000', ROOM_LINGER_MS: '600000' });
  for (let i = 0; i < EVENTS; i++) expect((await gw.store.createEvent({ eventId: `idle${i}`, seatCount: 100, rules })).ok).toBe(true);
  await Promise.all(Array.from({ length: EVENTS }, (_, i) => gw.node.server.hub.join(`idle${i}`)));
}, 60_000);

afterAll(async () => {
  await gw.stop();
  await wipePrefix(gw.prefix);
  await admin.quit();
});

/** Every command naming a key (or channel) of the gateway's prefix, for `ms`. */
async function monitor(ms: number): Promise<string[][]> {
  const seen: string[][] = [];
  const m = await admin.monitor();
  m.on('monitor', (_time: string, args: string[]) => {
    if (args.some((a) => a.startsWith(gw.prefix))) seen.push(args);
  });
  await new Promise((r) => setTimeout(r, ms));
  m.disconnect();
  return seen;
}

describe('idle cost per event', () => {
  it(`${EVENTS} watched events that never change: the timers cost Redis a constant per node, and no log is read`, async () => {
    await new Promise((r) => setTimeout(r, 500)); // the rooms' first reads are done
    const seen = await monitor(WINDOW_MS);
    const perSecond = (seen.length * 1000) / WINDOW_MS;
    const keysPerSecond = (seen.reduce((n, args) => n + args.filter((a) => a.startsWith(gw.prefix)).length, 0) * 1000) / WINDOW_MS;
    const byCommand: Record<string, number> = {};
    for (const args of seen) byCommand[args[0]!.toLowerCase()] = (byCommand[args[0]!.toLowerCase()] ?? 0) + 1;
    // the room check's window (ROOM_CHECKS_PER_TICK per second) and the expiry sweeper's claim (5 a second), nothing per event
    const bound = ROOM_CHECKS_PER_TICK + 10;
    expect(perSecond, JSON.stringify(byCommand)).toBeLessThanOrEqual(bound);
    expect(keysPerSecond, JSON.stringify(byCommand)).toBeLessThanOrEqual(bound);
    expect(byCommand.xread ?? 0, 'quiet logs are not read').toBe(0);
    expect(perSecond).toBeLessThan(EVENTS / 2); // what one HMGET per room per second would cost, halved
  }, 20_000);

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
