/**
 * Expiry against the real Redis clock: holds are freed and logged within one
 * second of their expiry, across thousands of events, with several sweepers
 * running at once, and after a sweeper dies mid-round.
 */
import { afterAll, describe, expect, it } from 'vitest';
import { ExpirySweeper, SCRIPTS, type SeatStore } from '../core/store/internal.js';
import { createTestStore } from './support/redis.js';
import { checkInvariants, readRawState } from './support/store-state.js';

const t = createTestStore();
afterAll(() => t.cleanup());

const rules = (holdTtlMs: number) => ({ holdTtlMs, maxHoldLifetimeMs: holdTtlMs * 4, maxSeatsPerToken: 4, maxSeatsPerHolder: 8 });

/** Waits until `check` is true, polling; fails after `timeoutMs`. */
async function waitFor(check: () => Promise<boolean>, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`condition not met within ${timeoutMs} ms`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

/** The expire entries of an event's change log. */
async function expireEntries(store: SeatStore, eventId: string) {
  const { entries } = (await store.changesSince(eventId, 0))!;
  return entries.filter((e) => e.op === 'expire');
}

describe('expiry sweeper', () => {
  it('frees an expired hold and logs it within 1 s of its expiry', async () => {
    const sweeper = new ExpirySweeper(t.store);
    sweeper.start();
    try {
      await t.store.createEvent({ eventId: 'exp1', seatCount: 50, rules: rules(600) });
      const hold = await t.store.hold({ eventId: 'exp1', holder: 'ann', seats: [10, 11, 12] });
      if (!hold.ok) throw new Error(hold.code);
      await waitFor(async () => (await expireEntries(t.store, 'exp1')).length > 0, 3000);
      const [entry] = await expireEntries(t.store, 'exp1');
      // `at` is the Redis time at which the expire script ran.
      expect(entry!.at).toBeGreaterThanOrEqual(hold.expiresAt);
      expect(entry!.at - hold.expiresAt).toBeLessThan(1000);
      expect(entry!.changes).toEqual([10, 0, 11, 0, 12, 0]);
      const state = await readRawState(t.store, 'exp1');
      checkInvariants(state);
      expect(state.tokens.size).toBe(0);
      expect(state.status.slice(10, 13)).toEqual([0, 0, 0]);
      // reported once to the outbox, for the event log in Postgres
      expect(state.expiredHolds).toEqual([{ token: hold.token, holder: 'ann', seats: [10, 11, 12], expiredAt: hold.expiresAt }]);
      // The event left the sweep index: nothing is left to expire.
      expect(await t.redis.zscore(t.store.global.sweepIndex, 'exp1')).toBeNull();
    } finally {
      await sweeper.stop();
    }
  });

  it('an extended hold is not freed at its first expiry', async () => {
    const sweeper = new ExpirySweeper(t.store, { intervalMs: 50 });
    sweeper.start();
    try {
      await t.store.createEvent({ eventId: 'exp2', seatCount: 10, rules: rules(500) });
      const hold = await t.store.hold({ eventId: 'exp2', holder: 'ann', seats: [1] });
      if (!hold.ok) throw new Error(hold.code);
      await new Promise((r) => setTimeout(r, 300));
      const extended = await t.store.extend({ eventId: 'exp2', holder: 'ann', token: hold.token });
      if (!extended.ok) throw new Error(extended.code);
      expect(extended.expiresAt).toBeGreaterThan(hold.expiresAt);
      const untilFirstExpiry = hold.expiresAt + 150 - (await t.store.now());
      await new Promise((r) => setTimeout(r, Math.max(0, untilFirstExpiry)));
      expect((await t.store.snapshot('exp2'))!.status[1]).toBe(1);
      await waitFor(async () => (await t.store.snapshot('exp2'))!.status[1] === 0, 2000);
      const [entry] = await expireEntries(t.store, 'exp2');
      expect(entry!.at - extended.expiresAt).toBeLessThan(1000);
      expect(entry!.at).toBeGreaterThanOrEqual(extended.expiresAt);
    } finally {
      await sweeper.stop();
    }
  });

  it('2,000 events with holds, two sweepers at once: every hold freed within 1 s, each exactly once', async () => {
    const EVENTS = 2000;
    const ids = Array.from({ length: EVENTS }, (_, i) => `many${i}`);
    await Promise.all(ids.map((eventId) => t.store.createEvent({ eventId, seatCount: 20, rules: rules(1500) })));
    const holds = await Promise.all(ids.map((eventId, i) => t.store.hold({ eventId, holder: `h${i}`, seats: [i % 20, (i + 1) % 20] })));
    const expiresAt = holds.map((h) => (h.ok ? h.expiresAt : Number.NaN));
    expect(expiresAt.every(Number.isFinite)).toBe(true);

    const sweepers = [t.connect(), t.connect()].map((s) => new ExpirySweeper(s, { eventsPerRound: 250 }));
    sweepers.forEach((s) => s.start());
    try {
      await waitFor(async () => (await t.redis.zcard(t.store.global.sweepIndex)) === 0, 10_000);
      const lags = await Promise.all(
        ids.map(async (eventId, i) => {
          const entries = await expireEntries(t.store, eventId);
          expect(entries, eventId).toHaveLength(1);
          expect(entries[0]!.changes).toHaveLength(4);
          return entries[0]!.at - expiresAt[i]!;
        }),
      );
      expect(Math.min(...lags)).toBeGreaterThanOrEqual(0);
      expect(Math.max(...lags)).toBeLessThan(1000);
      checkInvariants(await readRawState(t.store, ids[0]!));
    } finally {
      await Promise.all(sweepers.map((s) => s.stop()));
      await Promise.all(ids.map((eventId) => t.store.deleteEvent(eventId)));
    }
  }, 60_000);

  it('a claim left by a sweeper that died is taken over when its lease lapses', async () => {
    await t.store.createEvent({ eventId: 'exp3', seatCount: 10, rules: rules(200) });
    const hold = await t.store.hold({ eventId: 'exp3', holder: 'ann', seats: [2] });
    if (!hold.ok) throw new Error(hold.code);
    await new Promise((r) => setTimeout(r, 250));
    // A sweeper claims the event with a short lease and dies before expiring it.
    const now = await t.store.now();
    const claimed = await t.store.scripts.run(SCRIPTS.sweepClaim, t.store.global, { now, leaseEnd: now + 300, limit: 10 });
    expect(claimed).toContain('exp3');
    const survivor = new ExpirySweeper(t.store, { intervalMs: 50 });
    expect((await survivor.sweepOnce()).events).toBe(0); // still leased
    survivor.start();
    try {
      await waitFor(async () => (await t.store.snapshot('exp3'))!.status[2] === 0, 2000);
      const [entry] = await expireEntries(t.store, 'exp3');
      expect(entry!.at).toBeGreaterThanOrEqual(now + 300);
    } finally {
      await survivor.stop();
    }
  });

  it('a hold made while its event is claimed keeps the event indexed', async () => {
    await t.store.createEvent({ eventId: 'exp4', seatCount: 10, rules: rules(300) });
    const first = await t.store.hold({ eventId: 'exp4', holder: 'ann', seats: [1] });
    if (!first.ok) throw new Error(first.code);
    await new Promise((r) => setTimeout(r, 350));
    const now = await t.store.now();
    const leaseEnd = now + 5000;
    await t.store.scripts.run(SCRIPTS.sweepClaim, t.store.global, { now, leaseEnd, limit: 10 });
    // The claiming sweeper expires the first hold ...
    const expired = await t.store.expire('exp4');
    expect(expired.ok && expired.tokensExpired).toBe(1);
    // ... a new hold lands before it settles ...
    const second = await t.store.hold({ eventId: 'exp4', holder: 'bob', seats: [2] });
    if (!second.ok) throw new Error(second.code);
    // ... and settling with "nothing left" (what it saw) must not drop the event.
    await t.store.scripts.run(SCRIPTS.sweepSettle, t.store.global, { eventId: 'exp4', leaseEnd, nextExpiry: -1 });
    expect(Number(await t.redis.zscore(t.store.global.sweepIndex, 'exp4'))).toBe(second.expiresAt);
  });

  it('reconcile re-indexes an event whose index entry was lost', async () => {
    await t.store.createEvent({ eventId: 'exp5', seatCount: 10, rules: rules(60_000) });
    const hold = await t.store.hold({ eventId: 'exp5', holder: 'ann', seats: [3] });
    if (!hold.ok) throw new Error(hold.code);
    await t.redis.zrem(t.store.global.sweepIndex, 'exp5');
    const touched = await new ExpirySweeper(t.store).reconcile();
    expect(touched).toBeGreaterThanOrEqual(1);
    expect(Number(await t.redis.zscore(t.store.global.sweepIndex, 'exp5'))).toBe(hold.expiresAt);
  });
});
