/**
 * Model-based: random sequences of channel puts and releases, holds by a
 * member, an outsider and the box office, swaps, releases, books, cancels and
 * expiries against the real Redis, with sales channels in the model. After
 * every step: no seat of a channel that stands is held by an outsider, the
 * channel map is the model's, every store invariant holds and the change log
 * replays to the state (test/support/store-state.ts). At the end, an event
 * created from what a rebuild reads (booked seats, the channels) has the same
 * status and channels as the original once its holds are gone.
 */
import fc from 'fast-check';
import { afterAll, describe, expect, it } from 'vitest';
import { Channels } from '../core/store/channels.js';
import { createTestStore } from './support/redis.js';
import { checkInvariants, readRawState } from './support/store-state.js';

let now = 1_900_000_000_000;
const t = createTestStore({ clock: () => now });
afterAll(() => t.cleanup());
const channels = new Channels(t.store);
const SEATS = 6;
const rules = { holdTtlMs: 1000, maxHoldLifetimeMs: 3000, maxSeatsPerToken: 5, maxSeatsPerHolder: 8 };
const KEYS = ['fc', 'press'];
/** holder 0 carries fc, holder 1 nothing, holder 2 is the box office */
const HOLDERS = [
  { name: 'member', chan: ['fc'], exempt: false },
  { name: 'outsider', chan: [] as string[], exempt: false },
  { name: 'till', chan: [] as string[], exempt: true },
];

type Op =
  | { k: 'put'; key: number; seats: number[] }
  | { k: 'drop'; key: number }
  | { k: 'hold'; h: number; seats: number[] }
  | { k: 'swap'; h: number; release: number; hold: number }
  | { k: 'release'; h: number }
  | { k: 'book'; h: number }
  | { k: 'cancel'; n: number }
  | { k: 'tick'; ms: number }
  | { k: 'wait'; ms: number };

const seatList = fc.uniqueArray(fc.nat(SEATS - 1), { minLength: 1, maxLength: 3 });
const opArb: fc.Arbitrary<Op> = fc.oneof(
  fc.record({ k: fc.constant('put' as const), key: fc.nat(1), seats: fc.uniqueArray(fc.nat(SEATS - 1), { minLength: 1, maxLength: 6 }) }),
  fc.record({ k: fc.constant('drop' as const), key: fc.nat(1) }),
  fc.record({ k: fc.constant('hold' as const), h: fc.nat(2), seats: seatList }),
  fc.record({ k: fc.constant('hold' as const), h: fc.nat(2), seats: seatList }),
  fc.record({ k: fc.constant('swap' as const), h: fc.nat(2), release: fc.nat(SEATS - 1), hold: fc.nat(SEATS - 1) }),
  fc.record({ k: fc.constant('release' as const), h: fc.nat(2) }),
  fc.record({ k: fc.constant('book' as const), h: fc.nat(2) }),
  fc.record({ k: fc.constant('cancel' as const), n: fc.nat(10) }),
  fc.record({ k: fc.constant('tick' as const), ms: fc.integer({ min: 100, max: 1500 }) }),
  // time passes without a sweep: overdue holds are expired lazily by the next hold that meets them
  fc.record({ k: fc.constant('wait' as const), ms: fc.integer({ min: 800, max: 1500 }) }),
);

