/**
 * Best available, the orphan rule, swap, extend with ms and accessible seats,
 * example by example against the real Redis (docs/store.md).
 */
import { afterAll, describe, expect, it } from 'vitest';
import { createTestStore } from './support/redis.js';
import { checkInvariants, digest, readRawState } from './support/store-state.js';
import { gridLayout, type GridOptions } from './support/selection-layouts.js';
import { createEventFromLayout } from '../core/events.js';

let now = 1_700_000_000_000;
const t = createTestStore({ clock: () => now });
afterAll(() => t.cleanup());
const { store } = t;
let n = 0;

async function newEvent(options: GridOptions): Promise<string> {
  const eventId = `sel${++n}`;
  const created = await createEventFromLayout(store, eventId, gridLayout(options));
  expect(created.ok).toBe(true);
  return eventId;
}

async function status(eventId: string): Promise<number[]> {
  return [...(await store.snapshot(eventId))!.status];
}

async function expectRefused(eventId: string, call: () => Promise<{ ok: boolean }>, expected: object) {
  const before = digest(await readRawState(store, eventId));
  expect(await call()).toEqual({ ok: false, ...expected });
  expect(digest(await readRawState(store, eventId))).toBe(before);
}

describe('best available', () => {
  it('takes the most central block of the front row that leaves pieces a block of its size can fill', async () => {
    const ev = await newEvent({ sections: [[10, 10]] });
    const r = await store.holdBest({ eventId: ev, holder: 'a', n: 2, seed: 7 });
    expect(r.ok && r.together).toBe(true);
    // seats 4-5 would leave 4 | 4; the exact centre; both ends even
    if (r.ok) expect(r.seats).toEqual([4, 5]);
    const r2 = await store.holdBest({ eventId: ev, holder: 'b', n: 3, seed: 7 });
    // after 4-5: pieces 0-3 and 6-9, where every block of 3 strands a seat; so the back row's centre (seats 10-19)
    expect(r2.ok).toBe(true);
    if (r2.ok) expect([[13, 14, 15], [14, 15, 16]]).toContainEqual(r2.seats);
    checkInvariants(await readRawState(store, ev));
  });

  it('prefers a block that strands no seat, then one in a worse row over none', async () => {
    const ev = await newEvent({ sections: [[3, 4]], orphanPolicy: 'strict' });
    // front row of 3: any pair strands one seat; strict takes the back row's pair
    const r = await store.holdBest({ eventId: ev, holder: 'a', n: 2, seed: 1 });
    expect(r.ok).toBe(true);
    if (r.ok) expect([[3, 4], [5, 6]]).toContainEqual(r.seats);
  });

  it('honours layout ranks over the distance to the focal point', async () => {
    const ev = await newEvent({ sections: [[4, 4]], ranks: { 6: 0, 7: 0 } });
    const r = await store.holdBest({ eventId: ev, holder: 'a', n: 2 });
    expect(r.ok && r.seats).toEqual([6, 7]);
  });

  it('filters by category and section, and refuses unknown ones with BAD_REQUEST', async () => {
    const ev = await newEvent({ sections: [[4], [4]], categories: 2 });
    const r = await store.holdBest({ eventId: ev, holder: 'a', n: 2, categories: ['c1'] });
    expect(r.ok && r.seats.every((s) => s >= 4)).toBe(true);
    const s = await store.holdBest({ eventId: ev, holder: 'b', n: 2, sections: ['S0'] });
    expect(s.ok && s.seats.every((x) => x < 4)).toBe(true);
    await expectRefused(ev, () => store.holdBest({ eventId: ev, holder: 'c', n: 2, categories: ['gold'] }), { code: 'BAD_REQUEST', reason: 'categories' });
    await expectRefused(ev, () => store.holdBest({ eventId: ev, holder: 'c', n: 2, sections: ['S9'] }), { code: 'BAD_REQUEST', reason: 'sections' });
    await expectRefused(ev, () => store.holdBest({ eventId: ev, holder: 'c', n: 7 }), { code: 'BAD_REQUEST', reason: 'n' });
    await expectRefused(ev, () => store.holdBest({ eventId: ev, holder: 'c', n: 0 }), { code: 'BAD_REQUEST', reason: 'n' });
    await expectRefused(ev, () => store.holdBest({ eventId: ev, holder: 'c', n: 2, accessibleSeats: 3 }), { code: 'BAD_REQUEST', reason: 'accessible' });
  });

  it('answers NO_BLOCK with the largest block that would fit, and holds nothing', async () => {
    const ev = await newEvent({ sections: [[5]] });
    expect((await store.hold({ eventId: ev, holder: 'a', seats: [2] })).ok).toBe(true);
    await expectRefused(ev, () => store.holdBest({ eventId: ev, holder: 'b', n: 3 }), { code: 'NO_BLOCK', largest: 2 });
  });

  it('falls back to the best seats of one section when together is false', async () => {
    const ev = await newEvent({ sections: [[3, 3]] });
    expect((await store.hold({ eventId: ev, holder: 'a', seats: [1, 4] })).ok).toBe(true);
    await expectRefused(ev, () => store.holdBest({ eventId: ev, holder: 'b', n: 3 }), { code: 'NO_BLOCK', largest: 1 });
    const r = await store.holdBest({ eventId: ev, holder: 'b', n: 3, together: false, seed: 3 });
    expect(r.ok).toBe(true);
    if (r.ok) {
      expect(r.together).toBe(false);
      expect(r.seats.length).toBe(3);
      expect(r.seats.every((s) => [0, 2, 3, 5].includes(s))).toBe(true);
    }
  });

  it('adds to a token beside its seats, with the limits of a named hold', async () => {
    const ev = await newEvent({ sections: [[10, 10]], maxSeatsPerToken: 4 });
    const first = await store.hold({ eventId: ev, holder: 'a', seats: [12, 13] });
    if (!first.ok) throw new Error(first.code);
    const more = await store.holdBest({ eventId: ev, holder: 'a', n: 2, token: first.token });
    expect(more.ok).toBe(true);
    if (more.ok) expect([[10, 11], [14, 15]]).toContainEqual(more.seats);
    await expectRefused(ev, () => store.holdBest({ eventId: ev, holder: 'a', n: 1, token: first.token }), { code: 'HOLD_LIMIT' });
    await expectRefused(ev, () => store.holdBest({ eventId: ev, holder: 'b', n: 1, token: first.token }), { code: 'NOT_HOLDER' });
  });


  it('passes over a block beside the token that the orphan rule refuses, for the best block elsewhere (lenient)', async () => {
    // rows 0–2 and 3–9; 3 and 5 blocked, the token has 6 and 7: beside it only 8, which strands 9 while 4 would strand none
    const ev = await newEvent({ sections: [[3], [7]], maxSeatsPerToken: 3, orphanPolicy: 'lenient' });
    expect((await store.block(ev, [3, 5])).ok).toBe(true);
    const first = await store.hold({ eventId: ev, holder: 'a', seats: [6, 7] });
    if (!first.ok) throw new Error(first.code);
    const more = await store.holdBest({ eventId: ev, holder: 'a', n: 1, together: true, token: first.token });
    expect(more).toMatchObject({ ok: true, token: first.token });
    if (more.ok) expect([[0], [2], [4]]).toContainEqual(more.seats);
  });
  it('refuses an event without a layout', async () => {
    const ev = `sel${++n}`;
    await store.createEvent({ eventId: ev, seatCount: 10, rules: { holdTtlMs: 1000, maxHoldLifetimeMs: 2000, maxSeatsPerToken: 3, maxSeatsPerHolder: 4 } });
    await expectRefused(ev, () => store.holdBest({ eventId: ev, holder: 'a', n: 2 }), { code: 'BAD_REQUEST', reason: 'layout' });
  });
});

