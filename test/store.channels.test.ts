/**
 * Sales channels in the seat store, example by example against the real
 * Redis (docs/store.md#sales-channels): reserved seats, who may hold them,
 * every way a seat is freed returning it to reserved, release.
 */
import { afterAll, describe, expect, it } from 'vitest';
import { Channels } from '../core/store/channels.js';
import { createEventFromLayout } from '../core/events.js';
import { createTestStore } from './support/redis.js';
import { checkInvariants, digest, readRawState } from './support/store-state.js';
import { gridLayout } from './support/selection-layouts.js';

let now = 1_700_000_000_000;
const t = createTestStore({ clock: () => now });
afterAll(() => t.cleanup());
const { store } = t;
const channels = new Channels(store);
const rules = { holdTtlMs: 1000, maxHoldLifetimeMs: 5000, maxSeatsPerToken: 6, maxSeatsPerHolder: 10 };
let n = 0;

async function newEvent(seatCount = 10): Promise<string> {
  const eventId = `chan${++n}`;
  expect((await store.createEvent({ eventId, seatCount, rules })).ok).toBe(true);
  return eventId;
}
async function status(eventId: string): Promise<number[]> {
  return [...(await store.snapshot(eventId))!.status];
}
async function check(eventId: string) {
  checkInvariants(await readRawState(store, eventId));
}

