/**
 * Model-based: random sequences of holds (places with or without seats),
 * releases, books, expiries, ended bookings, admin blocks and unblocks of
 * places, and box-office sales of places against the real Redis, with
 * general-admission counters in the model. After every step: the counters
 * equal the model's, none is negative or past capacity, an area's held places
 * are its tokens' places, and the change log replays to the state
 * (test/support/store-state.ts).
 */
import fc from 'fast-check';
import { afterAll, describe, expect, it } from 'vitest';
import { createTestStore } from './support/redis.js';
import { checkInvariants, readRawState } from './support/store-state.js';

let now = 1_800_000_000_000;
const t = createTestStore({ clock: () => now });
afterAll(() => t.cleanup());
const CAPACITIES = [5, 9];
const rules = { holdTtlMs: 1000, maxHoldLifetimeMs: 3000, maxSeatsPerToken: 6, maxSeatsPerHolder: 8 };
const HOLDERS = ['a', 'b', 'c'];

type Op =
  | { k: 'hold'; h: number; seat: number | null; area: number; qty: number }
  | { k: 'release'; h: number; area: number; qty: number }
  | { k: 'releaseAll'; h: number }
  | { k: 'book'; h: number }
  | { k: 'cancel'; n: number }
  | { k: 'block'; area: number; qty: number }
  | { k: 'unblock'; area: number; qty: number }
  | { k: 'sell'; area: number; qty: number }
  | { k: 'tick'; ms: number };

const opArb: fc.Arbitrary<Op> = fc.oneof(
  fc.record({ k: fc.constant('hold' as const), h: fc.nat(2), seat: fc.option(fc.nat(7)), area: fc.nat(1), qty: fc.integer({ min: 1, max: 5 }) }),
  fc.record({ k: fc.constant('release' as const), h: fc.nat(2), area: fc.nat(1), qty: fc.integer({ min: 1, max: 4 }) }),
  fc.record({ k: fc.constant('releaseAll' as const), h: fc.nat(2) }),
  fc.record({ k: fc.constant('book' as const), h: fc.nat(2) }),
  fc.record({ k: fc.constant('cancel' as const), n: fc.nat(10) }),
  fc.record({ k: fc.constant('block' as const), area: fc.nat(1), qty: fc.integer({ min: 1, max: 4 }) }),
  fc.record({ k: fc.constant('unblock' as const), area: fc.nat(1), qty: fc.integer({ min: 1, max: 4 }) }),
  fc.record({ k: fc.constant('sell' as const), area: fc.nat(1), qty: fc.integer({ min: 1, max: 4 }) }),
  fc.record({ k: fc.constant('tick' as const), ms: fc.integer({ min: 100, max: 1500 }) }),
);