describe('orphan seats', () => {
  it('strict refuses a hold that strands a seat, naming it; lenient only when a block could strand none', async () => {
    for (const policy of ['strict', 'lenient'] as const) {
      const ev = await newEvent({ sections: [[6]], orphanPolicy: policy });
      await expectRefused(ev, () => store.hold({ eventId: ev, holder: 'a', seats: [1, 2] }), { code: 'ORPHAN_SEAT', seats: [0] });
      expect((await store.hold({ eventId: ev, holder: 'a', seats: [0, 1] })).ok).toBe(true);
    }
    // seats 0-2 free, 3 taken: any pair strands one; lenient lets it go, strict does not
    const strict = await newEvent({ sections: [[4]], orphanPolicy: 'strict' });
    const lenient = await newEvent({ sections: [[4]], orphanPolicy: 'lenient' });
    for (const ev of [strict, lenient]) expect((await store.hold({ eventId: ev, holder: 'z', seats: [3] })).ok).toBe(true);
    await expectRefused(strict, () => store.hold({ eventId: strict, holder: 'a', seats: [0, 1] }), { code: 'ORPHAN_SEAT', seats: [2] });
    expect((await store.hold({ eventId: lenient, holder: 'a', seats: [0, 1] })).ok).toBe(true);
  });

  it('off lets anything through', async () => {
    const ev = await newEvent({ sections: [[6]] });
    expect((await store.hold({ eventId: ev, holder: 'a', seats: [1, 3] })).ok).toBe(true);
  });

  it('applies to a partial release, never to releasing every seat of a token', async () => {
    const ev = await newEvent({ sections: [[6]], orphanPolicy: 'strict' });
    const h = await store.hold({ eventId: ev, holder: 'a', seats: [0, 1, 2] });
    if (!h.ok) throw new Error(h.code);
    await expectRefused(ev, () => store.release({ eventId: ev, holder: 'a', token: h.token, seats: [0] }), { code: 'ORPHAN_SEAT', seats: [0] });
    expect((await store.release({ eventId: ev, holder: 'a', token: h.token, seats: [2] })).ok).toBe(true);
    expect((await store.release({ eventId: ev, holder: 'a', token: h.token })).ok).toBe(true);
    expect(await status(ev)).toEqual([0, 0, 0, 0, 0, 0]);
  });
});

