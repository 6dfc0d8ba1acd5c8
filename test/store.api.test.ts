/**
 * The store's contract, example by example: each refusal code, each rule of
 * the hold lifetime, the change log's coverage and the snapshot.
 */
import { afterAll, describe, expect, it } from 'vitest';
import { createTestStore, newRedis } from './support/redis.js';
import { checkInvariants, digest, readRawState } from './support/store-state.js';
import { applyChanges, SeatStore, STORE_LIMITS } from '../core/store/index.js';

let now = 1_700_000_000_000;
const t = createTestStore({ clock: () => now, logMaxLen: 20 });
afterAll(() => t.cleanup());
const { store } = t;
const rules = { holdTtlMs: 1000, maxHoldLifetimeMs: 2500, maxSeatsPerToken: 3, maxSeatsPerHolder: 4 };
let n = 0;
async function newEvent(seatCount = 10) {
  const eventId = `api${++n}`;
  const created = await store.createEvent({ eventId, seatCount, rules, layout: { name: 'x' } });
  expect(created.ok).toBe(true);
  return eventId;
}
async function holdOk(eventId: string, holder: string, seats: number[], token?: string) {
  const r = await store.hold({ eventId, holder, seats, ...(token ? { token } : {}) });
  if (!r.ok) throw new Error(`hold refused: ${r.code}`);
  return r;
}

/** Runs a call that must be refused with `code` and checks it changed nothing. */
async function expectRefused(eventId: string, call: () => Promise<{ ok: boolean }>, expected: object) {
  const before = digest(await readRawState(store, eventId));
  expect(await call()).toEqual({ ok: false, ...expected });
  expect(digest(await readRawState(store, eventId))).toBe(before);
}