describe('sales channels in the store', () => {
  it('reserves the free seats listed, in one change-log entry, and reports the others', async () => {
    const ev = await newEvent();
    expect((await store.hold({ eventId: ev, holder: 'x', seats: [3] })).ok).toBe(true);
    const r = await channels.put(ev, 'fanclub', [1, 2, 3], null);
    expect(r).toEqual({ ok: true, seq: 2, seats: [1, 2], skipped: [3] });
    expect(await status(ev)).toEqual([0, 4, 4, 1, 0, 0, 0, 0, 0, 0]);
    expect(await channels.get(ev, 'fanclub')).toEqual({ key: 'fanclub', seats: [1, 2], releaseAt: null });
    expect(await channels.list(ev)).toEqual([{ key: 'fanclub', seats: [1, 2], releaseAt: null }]);
    // another channel cannot take them
    expect(await channels.put(ev, 'press', [2, 4], now + 1000)).toEqual({ ok: true, seq: 3, seats: [4], skipped: [2] });
    await check(ev);
  });

  it('refuses outsiders with reason channel and changes nothing; members and the box office hold', async () => {
    const ev = await newEvent();
    await channels.put(ev, 'fanclub', [4, 5], null);
    const before = digest(await readRawState(store, ev));
    expect(await store.hold({ eventId: ev, holder: 'out', seats: [3, 4, 5] })).toEqual({ ok: false, code: 'UNAVAILABLE', seats: [4, 5], reason: 'channel' });
    expect(await store.hold({ eventId: ev, holder: 'out', seats: [4], channels: ['press'] })).toEqual({ ok: false, code: 'UNAVAILABLE', seats: [4], reason: 'channel' });
    expect(digest(await readRawState(store, ev))).toBe(before);
    const held = await store.hold({ eventId: ev, holder: 'fan', seats: [4], channels: ['press', 'fanclub'] });
    expect(held.ok).toBe(true);
    const box = await store.hold({ eventId: ev, holder: 'till', seats: [5], exempt: true });
    expect(box.ok).toBe(true);
    expect(await status(ev)).toEqual([0, 0, 0, 0, 1, 1, 0, 0, 0, 0]);
    await check(ev);
  });

  it('returns a member\'s seat to reserved on release, expiry, swap and cancel', async () => {
    const ev = await newEvent();
    await channels.put(ev, 'fc', [0, 1, 2, 3], null);
    const h = await store.hold({ eventId: ev, holder: 'fan', seats: [0, 1], channels: ['fc'] });
    if (!h.ok) throw new Error(h.code);
    expect((await store.release({ eventId: ev, holder: 'fan', token: h.token, seats: [0] })).ok).toBe(true);
    expect((await status(ev))[0]).toBe(4);
    // swap: 1 released (back to reserved), 2 taken (a member), 5 taken (public)
    expect((await store.swap({ eventId: ev, holder: 'fan', token: h.token, release: [1], hold: [2, 5], channels: ['fc'] })).ok).toBe(true);
    expect(await store.swap({ eventId: ev, holder: 'out', token: h.token, release: [], hold: [3] })).toMatchObject({ ok: false });
    expect(await store.swap({ eventId: ev, holder: 'fan', token: h.token, release: [], hold: [3] })).toEqual({ ok: false, code: 'UNAVAILABLE', seats: [3], reason: 'channel' });
    expect((await status(ev)).slice(0, 6)).toEqual([4, 4, 1, 4, 0, 1]);
    // book, then cancel: the channel's seat goes back to reserved, the public one to free
    const b = await store.book({ eventId: ev, holder: 'fan', token: h.token, key: 'k1' });
    if (!b.ok) throw new Error(b.code);
    expect((await store.releaseBooking({ eventId: ev, bookingId: b.bookingId, key: 'k1', seats: b.seats, final: true, op: 'cancel' })).ok).toBe(true);
    expect((await status(ev)).slice(0, 6)).toEqual([4, 4, 4, 4, 0, 0]);
    // expiry
    const e = await store.hold({ eventId: ev, holder: 'fan', seats: [3], channels: ['fc'] });
    expect(e.ok).toBe(true);
    now += 2000;
    expect((await store.expire(ev)).ok).toBe(true);
    expect((await status(ev))[3]).toBe(4);
    // extend to 0 releases too
    const x = await store.hold({ eventId: ev, holder: 'fan', seats: [3], channels: ['fc'] });
    if (!x.ok) throw new Error(x.code);
    expect((await store.extend({ eventId: ev, holder: 'fan', token: x.token, ms: 0 })).ok).toBe(true);
    expect((await status(ev))[3]).toBe(4);
    await check(ev);
  });

  it('an outsider does not take a member\'s overdue hold that the sweeper has not reached', async () => {
    const ev = await newEvent();
    await channels.put(ev, 'fc', [1, 2], null);
    expect((await store.hold({ eventId: ev, holder: 'fan', seats: [1], channels: ['fc'] })).ok).toBe(true);
    now += 2000; // overdue, not swept
    expect(await store.hold({ eventId: ev, holder: 'out', seats: [1] })).toEqual({ ok: false, code: 'UNAVAILABLE', seats: [1], reason: 'channel' });
    expect((await store.hold({ eventId: ev, holder: 'fan2', seats: [1], channels: ['fc'] })).ok).toBe(true);
    await check(ev);
  });

  it('lets the box office sell reserved seats', async () => {
    const ev = await newEvent();
    await channels.put(ev, 'fc', [7], null);
    const r = await store.bookFree({ eventId: ev, holder: 'till', seats: [7], key: 'b1' });
    expect(r.ok).toBe(true);
    expect((await status(ev))[7]).toBe(2);
    await check(ev);
  });

  it('releases the still-free seats in one entry; held ones then free to free', async () => {
    const ev = await newEvent();
    await channels.put(ev, 'fc', [0, 1, 2], now + 500);
    const h = await store.hold({ eventId: ev, holder: 'fan', seats: [0], channels: ['fc'] });
    if (!h.ok) throw new Error(h.code);
    const seqBefore = (await store.snapshot(ev))!.seq;
    const mine = async () => (await channels.releaseDue(now)).filter((d) => d.eventId === ev);
    expect(await mine()).toEqual([]); // not due yet
    now += 500;
    expect(await mine()).toEqual([{ eventId: ev, key: 'fc', seq: seqBefore + 1, released: 2 }]);
    expect(await mine()).toEqual([]); // once
    const log = await store.changesSince(ev, seqBefore);
    expect(log!.entries).toHaveLength(1);
    expect(log!.entries[0]!.changes).toEqual([1, 0, 2, 0]);
    expect(await channels.get(ev, 'fc')).toBeNull();
    expect((await store.hold({ eventId: ev, holder: 'out', seats: [1, 2] })).ok).toBe(true);
    expect((await store.release({ eventId: ev, holder: 'fan', token: h.token })).ok).toBe(true);
    expect((await status(ev)).slice(0, 3)).toEqual([0, 1, 1]);
    await check(ev);
  });

  it('a channel put again gives up the seats it no longer lists; a release of another releaseAt is left alone', async () => {
    const ev = await newEvent();
    await channels.put(ev, 'fc', [0, 1, 2], now + 100);
    expect(await channels.put(ev, 'fc', [2, 3], now + 10_000)).toMatchObject({ ok: true, seats: [2, 3], skipped: [] });
    expect((await status(ev)).slice(0, 4)).toEqual([0, 0, 4, 4]);
    now += 200;
    expect((await channels.releaseDue(now)).filter((d) => d.eventId === ev)).toEqual([]); // the old releaseAt's member: nothing
    expect((await status(ev)).slice(0, 4)).toEqual([0, 0, 4, 4]);
    expect(await channels.release(ev, 'fc')).toMatchObject({ ok: true, released: 2 });
    expect(await channels.release(ev, 'fc')).toEqual({ ok: false, code: 'NOT_FOUND' });
    await check(ev);
  });

  it('refuses bad keys, seats and releaseAt, changing nothing', async () => {
    const ev = await newEvent();
    const before = digest(await readRawState(store, ev));
    expect(await channels.put(ev, 'a b', [1], null)).toMatchObject({ ok: false, code: 'BAD_REQUEST' });
    expect(await channels.put(ev, 'x'.repeat(33), [1], null)).toMatchObject({ ok: false, code: 'BAD_REQUEST' });
    expect(await channels.put(ev, 'ok', [10], null)).toMatchObject({ ok: false, code: 'BAD_SEAT', seats: [10] });
    expect(await channels.put(ev, 'ok', [1], -5)).toMatchObject({ ok: false, code: 'BAD_REQUEST' });
    expect(await channels.put('nope', 'ok', [1], null)).toMatchObject({ ok: false, code: 'NO_EVENT' });
    expect(digest(await readRawState(store, ev))).toBe(before);
  });

  it('best available never picks reserved seats', async () => {
    const ev = `chanbest${++n}`;
    expect((await createEventFromLayout(store, ev, gridLayout({ sections: [[8]] }))).ok).toBe(true);
    await channels.put(ev, 'fc', [2, 3, 4, 5], null);
    const r = await store.holdBest({ eventId: ev, holder: 'out', n: 2, seed: 3 });
    expect(r.ok).toBe(true);
    if (r.ok) for (const seat of r.seats) expect([2, 3, 4, 5]).not.toContain(seat);
    await check(ev);
  });

  it('a rebuild restores channels exactly (createEvent with channels)', async () => {
    const ev = `chanrb${++n}`;
    const status = new Uint8Array(6);
    status[1] = 2;
    expect((await store.createEvent({ eventId: ev, seatCount: 6, rules, status, channels: [{ key: 'fc', seats: [1, 2, 3], releaseAt: now + 5000 }] })).ok).toBe(true);
    expect([...(await store.snapshot(ev))!.status]).toEqual([0, 2, 4, 4, 0, 0]);
    expect(await channels.get(ev, 'fc')).toEqual({ key: 'fc', seats: [1, 2, 3], releaseAt: now + 5000 });
  });
});
