/**
 * General-admission areas in the store: holds of quantities beside seats, all
 * or nothing; release, expiry and book keep every counter exact; each
 * operation writes one change-log entry carrying the touched areas' counters.
 */
import { afterAll, describe, expect, it } from 'vitest';
import { createTestStore } from './support/redis.js';
import { checkInvariants, digest, readRawState } from './support/store-state.js';
import { decodeChangeEntry } from '../core/store/index.js';

let now = 1_700_000_000_000;
const t = createTestStore({ clock: () => now });
afterAll(() => t.cleanup());
const { store } = t;
const rules = { holdTtlMs: 1000, maxHoldLifetimeMs: 5000, maxSeatsPerToken: 8, maxSeatsPerHolder: 10 };
let n = 0;

/** 10 seats and two areas: 0 with room for 5, 1 with room for 100. */
async function newEvent() {
  const eventId = `ga${++n}`;
  const created = await store.createEvent({ eventId, seatCount: 10, rules, areaCapacities: [5, 100] });
  expect(created.ok).toBe(true);
  return eventId;
}

async function invariants(eventId: string) {
  const state = await readRawState(store, eventId);
  checkInvariants(state);
  return state;
}

async function lastEntry(eventId: string) {
  const entries = (await store.redis.xrevrangeBuffer(store.keys(eventId).log, '+', '-', 'COUNT', 1)) as unknown as [Buffer, Buffer[]][];
  return decodeChangeEntry(entries[0]!);
}

