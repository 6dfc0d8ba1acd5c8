/**
 * Micro-benchmark (not a test) of sales channels at the seat store (Redis
 * only): putting a channel of `--seats` seats (channelPut-3.lua) and
 * releasing it (channelRelease-3.lua), each one script, against a bulk block
 * and unblock of the same seats (blockBulk-3.lua) for scale, on an event of
 * twice as many seats; `--rounds` rounds, each on a fresh event.
 *
 *   npx tsx bench/channels.ts [--seats 10000 --rounds 3]
 *
 * Uses REDIS_URL (default redis://127.0.0.1:6379); its keys live under a
 * prefix of their own, removed at the end.
 */
import { parseArgs } from 'node:util';
import { Redis } from 'ioredis';
import { Channels, SeatStore, deleteKeysByPrefix } from '../core/store/index.js';

const { values } = parseArgs({ options: { seats: { type: 'string', default: '10000' }, rounds: { type: 'string', default: '3' } } });
const n = Number(values.seats);
const rounds = Number(values.rounds);
const redis = new Redis(process.env.REDIS_URL ?? 'redis://127.0.0.1:6379');
const prefix = `bench-channels:${process.pid}:`;
const store = new SeatStore({ redis, prefix });
const channels = new Channels(store);
const rules = { holdTtlMs: 60_000, maxHoldLifetimeMs: 600_000, maxSeatsPerToken: 10, maxSeatsPerHolder: 20 };
await store.scripts.preload();
const seats = Array.from({ length: n }, (_, i) => i);
const ms = async (f: () => Promise<unknown>) => {
  const t = performance.now();
  await f();
  return (performance.now() - t).toFixed(1);
};
try {
  for (let round = 0; round < rounds; round++) {
    const ev = `bench${round}`;
    await store.createEvent({ eventId: ev, seatCount: 2 * n, rules });
    const block = await ms(() => store.setStatesBulk('block', ev, seats));
    const unblock = await ms(() => store.setStatesBulk('unblock', ev, seats));
    const put = await ms(() => channels.put(ev, 'fc', seats, null));
    const release = await ms(() => channels.release(ev, 'fc'));
    console.log(`${n.toLocaleString('en-US')} seats: blockBulk ${block} ms, unblockBulk ${unblock} ms, channelPut ${put} ms, channelRelease ${release} ms`);
  }
} finally {
  await deleteKeysByPrefix(redis, prefix);
  await redis.quit();
}
