/**
 * The change feed against the real Redis: every entry reaches the target once
 * and in order; pacing (FEED_PACE_MS) reads a busy log in batches without
 * delaying the change that ends a quiet spell; stop() does not wait out a pace.
 */
import { Redis } from 'ioredis';
import { afterAll, describe, expect, it } from 'vitest';
import type { ChangeEntry } from '../core/store/index.js';
import { eventKeys } from '../core/store/index.js';
import { ChangeFeed } from '../gateway/change-feed.js';
import { testRedisUrl } from './support/env.js';
import { createTestStore } from './support/redis.js';

const t = createTestStore();
const readers: Redis[] = [];
afterAll(async () => {
  await Promise.all(readers.map((r) => r.quit()));
  await t.cleanup();
});

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));
const rules = { holdTtlMs: 60_000, maxHoldLifetimeMs: 120_000, maxSeatsPerToken: 4, maxSeatsPerHolder: 1000 };
let n = 0;

/** An event and a feed watching its log from seq 0, recording every delivery with its time. */
async function watchedEvent(paceMs: number) {
  const eventId = `feed${++n}`;
  expect((await t.store.createEvent({ eventId, seatCount: 200, rules, layout: { name: 'x' } })).ok).toBe(true);
  const reader = new Redis(testRedisUrl(), { enableAutoPipelining: false, autoResendUnfulfilledCommands: false });
  const subscriber = new Redis(testRedisUrl());
  readers.push(reader, subscriber);
  const deliveries: { at: number; seqs: number[] }[] = [];
  let after = 0;
  const feed = new ChangeFeed({
    reader,
    subscriber,
    paceMs,
    onEntries: (_ev, entries: ChangeEntry[]) => {
      deliveries.push({ at: performance.now(), seqs: entries.map((e) => e.seq) });
      after = entries.at(-1)!.seq;
    },
    onError: (err) => {
      throw err;
    },
  });
  feed.watch({ eventId, logKey: eventKeys(t.prefix, eventId).log, afterSeq: () => after, paused: () => false });
  feed.start();
  await sleep(50); // the subscription is in place
  return { eventId, feed, deliveries, seqs: () => deliveries.flatMap((d) => d.seqs) };
}

async function waitFor(predicate: () => boolean, ms = 5000): Promise<void> {
  const deadline = Date.now() + ms;
  while (!predicate()) {
    if (Date.now() > deadline) throw new Error('timed out');
    await sleep(5);
  }
}

describe('change feed pacing', () => {
  it('reads a burst in a few batches, each entry once and in order', async () => {
    const { eventId, feed, deliveries, seqs } = await watchedEvent(100);
    const started = performance.now();
    for (let i = 0; i < 30; i++) {
      expect((await t.store.hold({ eventId, holder: `h${i}`, seats: [i] })).ok).toBe(true);
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
    expect((await t.store.hold({ eventId, holder: 'a', seats: [1] })).ok).toBe(true);
    await waitFor(() => deliveries.length === 1);
    await sleep(1100); // quiet for longer than the pace
    const sent = performance.now();
    expect((await t.store.hold({ eventId, holder: 'b', seats: [2] })).ok).toBe(true);
    await waitFor(() => deliveries.length === 2);
    expect(deliveries[1]!.seqs).toEqual([2]);
    expect(deliveries[1]!.at - sent).toBeLessThan(500); // not the 1,000 ms pace
    await feed.stop();
  });

  it('without pacing delivers a change per read as it comes', async () => {
    const { eventId, feed, deliveries, seqs } = await watchedEvent(0);
    for (let i = 0; i < 5; i++) {
      expect((await t.store.hold({ eventId, holder: `h${i}`, seats: [i] })).ok).toBe(true);
      await waitFor(() => seqs().length === i + 1);
    }
    expect(deliveries.map((d) => d.seqs)).toEqual([[1], [2], [3], [4], [5]]);
    await feed.stop();
  });

  it('stops at once while it waits out a pace', async () => {
    const { eventId, feed, deliveries } = await watchedEvent(10_000);
    expect((await t.store.hold({ eventId, holder: 'a', seats: [1] })).ok).toBe(true);
    await waitFor(() => deliveries.length === 1);
    const started = performance.now();
    await feed.stop();
    expect(performance.now() - started).toBeLessThan(1000);
  });
});
