/**
 * The background-work lease (core/store/lease.ts) on the real Redis: of
 * several processes one holds it; one that stops gives it back and another
 * takes it at its next try; one that dies (stops renewing) loses it after
 * the time to live; only the holder can renew or drop it.
 */
import { afterAll, describe, expect, it } from 'vitest';
import { Lease, type LeaseOptions } from '../core/store/index.js';
import { SCRIPTS } from '../core/store/internal.js';
import { createTestStore } from './support/redis.js';

const t = createTestStore();
afterAll(() => t.cleanup());

const until = async (condition: () => boolean, ms = 5000) => {
  const deadline = Date.now() + ms;
  while (!condition()) {
    if (Date.now() > deadline) throw new Error('condition not reached');
    await new Promise((r) => setTimeout(r, 20));
  }
};

function candidate(holder: string, ttlMs = 300) {
  const events: string[] = [];
  const options: LeaseOptions = { holder, ttlMs, onGained: () => void events.push('gained'), onLost: () => void events.push('lost') };
  return { lease: new Lease(t.store, options), events };
}

describe('background lease', () => {
  it('one of three holds it; a holder that stops hands it over; only the holder renews or drops it', async () => {
    const all = ['a', 'b', 'c'].map((h) => candidate(h));
    for (const c of all) c.lease.start();
    await until(() => all.some((c) => c.lease.isHeld));
    await new Promise((r) => setTimeout(r, 400)); // several renewals: still exactly one
    expect(all.filter((c) => c.lease.isHeld)).toHaveLength(1);
    const first = all.find((c) => c.lease.isHeld)!;
    expect(await t.redis.get(t.store.global.lease)).not.toBeNull();
    // another's take and drop change nothing
    const other = all.find((c) => c !== first)!;
    expect(await t.store.scripts.run(SCRIPTS.dropLease, t.store.global, { holder: 'x' })).toBe(0);
    expect(await t.store.scripts.run(SCRIPTS.takeLease, t.store.global, { holder: 'x', ttlMs: 1000 })).toBe(0);
    await first.lease.stop();
    expect(first.events).toEqual(['gained', 'lost']);
    await until(() => all.some((c) => c !== first && c.lease.isHeld), 1000);
    expect(all.filter((c) => c.lease.isHeld)).toHaveLength(1);
    expect(other.events.length + all.find((c) => c !== first && c !== other)!.events.length).toBe(1);
    for (const c of all) await c.lease.stop();
    expect(await t.redis.get(t.store.global.lease)).toBeNull();
  });

  it('a holder that stops renewing (a process that died) loses it after the time to live', async () => {
    expect(await t.store.scripts.run(SCRIPTS.takeLease, t.store.global, { holder: 'dead', ttlMs: 300 })).toBe(1);
    const next = candidate('next');
    next.lease.start();
    await new Promise((r) => setTimeout(r, 150));
    expect(next.lease.isHeld).toBe(false);
    await until(() => next.lease.isHeld, 2000);
    await next.lease.stop();
  });
});