describe('swap', () => {
  it('moves seats in one step at the token limit, with one change-log entry', async () => {
    const ev = await newEvent({ sections: [[8]], maxSeatsPerToken: 2, maxSeatsPerHolder: 2 });
    const h = await store.hold({ eventId: ev, holder: 'a', seats: [0, 1] });
    if (!h.ok) throw new Error(h.code);
    const before = (await readRawState(store, ev)).log.length;
    const s = await store.swap({ eventId: ev, holder: 'a', token: h.token, release: [0, 1], hold: [4, 5] });
    expect(s.ok).toBe(true);
    const raw = await readRawState(store, ev);
    expect(raw.log.length).toBe(before + 1);
    expect(raw.status).toEqual([0, 0, 0, 0, 1, 1, 0, 0]);
    expect(raw.tokens.get(h.token)!.s.sort()).toEqual([4, 5]);
    checkInvariants(raw);
    await expectRefused(ev, () => store.swap({ eventId: ev, holder: 'a', token: h.token, release: [], hold: [7] }), { code: 'HOLD_LIMIT' });
    await expectRefused(ev, () => store.swap({ eventId: ev, holder: 'a', token: h.token, release: [4], hold: [4] }), { code: 'BAD_REQUEST' });
    await expectRefused(ev, () => store.swap({ eventId: ev, holder: 'a', token: h.token, release: [3], hold: [6] }), { code: 'NOT_HOLDER', seats: [3] });
  });

  it('checks the orphan rule on the final state', async () => {
    const ev = await newEvent({ sections: [[6]], orphanPolicy: 'strict' });
    const h = await store.hold({ eventId: ev, holder: 'a', seats: [0, 1] });
    if (!h.ok) throw new Error(h.code);
    await expectRefused(ev, () => store.swap({ eventId: ev, holder: 'a', token: h.token, release: [0, 1], hold: [1, 2] }), { code: 'BAD_REQUEST' });
    await expectRefused(ev, () => store.swap({ eventId: ev, holder: 'a', token: h.token, release: [0], hold: [2] }), { code: 'ORPHAN_SEAT', seats: [0] });
    expect((await store.swap({ eventId: ev, holder: 'a', token: h.token, release: [0, 1], hold: [4, 5] })).ok).toBe(true);
  });
});