describe('general-admission holds', () => {
  it('holds places beside seats in one entry, counting them towards the limits', async () => {
    const ev = await newEvent();
    const held = await store.hold({ eventId: ev, holder: 'alice', seats: [1, 2], ga: [[0, 3]] });
    expect(held.ok).toBe(true);
    const entry = await lastEntry(ev);
    expect(entry).toMatchObject({ op: 'hold', changes: [1, 1, 2, 1], ga: [0, 2, 3, 0] });
    expect(await store.areaCounters(ev)).toEqual([{ capacity: 5, held: 3, booked: 0, blocked: 0 }, { capacity: 100, held: 0, booked: 0, blocked: 0 }]);
    const state = await invariants(ev);
    expect(state.holders.get('alice')).toBe(5);

    // 5 held + 4 more > 8 per token; the refusal changes nothing
    if (!held.ok) return;
    const before = digest(await readRawState(store, ev));
    expect(await store.hold({ eventId: ev, holder: 'alice', token: held.token, seats: [], ga: [[1, 4]] })).toMatchObject({ ok: false, code: 'HOLD_LIMIT' });
    expect(digest(await readRawState(store, ev))).toBe(before);
  });

  it('refuses past capacity with the areas and the places left, seats included: all or nothing', async () => {
    const ev = await newEvent();
    expect((await store.hold({ eventId: ev, holder: 'a', seats: [], ga: [[0, 4]] })).ok).toBe(true);
    const before = digest(await readRawState(store, ev));
    expect(await store.hold({ eventId: ev, holder: 'b', seats: [5], ga: [[1, 2], [0, 2]] })).toEqual({ ok: false, code: 'UNAVAILABLE', reason: 'ga', areas: [0], left: [1] });
    expect(digest(await readRawState(store, ev))).toBe(before);
    expect((await store.hold({ eventId: ev, holder: 'b', seats: [5], ga: [[0, 1]] })).ok).toBe(true);
    expect(await store.areaCounters(ev)).toMatchObject([{ held: 5 }, { held: 0 }]);
    await invariants(ev);
  });

  it('refuses malformed quantities and unknown areas as BAD_REQUEST (ga)', async () => {
    const ev = await newEvent();
    const before = digest(await readRawState(store, ev));
    for (const ga of [[[2, 1]], [[0, 0]], [[0, 1001]], [[0, 1], [0, 1]], [[-1, 1]], [[0, 1.5]]] as [number, number][][]) {
      expect(await store.hold({ eventId: ev, holder: 'a', seats: [], ga })).toMatchObject({ ok: false, code: 'BAD_REQUEST', reason: 'ga' });
    }
    expect(await store.hold({ eventId: ev, holder: 'a', seats: [], ga: [] })).toMatchObject({ ok: false, code: 'BAD_REQUEST' });
    expect(digest(await readRawState(store, ev))).toBe(before);
  });

  it('releases places (NOT_HOLDER for more than the token holds), and everything without a list', async () => {
    const ev = await newEvent();
    const held = await store.hold({ eventId: ev, holder: 'a', seats: [3], ga: [[0, 2], [1, 4]] });
    if (!held.ok) throw new Error(held.code);
    const before = digest(await readRawState(store, ev));
    expect(await store.release({ eventId: ev, holder: 'a', token: held.token, ga: [[0, 3]] })).toEqual({ ok: false, code: 'NOT_HOLDER', reason: 'ga', areas: [0] });
    expect(digest(await readRawState(store, ev))).toBe(before);

    expect(await store.release({ eventId: ev, holder: 'a', token: held.token, ga: [[1, 3]] })).toMatchObject({ ok: true, released: 3 });
    expect(await lastEntry(ev)).toMatchObject({ op: 'release', changes: [], ga: [1, 99, 1, 0] });
    expect(await store.areaCounters(ev)).toMatchObject([{ held: 2 }, { held: 1 }]);
    await invariants(ev);

    expect(await store.release({ eventId: ev, holder: 'a', token: held.token })).toMatchObject({ ok: true, released: 4 });
    expect(await store.areaCounters(ev)).toMatchObject([{ held: 0 }, { held: 0 }]);
    const state = await invariants(ev);
    expect(state.holders.has('a')).toBe(false);
  });

  it('expiry gives the places back, and an overdue token\'s places count as free for a new hold', async () => {
    const ev = await newEvent();
    expect((await store.hold({ eventId: ev, holder: 'a', seats: [], ga: [[0, 5]] })).ok).toBe(true);
    now += 2000;
    // unswept: the hold finds the overdue token and expires it in the same entry
    expect((await store.hold({ eventId: ev, holder: 'b', seats: [], ga: [[0, 5]] })).ok).toBe(true);
    expect(await lastEntry(ev)).toMatchObject({ op: 'hold', ga: [0, 0, 5, 0] });
    now += 2000;
    const expired = await store.expire(ev);
    expect(expired.ok).toBe(true);
    expect(await lastEntry(ev)).toMatchObject({ op: 'expire', changes: [], ga: [0, 5, 0, 0] });
    expect(await store.areaCounters(ev)).toMatchObject([{ held: 0, booked: 0 }, { held: 0 }]);
    await invariants(ev);
  });

  it('book and checkout turn the places booked; extend to 0 gives them back', async () => {
    const ev = await newEvent();
    const a = await store.hold({ eventId: ev, holder: 'a', seats: [0], ga: [[0, 2]] });
    const b = await store.hold({ eventId: ev, holder: 'b', seats: [], ga: [[0, 1], [1, 7]] });
    const c = await store.hold({ eventId: ev, holder: 'c', seats: [], ga: [[0, 2]] });
    if (!a.ok || !b.ok || !c.ok) throw new Error('hold refused');
    expect((await store.book({ eventId: ev, holder: 'a', token: a.token, key: 'k-a' })).ok).toBe(true);
    expect(await lastEntry(ev)).toMatchObject({ op: 'book', changes: [0, 2], ga: [0, 0, 3, 2] });
    expect((await store.checkout({ eventId: ev, holder: 'b', token: b.token, key: 'k-b' })).ok).toBe(true);
    expect((await store.extend({ eventId: ev, holder: 'c', token: c.token, ms: 0 })).ok).toBe(true);
    expect(await store.areaCounters(ev)).toEqual([{ capacity: 5, held: 0, booked: 3, blocked: 0 }, { capacity: 100, held: 0, booked: 7, blocked: 0 }]);
    // the booked places stay taken: 2 left in area 0
    expect(await store.hold({ eventId: ev, holder: 'd', seats: [], ga: [[0, 3]] })).toMatchObject({ ok: false, code: 'UNAVAILABLE', areas: [0], left: [2] });
    await invariants(ev);
  });

  it('a booking that ends gives its places back, once; a partial cancel is of seats only', async () => {
    const ev = await newEvent();
    const held = await store.hold({ eventId: ev, holder: 'a', seats: [4, 5], ga: [[0, 3]] });
    if (!held.ok) throw new Error(held.code);
    const booked = await store.book({ eventId: ev, holder: 'a', token: held.token, key: 'k-end' });
    if (!booked.ok) throw new Error(booked.code);
    expect((await store.releaseBooking({ eventId: ev, bookingId: booked.bookingId, key: 'k-end', seats: [4], final: false, op: 'cancel' })).ok).toBe(true);
    expect(await store.areaCounters(ev)).toMatchObject([{ booked: 3 }, { booked: 0 }]);
    expect(await store.releaseBooking({ eventId: ev, bookingId: booked.bookingId, key: 'k-end', seats: [5], final: true, op: 'cancel' })).toMatchObject({ ok: true, freed: 1 });
    expect(await lastEntry(ev)).toMatchObject({ op: 'cancel', changes: [5, 0], ga: [0, 5, 0, 0] });
    // a retry frees nothing and gives nothing back twice
    expect(await store.releaseBooking({ eventId: ev, bookingId: booked.bookingId, key: 'k-end', seats: [5], final: true, op: 'cancel' })).toMatchObject({ ok: true, freed: 0 });
    expect(await store.areaCounters(ev)).toMatchObject([{ held: 0, booked: 0 }, { booked: 0 }]);
    await invariants(ev);
  });
});
