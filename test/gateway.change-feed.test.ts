/**
 * The change feed against the real Redis, on one Redis and on a 3-master
 * Redis Cluster: every entry reaches the target once and in order; pacing
 * (FEED_PACE_MS) reads a busy log in batches without delaying the change that
 * ends a quiet spell; stop() does not wait out a pace. And the signals it
 * follows: a change among many watched events is read with one XREAD naming
 * that log alone; changes signalled while the subscriber was away are read
 * once it is back; a recreated or deleted event goes to onMoved.
 */
import { Cluster, Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { SeatStore, eventKeys, type ChangeEntry } from '../core/store/index.js';
import { parseClusterNodes } from '../gateway/config.js';
import { ChangeFeed } from '../gateway/change-feed.js';
import { testClusterNodes, testRedisUrl } from './support/env.js';
import { newRedis } from './support/redis.js';
import { newPrefix } from './support/run.js';
import { redisTargets, type RedisTarget } from './support/targets.js';
import { deleteKeysByPrefix } from '../core/store/index.js';

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));
const rules = { holdTtlMs: 60_000, maxHoldLifetimeMs: 120_000, maxSeatsPerToken: 4, maxSeatsPerHolder: 1000 };

async function waitFor(predicate: () => boolean, ms = 5000): Promise<void> {
  const deadline = Date.now() + ms;
  while (!predicate()) {
    if (Date.now() > deadline) throw new Error('timed out');
    await sleep(5);
  }
}