describe('sales channels, model-based', () => {
  it('never let an outsider hold a channel seat, keep the map, replay the log, and rebuild exactly', async () => {
    let run = 0;
    await fc.assert(
      fc.asyncProperty(fc.array(opArb, { minLength: 1, maxLength: 30 }), async (ops) => {
        const ev = `chanprop${++run}`;
        expect((await t.store.createEvent({ eventId: ev, seatCount: SEATS, rules })).ok).toBe(true);
        // the model: each channel's seats; each holder's live token; the bookings
        const model = new Map<string, Set<number>>();
        const tokens = new Map<number, { tok: string; e: number }>();
        const bookings: { key: string; id: string; seats: number[] }[] = [];
        const channelOf = (seat: number) => [...model].find(([, s]) => s.has(seat))?.[0];
        let keyN = 0;

        for (const op of ops) {
          for (const [h, x] of tokens) if (x.e <= now) tokens.delete(h);
          const before = await readRawState(t.store, ev);
          if (op.k === 'tick') {
            now += op.ms;
            expect((await t.store.expire(ev)).ok).toBe(true);
          } else if (op.k === 'wait') {
            now += op.ms;
          } else if (op.k === 'put') {
            const key = KEYS[op.key]!;
            const r = await channels.put(ev, key, op.seats, null);
            if (!r.ok) throw new Error(r.code);
            const mine = model.get(key) ?? new Set<number>();
            // the channel gets the listed seats that were free or already its own
            const expected = op.seats.filter((s) => (before.status[s] === 0 && channelOf(s) === undefined) || mine.has(s)).sort((a, b) => a - b);
            expect(r.seats).toEqual(expected);
            model.set(key, new Set(expected));
          } else if (op.k === 'drop') {
            const key = KEYS[op.key]!;
            const r = await channels.release(ev, key);
            if (model.has(key)) {
              expect(r).toMatchObject({ ok: true, released: [...model.get(key)!].filter((s) => before.status[s] === 4).length });
              model.delete(key);
            } else expect(r).toEqual({ ok: false, code: 'NOT_FOUND' });
          } else if (op.k === 'hold') {
            const who = HOLDERS[op.h]!;
            const mine = tokens.get(op.h);
            const r = await t.store.hold({ eventId: ev, holder: who.name, seats: op.seats, channels: who.chan, exempt: who.exempt, ...(mine && { token: mine.tok }) });
            // reserved, or held by an overdue token and reserved again once it expires
            const overdue = (s: number) => before.status[s] === 1 && before.tokens.get(before.seatHolds.get(s)!)!.e <= now;
            const closed = op.seats.filter((s) => (before.status[s] === 4 || (overdue(s) && channelOf(s) !== undefined)) && !who.exempt && !who.chan.includes(channelOf(s)!));
            if (r.ok) {
              expect(closed).toEqual([]);
              tokens.set(op.h, { tok: r.token, e: r.expiresAt });
            } else if (r.code === 'UNAVAILABLE' && r.reason === 'channel') {
              expect(r.seats).toEqual(closed);
            } else if (closed.length > 0) {
              expect(r.code).toBe('UNAVAILABLE'); // seats taken by others come first
            }
          } else if (op.k === 'swap') {
            const who = HOLDERS[op.h]!;
            const mine = tokens.get(op.h);
            if (!mine || op.release === op.hold) continue;
            const r = await t.store.swap({ eventId: ev, holder: who.name, token: mine.tok, release: [op.release], hold: [op.hold], channels: who.chan, exempt: who.exempt });
            if (r.ok) {
              expect(before.status[op.hold] !== 4 || who.exempt || who.chan.includes(channelOf(op.hold)!)).toBe(true);
              mine.e = r.expiresAt;
            }
          } else if (op.k === 'release') {
            const mine = tokens.get(op.h);
            if (!mine) continue;
            expect((await t.store.release({ eventId: ev, holder: HOLDERS[op.h]!.name, token: mine.tok })).ok).toBe(true);
          } else if (op.k === 'book') {
            const mine = tokens.get(op.h);
            if (!mine) continue;
            const key = `k${++keyN}`;
            const r = await t.store.book({ eventId: ev, holder: HOLDERS[op.h]!.name, token: mine.tok, key });
            tokens.delete(op.h);
            if (r.ok) bookings.push({ key, id: r.bookingId, seats: r.seats });
          } else if (op.k === 'cancel' && bookings.length > 0) {
            const [b] = bookings.splice(op.n % bookings.length, 1);
            expect((await t.store.releaseBooking({ eventId: ev, bookingId: b!.id, key: b!.key, seats: b!.seats, final: true, op: 'cancel' })).ok).toBe(true);
          }

          const state = await readRawState(t.store, ev);
          checkInvariants(state);
          // the map is the model's
          expect(new Map([...state.channels].map(([k, c]) => [k, c.s]))).toEqual(new Map([...model].map(([k, s]) => [k, [...s].sort((a, b) => a - b)])));
          for (let seat = 0; seat < SEATS; seat++) {
            const key = channelOf(seat);
            // a channel's free seat is reserved, and no seat outside a channel is
            if (key === undefined) expect(state.status[seat]).not.toBe(4);
            else expect(state.status[seat]).not.toBe(0);
            // never held by an outsider
            if (key !== undefined && state.status[seat] === 1) {
              const holder = state.tokens.get(state.seatHolds.get(seat)!)!.h;
              expect(holder === 'till' || (holder === 'member' && key === 'fc'), `seat ${seat} of ${key} held by ${holder}`).toBe(true);
            }
          }
        }

        // a rebuild's view: holds gone, then an event made from the booked seats and the channels
        now += 10_000;
        expect((await t.store.expire(ev)).ok).toBe(true);
        const original = await readRawState(t.store, ev);
        const status = new Uint8Array(SEATS);
        original.status.forEach((s, i) => (status[i] = s === 2 ? 2 : 0));
        const copy = `${ev}-rebuilt`;
        const list = await channels.list(ev);
        expect((await t.store.createEvent({ eventId: copy, seatCount: SEATS, rules, status, channels: list })).ok).toBe(true);
        const rebuilt = await readRawState(t.store, copy);
        expect(rebuilt.status).toEqual(original.status);
        expect(rebuilt.channelOfSeat).toEqual(original.channelOfSeat);
        expect(rebuilt.channels).toEqual(original.channels);
        await t.store.deleteEvent(ev);
        await t.store.deleteEvent(copy);
      }),
      {
        numRuns: 80,
        // the sequences that matter most, always run: a member's hold that expires unswept, then an outsider and a swap
        examples: [
          [[{ k: 'put', key: 0, seats: [1, 2] }, { k: 'hold', h: 0, seats: [1] }, { k: 'wait', ms: 1500 }, { k: 'hold', h: 1, seats: [1] }]],
          [[{ k: 'put', key: 0, seats: [1, 2] }, { k: 'hold', h: 1, seats: [3] }, { k: 'swap', h: 1, release: 3, hold: 2 }, { k: 'hold', h: 0, seats: [2] }, { k: 'drop', key: 0 }, { k: 'release', h: 0 }]],
        ],
      },
    );
  }, 180_000);
});