describe('refusals', () => {
  it('NO_EVENT for every operation on an unknown event', async () => {
    const eventId = 'nosuchevent';
    expect(await store.hold({ eventId, holder: 'a', seats: [1] })).toEqual({ ok: false, code: 'NO_EVENT' });
    expect(await store.release({ eventId, holder: 'a', token: 'abcdefghijkl' })).toEqual({ ok: false, code: 'NO_EVENT' });
    expect(await store.extend({ eventId, holder: 'a', token: 'abcdefghijkl' })).toEqual({ ok: false, code: 'NO_EVENT' });
    expect(await store.book({ eventId, holder: 'a', token: 'abcdefghijkl', key: 'k' })).toEqual({ ok: false, code: 'NO_EVENT' });
    expect(await store.block(eventId, [1])).toEqual({ ok: false, code: 'NO_EVENT' });
    expect(await store.unblock(eventId, [1])).toEqual({ ok: false, code: 'NO_EVENT' });
    expect(await store.expire(eventId)).toEqual({ ok: false, code: 'NO_EVENT' });
    expect(await store.snapshot(eventId)).toBeNull();
    expect(await store.changesSince(eventId, 0)).toBeNull();
    expect(await store.meta(eventId)).toBeNull();
  });

  it('BAD_REQUEST for malformed input, without touching Redis state', async () => {
    const eventId = await newEvent();
    const bad = { code: 'BAD_REQUEST' };
    await expectRefused(eventId, () => store.hold({ eventId, holder: '', seats: [1] }), bad);
    await expectRefused(eventId, () => store.hold({ eventId, holder: 'x'.repeat(STORE_LIMITS.maxHolderLength + 1), seats: [1] }), bad);
    await expectRefused(eventId, () => store.hold({ eventId, holder: 'a', seats: [] }), bad);
    await expectRefused(eventId, () => store.hold({ eventId, holder: 'a', seats: [1.5] }), bad);
    await expectRefused(eventId, () => store.hold({ eventId, holder: 'a', seats: ['1'] as unknown as number[] }), bad);
    await expectRefused(eventId, () => store.hold({ eventId, holder: 'a', seats: new Array(STORE_LIMITS.maxSeatsPerCall + 1).fill(0) }), bad);
    await expectRefused(eventId, () => store.hold({ eventId, holder: 'a', seats: [1], token: 'short' }), bad);
    await expectRefused(eventId, () => store.hold({ eventId, holder: 'a', seats: [1], token: 'has spaces in it!' }), bad);
    await expectRefused(eventId, () => store.book({ eventId, holder: 'a', token: 'abcdefghijkl', key: '' }), bad);
    await expectRefused(eventId, () => store.block(eventId, []), bad);
    expect(await store.createEvent({ eventId: 'zero', seatCount: 0, rules })).toEqual({ ok: false, code: 'BAD_REQUEST' });
    expect(await store.createEvent({ eventId: 'neg', seatCount: 5, rules: { ...rules, holdTtlMs: -1 } })).toEqual({ ok: false, code: 'BAD_REQUEST' });
    // Booking a token that holds nothing any more.
    const h = await holdOk(eventId, 'a', [1]);
    await store.release({ eventId, holder: 'a', token: h.token });
    await expectRefused(eventId, () => store.book({ eventId, holder: 'a', token: h.token, key: 'k' }), bad);
  });

  it('BAD_SEAT lists out-of-range, negative and repeated seats', async () => {
    const eventId = await newEvent(10);
    await expectRefused(eventId, () => store.hold({ eventId, holder: 'a', seats: [1, 10, 2, 1] }), { code: 'BAD_SEAT', seats: [10, 1] });
    await expectRefused(eventId, () => store.hold({ eventId, holder: 'a', seats: [-1, 3] }), { code: 'BAD_SEAT', seats: [-1] });
    // every offending index, out of range and negative alike (the range check is the script's, negatives included)
    await expectRefused(eventId, () => store.hold({ eventId, holder: 'a', seats: [5000, -1] }), { code: 'BAD_SEAT', seats: [5000, -1] });
    await expectRefused(eventId, () => store.release({ eventId, holder: 'a', token: 'abcdefghijkl', seats: [-3, 12, 3, 3] }), { code: 'BAD_SEAT', seats: [-3, 12, 3] });
    await expectRefused(eventId, () => store.block(eventId, [-2, 99]), { code: 'BAD_SEAT', seats: [-2, 99] });
    await expectRefused(eventId, () => store.block(eventId, [99]), { code: 'BAD_SEAT', seats: [99] });
  });

  it('UNAVAILABLE names the held, booked and blocked seats; nothing is held', async () => {
    const eventId = await newEvent(10);
    const a = await holdOk(eventId, 'a', [1, 2]);
    await store.book({ eventId, holder: 'a', token: a.token, key: 'k1' });
    await holdOk(eventId, 'b', [3]);
    await store.block(eventId, [4]);
    await expectRefused(eventId, () => store.hold({ eventId, holder: 'c', seats: [0, 1, 3, 4, 5] }), { code: 'UNAVAILABLE', seats: [1, 3, 4] });
    await expectRefused(eventId, () => store.block(eventId, [3, 6]), { code: 'UNAVAILABLE', seats: [3] });
  });

  it('NOT_HOLDER for another holder\'s token and for seats the token does not hold', async () => {
    const eventId = await newEvent();
    const a = await holdOk(eventId, 'a', [1, 2]);
    await holdOk(eventId, 'b', [5]);
    await expectRefused(eventId, () => store.hold({ eventId, holder: 'b', seats: [3], token: a.token }), { code: 'NOT_HOLDER' });
    await expectRefused(eventId, () => store.extend({ eventId, holder: 'b', token: a.token }), { code: 'NOT_HOLDER' });
    await expectRefused(eventId, () => store.book({ eventId, holder: 'b', token: a.token, key: 'kb' }), { code: 'NOT_HOLDER' });
    await expectRefused(eventId, () => store.release({ eventId, holder: 'b', token: a.token }), { code: 'NOT_HOLDER' });
    await expectRefused(eventId, () => store.release({ eventId, holder: 'a', token: a.token, seats: [1, 5, 7] }), { code: 'NOT_HOLDER', seats: [5, 7] });
  });

  it('HOLD_LIMIT per token and per holder', async () => {
    const eventId = await newEvent();
    await expectRefused(eventId, () => store.hold({ eventId, holder: 'a', seats: [0, 1, 2, 3] }), { code: 'HOLD_LIMIT' });
    const a = await holdOk(eventId, 'a', [0, 1]);
    await expectRefused(eventId, () => store.hold({ eventId, holder: 'a', seats: [2, 3], token: a.token }), { code: 'HOLD_LIMIT' });
    await holdOk(eventId, 'a', [2, 3]); // a second token: 4 seats for the holder
    await expectRefused(eventId, () => store.hold({ eventId, holder: 'a', seats: [4] }), { code: 'HOLD_LIMIT' });
    // Re-holding seats the token already has is accepted and adds nothing.
    const again = await holdOk(eventId, 'a', [0, 1], a.token);
    expect(again.seq).toBe(a.seq + 1);
  });

  it('EXPIRED for unknown and expired tokens', async () => {
    const eventId = await newEvent();
    await expectRefused(eventId, () => store.extend({ eventId, holder: 'a', token: 'neverIssued00' }), { code: 'EXPIRED' });
    const a = await holdOk(eventId, 'a', [1]);
    now += rules.holdTtlMs;
    await expectRefused(eventId, () => store.book({ eventId, holder: 'a', token: a.token, key: 'k' }), { code: 'EXPIRED' });
    await expectRefused(eventId, () => store.hold({ eventId, holder: 'a', seats: [2], token: a.token }), { code: 'EXPIRED' });
  });

  it('CONFLICT for an existing event, a reused idempotency key and unblocking seats that are not blocked', async () => {
    const eventId = await newEvent();
    expect(await store.createEvent({ eventId, seatCount: 5, rules })).toEqual({ ok: false, code: 'CONFLICT' });
    const a = await holdOk(eventId, 'a', [1]);
    const booked = await store.book({ eventId, holder: 'a', token: a.token, key: 'order-7' });
    expect(booked.ok).toBe(true);
    const b = await holdOk(eventId, 'a', [2]);
    await expectRefused(eventId, () => store.book({ eventId, holder: 'a', token: b.token, key: 'order-7' }), { code: 'CONFLICT' });
    await expectRefused(eventId, () => store.unblock(eventId, [3]), { code: 'CONFLICT', seats: [3] });
  });
});