describe('extend with ms', () => {
  it('sets the expiry to now + ms within the lifetime cap; 0 releases every seat and deletes the token', async () => {
    const ev = await newEvent({ sections: [[6]], holdTtlMs: 60_000, maxHoldLifetimeMs: 120_000 });
    const h = await store.hold({ eventId: ev, holder: 'a', seats: [0, 1] });
    if (!h.ok) throw new Error(h.code);
    expect(await store.extend({ eventId: ev, holder: 'a', token: h.token, ms: 5_000 })).toEqual({ ok: true, expiresAt: now + 5_000, seq: 1 });
    expect(await store.extend({ eventId: ev, holder: 'a', token: h.token, ms: 500_000 })).toEqual({ ok: true, expiresAt: now + 120_000, seq: 1 });
    const raw = await readRawState(store, ev);
    checkInvariants(raw);
    expect(await store.extend({ eventId: ev, holder: 'a', token: h.token, ms: 0 })).toEqual({ ok: true, expiresAt: now, seq: 2, released: 2 });
    const after = await readRawState(store, ev);
    expect(after.tokens.size).toBe(0);
    expect(after.status).toEqual([0, 0, 0, 0, 0, 0]);
    checkInvariants(after);
    expect(await store.extend({ eventId: ev, holder: 'a', token: h.token, ms: 0 })).toEqual({ ok: false, code: 'EXPIRED' });
  });
});

describe('accessible seats', () => {
  const protectedVenue = (): GridOptions => ({ sections: [[6]], attrs: { 0: ['wheelchair'], 1: ['companion'], 2: ['companion'] }, protectUntil: now + 3_600_000, maxCompanionsPerWheelchair: 2 });

  it('keeps wheelchair seats for the accessible claim while protected', async () => {
    const ev = await newEvent(protectedVenue());
    await expectRefused(ev, () => store.hold({ eventId: ev, holder: 'a', seats: [0] }), { code: 'UNAVAILABLE', seats: [0], reason: 'accessible' });
    expect((await store.hold({ eventId: ev, holder: 'b', seats: [0, 1, 2], accessible: true })).ok).toBe(true);
  });

  it('needs a wheelchair seat in the token for a companion seat', async () => {
    const ev = await newEvent(protectedVenue());
    await expectRefused(ev, () => store.hold({ eventId: ev, holder: 'a', seats: [1], accessible: true }), { code: 'BAD_REQUEST', seats: [1], reason: 'companion' });
  });

  it('lifts the protection once protectUntil has passed', async () => {
    const ev = await newEvent({ ...protectedVenue(), protectUntil: now - 1 });
    expect((await store.hold({ eventId: ev, holder: 'a', seats: [0, 1] })).ok).toBe(true);
  });

  it('picks k wheelchair seats and companions beside them', async () => {
    const ev = await newEvent(protectedVenue());
    await expectRefused(ev, () => store.holdBest({ eventId: ev, holder: 'a', n: 2, accessibleSeats: 1 }), { code: 'UNAVAILABLE', reason: 'accessible' });
    const r = await store.holdBest({ eventId: ev, holder: 'a', n: 3, accessibleSeats: 1, accessible: true });
    expect(r.ok && r.seats).toEqual([0, 1, 2]);
    // plain best available leaves protected seats alone
    const ev2 = await newEvent(protectedVenue());
    const p = await store.holdBest({ eventId: ev2, holder: 'b', n: 3 });
    expect(p.ok && p.seats).toEqual([3, 4, 5]);
  });
});