describe('general-admission counters, model-based', () => {
  it('never drift, never go negative or past capacity, and the log replays to them', async () => {
    let run = 0;
    await fc.assert(
      fc.asyncProperty(fc.array(opArb, { minLength: 1, maxLength: 30 }), async (ops) => {
        const ev = `gaprop${++run}`;
        expect((await t.store.createEvent({ eventId: ev, seatCount: 8, rules, areaCapacities: CAPACITIES })).ok).toBe(true);
        // the model: each holder's live token (places per area, expiry), and the booked places per area
        const tokens = new Map<number, { tok: string; g: number[]; e: number }>();
        const booked = CAPACITIES.map(() => 0);
        const blocked = CAPACITIES.map(() => 0);
        const bookings: { key: string; id: string; seats: number[]; g: number[] }[] = [];
        const live = () => [...tokens.entries()].filter(([, x]) => x.e > now);
        const heldIn = (a: number) => live().reduce((sum, [, x]) => sum + x.g[a]!, 0);
        let keyN = 0;

        for (const op of ops) {
          for (const [h, x] of tokens) if (x.e <= now) tokens.delete(h); // expired: its places are free
          if (op.k === 'tick') {
            now += op.ms;
            // swept at once, so Redis holds exactly the model's live places
            expect((await t.store.expire(ev)).ok).toBe(true);
            for (const [h, x] of tokens) if (x.e <= now) tokens.delete(h);
          } else if (op.k === 'hold') {
            const mine = tokens.get(op.h);
            const r = await t.store.hold({ eventId: ev, holder: HOLDERS[op.h]!, seats: op.seat === null ? [] : [op.seat], ga: [[op.area, op.qty]], ...(mine && { token: mine.tok }) });
            const free = CAPACITIES[op.area]! - heldIn(op.area) - booked[op.area]! - blocked[op.area]!;
            if (r.ok) {
              expect(op.qty).toBeLessThanOrEqual(free);
              const x = mine ?? { tok: r.token, g: CAPACITIES.map(() => 0), e: 0 };
              x.g[op.area]! += op.qty;
              x.e = r.expiresAt;
              tokens.set(op.h, x);
            } else if (r.code === 'UNAVAILABLE' && r.reason === 'ga') {
              expect(r.areas).toEqual([op.area]);
              expect(r.left).toEqual([Math.max(free, 0)]);
              expect(op.qty).toBeGreaterThan(free);
            } else {
              expect(['UNAVAILABLE', 'HOLD_LIMIT']).toContain(r.code);
            }
          } else if (op.k === 'release' || op.k === 'releaseAll') {
            const mine = tokens.get(op.h);
            if (!mine) continue;
            const r = await t.store.release({ eventId: ev, holder: HOLDERS[op.h]!, token: mine.tok, ...(op.k === 'release' && { ga: [[op.area, op.qty]] as [number, number][] }) });
            if (op.k === 'releaseAll') {
              expect(r.ok).toBe(true);
              mine.g = mine.g.map(() => 0);
            } else if (op.qty <= mine.g[op.area]!) {
              expect(r.ok).toBe(true);
              mine.g[op.area]! -= op.qty;
            } else {
              expect(r).toMatchObject({ ok: false, code: 'NOT_HOLDER', areas: [op.area] });
            }
          } else if (op.k === 'book') {
            const mine = tokens.get(op.h);
            if (!mine) continue;
            const key = `k${++keyN}`;
            const r = await t.store.book({ eventId: ev, holder: HOLDERS[op.h]!, token: mine.tok, key });
            tokens.delete(op.h);
            if (r.ok) {
              mine.g.forEach((q, a) => (booked[a]! += q));
              bookings.push({ key, id: r.bookingId, seats: r.seats, g: mine.g });
            } else {
              expect(r.code).toBe('BAD_REQUEST'); // a token with nothing left to book
            }
          } else if (op.k === 'block' || op.k === 'sell') {
            // every token is swept at once after a tick: the live places are exactly Redis's held ones
            const free = CAPACITIES[op.area]! - heldIn(op.area) - booked[op.area]! - blocked[op.area]!;
            const key = `k${++keyN}`;
            const r = op.k === 'block'
              ? await t.store.block(ev, [], [[op.area, op.qty]])
              : await t.store.bookFree({ eventId: ev, holder: 'till', seats: [], ga: [[op.area, op.qty]], key });
            if (op.qty <= free) {
              expect(r.ok).toBe(true);
              if (op.k === 'block') blocked[op.area]! += op.qty;
              else {
                booked[op.area]! += op.qty;
                if (r.ok && 'bookingId' in r) bookings.push({ key, id: String(r.bookingId), seats: [], g: CAPACITIES.map((_, a) => (a === op.area ? op.qty : 0)) });
              }
            } else {
              expect(r).toMatchObject({ ok: false, code: 'UNAVAILABLE', reason: 'ga', areas: [op.area], left: [Math.max(free, 0)] });
            }
          } else if (op.k === 'unblock') {
            const r = await t.store.unblock(ev, [], [[op.area, op.qty]]);
            if (op.qty <= blocked[op.area]!) {
              expect(r.ok).toBe(true);
              blocked[op.area]! -= op.qty;
            } else {
              expect(r).toMatchObject({ ok: false, code: 'CONFLICT', reason: 'ga', areas: [op.area], left: [blocked[op.area]] });
            }
          } else if (op.k === 'cancel' && bookings.length > 0) {
            const [b] = bookings.splice(op.n % bookings.length, 1);
            const r = await t.store.releaseBooking({ eventId: ev, bookingId: b!.id, key: b!.key, seats: b!.seats, final: true, op: 'cancel' });
            expect(r.ok).toBe(true);
            b!.g.forEach((q, a) => (booked[a]! -= q));
          }

          const state = await readRawState(t.store, ev);
          checkInvariants(state);
          state.areas.forEach((area, a) => {
            expect(area.booked, `area ${a} booked`).toBe(booked[a]);
            expect(area.held, `area ${a} held`).toBe(heldIn(a));
            expect(area.blocked, `area ${a} blocked`).toBe(blocked[a]);
          });
        }
        await t.store.deleteEvent(ev);
      }),
      { numRuns: 100 },
    );
  }, 120_000);
});