describe('hold lifetime', () => {
  it('extend slides the expiry but never past the maximum lifetime; adding seats slides it too', async () => {
    const eventId = await newEvent();
    const created = now;
    const a = await holdOk(eventId, 'a', [1]);
    expect(a.expiresAt).toBe(created + 1000);
    now += 800;
    const e1 = await store.extend({ eventId, holder: 'a', token: a.token });
    expect(e1).toEqual({ ok: true, expiresAt: created + 1800, seq: a.seq });
    now += 800;
    const more = await holdOk(eventId, 'a', [2], a.token);
    expect(more.expiresAt).toBe(created + 2500); // capped: 1600 + 1000 > 2500
    now += 800;
    const e2 = await store.extend({ eventId, holder: 'a', token: a.token });
    expect(e2).toEqual({ ok: true, expiresAt: created + 2500, seq: more.seq });
    now += 100;
    expect(await store.extend({ eventId, holder: 'a', token: a.token })).toEqual({ ok: false, code: 'EXPIRED' });
  });

  it('a hold on a seat of an overdue, unswept token frees that token in the same log entry', async () => {
    const eventId = await newEvent();
    await holdOk(eventId, 'a', [1, 2]);
    now += 1000;
    const b = await holdOk(eventId, 'b', [2, 3]);
    const { entries } = (await store.changesSince(eventId, b.seq - 1))!;
    expect(entries).toHaveLength(1);
    const replay = new Uint8Array(10).fill(0);
    replay[1] = 1; replay[2] = 1;
    applyChanges(replay, entries[0]!.changes);
    expect([...replay.slice(0, 5)]).toEqual([0, 0, 1, 1, 0]);
    // the overdue token's expiry is reported to the outbox for the event log, seats and all
    const state = await readRawState(store, eventId);
    expect(state.expiredHolds).toMatchObject([{ holder: 'a', seats: [1, 2] }]);
    checkInvariants(state);
  });
});