describe.each(redisTargets())('change feed on $name', (target: RedisTarget) => {
  const prefix = newPrefix();
  const clients: (Redis | Cluster)[] = [];
  let store: SeatStore;
  let n = 0;

  /** A connection of the target: the feed's reader (no auto-pipelining), or its subscriber. */
  function connect(role: 'reader' | 'subscriber'): Redis | Cluster {
    const client = target.cluster
      ? new Cluster(parseClusterNodes(testClusterNodes()!), { enableAutoPipelining: false, shardedSubscribers: role === 'subscriber' })
      : new Redis(testRedisUrl(), role === 'reader' ? { enableAutoPipelining: false, autoResendUnfulfilledCommands: false } : { enableReadyCheck: false });
    clients.push(client);
    return client;
  }

  beforeAll(() => {
    const client = target.client();
    clients.push(client);
    store = new SeatStore({ redis: client, prefix });
  });

  afterAll(async () => {
    if (!target.cluster) await deleteKeysByPrefix(store.redis, prefix);
    await Promise.all(clients.map((c) => c.quit().catch(() => c.disconnect())));
  });

  async function createEvent(): Promise<string> {
    const eventId = `feed${++n}`;
    expect((await store.createEvent({ eventId, seatCount: 200, rules, layout: { name: 'x' } })).ok).toBe(true);
    return eventId;
  }

  /** A feed over the given events, from seq 0, recording every delivery with its time. */
  async function watching(eventIds: string[], paceMs: number, subscriber = connect('subscriber')) {
    const deliveries: { at: number; eventId: string; seqs: number[] }[] = [];
    const moved: string[] = [];
    const after = new Map(eventIds.map((id) => [id, 0]));
    const epochs = new Map(await Promise.all(eventIds.map(async (id) => [id, (await store.meta(id))!.epoch] as const)));
    const feed = new ChangeFeed({
      reader: connect('reader'),
      subscriber,
      paceMs,
      onEntries: (eventId, entries: ChangeEntry[]) => {
        deliveries.push({ at: performance.now(), eventId, seqs: entries.map((e) => e.seq) });
        after.set(eventId, entries.at(-1)!.seq);
      },
      onMoved: (eventId) => moved.push(eventId),
      onError: (err) => {
        throw err;
      },
    });
    for (const eventId of eventIds) {
      feed.watch({ eventId, logKey: eventKeys(prefix, eventId).log, afterSeq: () => after.get(eventId)!, epoch: () => epochs.get(eventId)!, paused: () => false });
    }
    feed.start();
    // the subscriptions are in place and the first reads done (each log is read once its subscription is confirmed)
    await waitFor(() => feed.reads > 0);
    for (let reads = -1; reads !== feed.reads; ) {
      reads = feed.reads;
      await sleep(300);
    }
    return { feed, deliveries, moved, seqs: (eventId = eventIds[0]!) => deliveries.filter((d) => d.eventId === eventId).flatMap((d) => d.seqs) };
  }

  async function watchedEvent(paceMs: number) {
    const eventId = await createEvent();
    return { eventId, ...(await watching([eventId], paceMs)) };
  }

  describe('pacing', () => {
    it('reads a burst in a few batches, each entry once and in order', async () => {
      const { eventId, feed, deliveries, seqs } = await watchedEvent(100);
      const started = performance.now();
      for (let i = 0; i < 30; i++) {
        expect((await store.hold({ eventId, holder: `h${i}`, seats: [i] })).ok).toBe(true);
        await sleep(5);
      }
      const burstMs = performance.now() - started;
      await waitFor(() => seqs().length === 30);
      expect(seqs()).toEqual(Array.from({ length: 30 }, (_, i) => i + 1));
      // reads start at least 100 ms apart: the first change alone, then one batch per pace (30 reads unpaced)
      expect(deliveries[0]!.seqs).toEqual([1]);
      expect(deliveries.length).toBeLessThanOrEqual(2 + Math.ceil(burstMs / 100));
      expect(deliveries.length).toBeLessThan(30);
      await feed.stop();
    });

    it('does not delay the change that ends a quiet spell', async () => {
      const { eventId, feed, deliveries } = await watchedEvent(1000);
      expect((await store.hold({ eventId, holder: 'a', seats: [1] })).ok).toBe(true);
      await waitFor(() => deliveries.length === 1);
      await sleep(1100); // quiet for longer than the pace
      const sent = performance.now();
      expect((await store.hold({ eventId, holder: 'b', seats: [2] })).ok).toBe(true);
      await waitFor(() => deliveries.length === 2);
      expect(deliveries[1]!.seqs).toEqual([2]);
      expect(deliveries[1]!.at - sent).toBeLessThan(500); // not the 1,000 ms pace
      await feed.stop();
    });

    it('without pacing delivers a change per read as it comes', async () => {
      const { eventId, feed, deliveries, seqs } = await watchedEvent(0);
      for (let i = 0; i < 5; i++) {
        expect((await store.hold({ eventId, holder: `h${i}`, seats: [i] })).ok).toBe(true);
        await waitFor(() => seqs().length === i + 1);
      }
      expect(deliveries.map((d) => d.seqs)).toEqual([[1], [2], [3], [4], [5]]);
      await feed.stop();
    });

    it('stops at once while it waits out a pace', async () => {
      const { eventId, feed, deliveries } = await watchedEvent(10_000);
      expect((await store.hold({ eventId, holder: 'a', seats: [1] })).ok).toBe(true);
      await waitFor(() => deliveries.length === 1);
      const started = performance.now();
      await feed.stop();
      expect(performance.now() - started).toBeLessThan(1000);
    });
  });

  describe('signals', () => {
    it('a change among 100 watched events is read alone: one read, naming its log', async () => {
      const events = await Promise.all(Array.from({ length: 100 }, () => createEvent()));
      const { feed, deliveries, seqs } = await watching(events, 0);
      const readsBefore = feed.reads;
      expect((await store.hold({ eventId: events[42]!, holder: 'a', seats: [7] })).ok).toBe(true);
      await waitFor(() => seqs(events[42]).length === 1);
      await sleep(50);
      expect(feed.reads - readsBefore).toBe(1);
      expect(deliveries.map((d) => d.eventId)).toEqual([events[42]]);
      await feed.stop();
    });

    it.skipIf(target.cluster)('changes signalled while the subscriber was away are read once it is back', async () => {
      const subscriber = connect('subscriber') as Redis;
      const id = await subscriber.client('ID');
      const eventId = await createEvent();
      const { feed, seqs } = await watching([eventId], 0, subscriber);
      const admin = newRedis();
      await admin.client('KILL', 'ID', String(id));
      await admin.quit();
      // signals of these changes go nowhere: the subscriber is reconnecting
      for (let i = 0; i < 3; i++) expect((await store.hold({ eventId, holder: `h${i}`, seats: [i] })).ok).toBe(true);
      await waitFor(() => seqs().length === 3, 5000);
      expect(seqs()).toEqual([1, 2, 3]);
      await feed.stop();
    });

    it('a recreated event and a deleted one go to onMoved, not to a read', async () => {
      const [rebuilt, deleted] = [await createEvent(), await createEvent()];
      const { feed, moved, deliveries } = await watching([rebuilt, deleted], 0);
      await store.deleteEvent(rebuilt);
      expect((await store.createEvent({ eventId: rebuilt, seatCount: 200, rules, epoch: 1 })).ok).toBe(true);
      await store.deleteEvent(deleted);
      await waitFor(() => moved.includes(rebuilt) && moved.includes(deleted));
      expect(deliveries).toEqual([]);
      await feed.stop();
    });
  });
});
