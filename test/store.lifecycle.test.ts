/**
 * The seat store's side of the booking lifecycle, on the real Redis:
 * checkout-9.lua (a booking awaiting payment, its payBy from the event's
 * payment window) and releaseBooking-4.lua (seats Postgres released, whole or
 * some): one change-log entry, idempotent, never a seat the booking no longer
 * has, every refusal changing nothing. The store's invariants hold after each.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { SeatState } from '../core/store/index.js';
import { checkInvariants, digest, readRawState } from './support/store-state.js';
import { createTestStore, type TestStore } from './support/redis.js';

let t: TestStore;
let now = 1_000_000;
let n = 0;
const RULES = { holdTtlMs: 60_000, maxHoldLifetimeMs: 60_000, maxSeatsPerToken: 8, maxSeatsPerHolder: 20 };

beforeAll(() => {
  t = createTestStore({ clock: () => now });
});

afterAll(async () => {
  await t.cleanup();
});

async function newEvent(rules: Record<string, number> = RULES): Promise<string> {
  const eventId = `lc${n++}`;
  expect((await t.store.createEvent({ eventId, seatCount: 20, rules: rules as typeof RULES })).ok).toBe(true);
  return eventId;
}

async function checkout(eventId: string, holder: string, seats: number[], key: string) {
  const held = await t.store.hold({ eventId, holder, seats });
  if (!held.ok) throw new Error(held.code);
  const r = await t.store.checkout({ eventId, holder, token: held.token, key });
  if (!r.ok) throw new Error(r.code);
  return { ...r, token: held.token };
}

describe('checkout-9.lua', () => {
  it('books the seats awaiting payment, payBy from the payment window, and replays on the key', async () => {
    const eventId = await newEvent({ ...RULES, paymentWindowMs: 120_000 });
    expect((await t.store.meta(eventId))!.rules.paymentWindowMs).toBe(120_000);
    const r = await checkout(eventId, 'ann', [2, 3], 'order-1');
    expect(r).toMatchObject({ seats: [2, 3], replayed: false, payBy: now + 120_000 });
    const state = await readRawState(t.store, eventId);
    checkInvariants(state);
    expect(state.status.slice(2, 4)).toEqual([SeatState.BOOKED, SeatState.BOOKED]);
    expect(state.tokens.size).toBe(0); // no hold TTL applies to them now
    expect(state.log.at(-1)).toMatchObject({ changes: [2, 2, 3, 2] });
    const [entry] = await t.redis.xrange(t.store.keys(eventId).outbox, '-', '+');
    expect(entry![1]).toEqual(expect.arrayContaining(['state', 'pending_payment', 'payBy', String(now + 120_000)]));
    now += 5000;
    const again = await t.store.checkout({ eventId, holder: 'ann', token: r.token, key: 'order-1' });
    expect(again).toMatchObject({ ok: true, bookingId: r.bookingId, replayed: true, payBy: r.payBy });
    // the key names one booking, whichever request made it
    expect(await t.store.book({ eventId, holder: 'ann', token: r.token, key: 'order-1' })).toMatchObject({ ok: true, bookingId: r.bookingId, replayed: true });
    expect(await t.store.checkout({ eventId, holder: 'bob', token: r.token, key: 'order-1' })).toMatchObject({ ok: false, code: 'CONFLICT' });
  });

  it('uses the default window when the event has none, and refuses what book refuses', async () => {
    const eventId = await newEvent();
    expect((await checkout(eventId, 'cat', [5], 'order-2')).payBy).toBe(now + 900_000);
    const before = digest(await readRawState(t.store, eventId));
    expect(await t.store.checkout({ eventId, holder: 'cat', token: 'unknown-token-1', key: 'order-3' })).toMatchObject({ ok: false, code: 'EXPIRED' });
    const held = await t.store.hold({ eventId, holder: 'dan', seats: [6] });
    if (!held.ok) throw new Error(held.code);
    const afterHold = digest(await readRawState(t.store, eventId));
    expect(afterHold).not.toBe(before);
    expect(await t.store.checkout({ eventId, holder: 'eve', token: held.token, key: 'order-4' })).toMatchObject({ ok: false, code: 'NOT_HOLDER' });
    expect(await t.store.checkout({ eventId, holder: 'dan', token: held.token, key: '' })).toMatchObject({ ok: false, code: 'BAD_REQUEST' });
    expect(await t.store.checkout({ eventId: 'nope', holder: 'dan', token: held.token, key: 'k' })).toMatchObject({ ok: false, code: 'NO_EVENT' });
    expect(digest(await readRawState(t.store, eventId))).toBe(afterHold);
  });
});

describe('releaseBooking-4.lua', () => {
  it('frees some seats, then the rest, with one change-log entry each; a repeat frees nothing', async () => {
    const eventId = await newEvent();
    const r = await checkout(eventId, 'fay', [1, 2, 3, 4], 'order-5');
    const release = (seats: number[], final: boolean, op: 'cancel' | 'fail' | 'unpaid' = 'cancel') =>
      t.store.releaseBooking({ eventId, bookingId: r.bookingId, key: 'order-5', seats, final, op });
    const seq = (await t.store.meta(eventId))!.seq;
    expect(await release([2, 4], false)).toEqual({ ok: true, seq: seq + 1, freed: 2 });
    let state = await readRawState(t.store, eventId);
    checkInvariants(state);
    expect(state.status.slice(1, 5)).toEqual([SeatState.BOOKED, SeatState.FREE, SeatState.BOOKED, SeatState.FREE]);
    expect(state.bookings.get('order-5')!.s).toEqual([1, 3]);
    expect(await release([2, 4], false)).toEqual({ ok: true, seq: seq + 1, freed: 0 });

    // seat 2 is sold to someone else; an old release naming it (a final one names every seat the booking had) leaves it alone
    const other = await t.store.hold({ eventId, holder: 'gil', seats: [2] });
    if (!other.ok) throw new Error(other.code);
    expect((await t.store.book({ eventId, holder: 'gil', token: other.token, key: 'order-6' })).ok).toBe(true);
    const result = await release([1, 2, 3, 4], true, 'unpaid');
    expect(result).toMatchObject({ ok: true, freed: 2 });
    state = await readRawState(t.store, eventId);
    checkInvariants(state);
    expect(state.status.slice(1, 5)).toEqual([SeatState.FREE, SeatState.BOOKED, SeatState.FREE, SeatState.FREE]);
    expect(state.log.at(-1)).toMatchObject({ changes: [1, 0, 3, 0] });
    expect((await t.store.changesSince(eventId, (result as { seq: number }).seq - 1))!.entries[0]!.op).toBe('unpaid');
    // ended: nothing of it is freed again, not even by a late partial release
    const endSeq = (await t.store.meta(eventId))!.seq;
    expect(await release([1, 3], false)).toEqual({ ok: true, seq: endSeq, freed: 0 });
    expect(await release([1, 3], true)).toEqual({ ok: true, seq: endSeq, freed: 0 });
  });

  it('refuses another booking\'s key, a bad op or seat, and changes nothing; an unknown booking frees nothing', async () => {
    const eventId = await newEvent();
    const r = await checkout(eventId, 'hal', [7, 8], 'order-7');
    const before = digest(await readRawState(t.store, eventId));
    const base = { eventId, bookingId: r.bookingId, key: 'order-7', seats: [7], final: false, op: 'cancel' as const };
    expect(await t.store.releaseBooking({ ...base, bookingId: '00000000-0000-4000-8000-000000000000' })).toMatchObject({ ok: false, code: 'CONFLICT' });
    expect(await t.store.releaseBooking({ ...base, seats: [25] })).toMatchObject({ ok: false, code: 'BAD_SEAT' });
    expect(await t.store.releaseBooking({ ...base, seats: [7, 7] })).toMatchObject({ ok: false, code: 'BAD_SEAT' });
    expect(await t.store.releaseBooking({ ...base, op: 'void' as never })).toMatchObject({ ok: false, code: 'BAD_REQUEST' });
    expect(await t.store.releaseBooking({ ...base, seats: [] })).toMatchObject({ ok: false, code: 'BAD_REQUEST' });
    expect(await t.store.releaseBooking({ ...base, eventId: 'nope' })).toMatchObject({ ok: false, code: 'NO_EVENT' });
    expect(digest(await readRawState(t.store, eventId))).toBe(before);
    // a booking this seat map never had (its key unknown here): nothing is freed, the key is marked ended
    expect(await t.store.releaseBooking({ ...base, key: 'order-unknown', seats: [7, 8], final: true })).toMatchObject({ ok: true, freed: 0 });
    const state = await readRawState(t.store, eventId);
    expect(state.status.slice(7, 9)).toEqual([SeatState.BOOKED, SeatState.BOOKED]);
    checkInvariants(state);
  });
});