describe('change log and snapshot', () => {
  it('replays missed changes while the log covers them, and says when it does not', async () => {
    const OPS = 400;
    const eventId = await newEvent(OPS);
    const results = await Promise.all(Array.from({ length: OPS }, (_, i) => store.block(eventId, [i])));
    expect(results.map((r) => (r.ok ? r.seq : 0)).sort((a, b) => a - b)).toEqual(Array.from({ length: OPS }, (_, i) => i + 1));
    const recent = (await store.changesSince(eventId, OPS - 5))!;
    expect(recent.covered).toBe(true);
    expect(recent.entries.map((e) => e.seq)).toEqual([396, 397, 398, 399, 400]);
    expect(recent.entries[0]!.op).toBe('block');
    // logMaxLen 20 (trimmed approximately, a whole stream node at a time): the oldest entries are gone.
    expect(await t.redis.xlen(store.keys(eventId).log)).toBeLessThan(OPS);
    const old = (await store.changesSince(eventId, 1))!;
    expect(old.covered).toBe(false);
    expect(old.entries).toEqual([]);
    expect((await store.changesSince(eventId, OPS))!).toMatchObject({ covered: true, entries: [], seq: OPS });
    expect((await store.changesSince(eventId, OPS + 1))!.covered).toBe(false);
  });

  it('a snapshot plus the changes after it equals a later snapshot', async () => {
    const eventId = await newEvent(20);
    await holdOk(eventId, 'a', [1, 2]);
    const snap = (await store.snapshot(eventId))!;
    const b = await holdOk(eventId, 'b', [5]);
    await store.book({ eventId, holder: 'b', token: b.token, key: 'kb' });
    await store.block(eventId, [9]);
    const { entries } = (await store.changesSince(eventId, snap.seq))!;
    const local = new Uint8Array(snap.status);
    for (const e of entries) applyChanges(local, e.changes);
    const later = (await store.snapshot(eventId))!;
    expect(later.seq).toBe(snap.seq + 3);
    expect(later.epoch).toBe(snap.epoch);
    expect(Buffer.from(local)).toEqual(later.status);
  });

  it('keeps the event meta and layout', async () => {
    const eventId = await newEvent(7);
    expect(await store.meta(eventId)).toMatchObject({ seatCount: 7, seq: 0, rules, logMaxLen: 20 });
    expect(await store.layout(eventId)).toEqual({ name: 'x' });
  });
});

describe('extra connections', () => {
  it('spreads holders over every connection, keeps each holder on one, and keeps the invariants', async () => {
    const extra = [newRedis(), newRedis(), newRedis()];
    const all = [t.redis, ...extra];
    await Promise.all(all.map((r, i) => r.client('SETNAME', `pool${i}-${process.pid}`)));
    const pooled = new SeatStore({ redis: t.redis, prefix: t.prefix, clock: () => now, connections: extra });
    const eventId = await newEvent(200);
    try {
      const holders = Array.from({ length: 40 }, (_, i) => `holder${i}`);
      const holds = await Promise.all(holders.map((holder, i) => pooled.hold({ eventId, holder, seats: [i * 2, i * 2 + 1] })));
      expect(holds.every((h) => h.ok)).toBe(true);
      // A holder's follow-up calls work whichever connection they land on.
      const booked = await Promise.all(holds.map((h, i) => (h.ok ? pooled.book({ eventId, holder: holders[i]!, token: h.token, key: `k${i}` }) : h)));
      expect(booked.every((b) => b.ok)).toBe(true);
      // Every connection ran scripts last (asked from a connection of its own, so as not to disturb them).
      const observer = newRedis();
      const list = String(await observer.client('LIST'));
      await observer.quit();
      for (let i = 0; i < all.length; i++) {
        const line = list.split('\n').find((l) => l.includes(`name=pool${i}-${process.pid}`));
        expect(line, `connection ${i}`).toMatch(/ cmd=(evalsha|eval) /);
      }
      const state = await readRawState(store, eventId);
      checkInvariants(state);
      expect(state.status.slice(0, 80).every((s) => s === 2)).toBe(true);
    } finally {
      await Promise.all(extra.map((r) => r.quit()));
    }
  });
});
