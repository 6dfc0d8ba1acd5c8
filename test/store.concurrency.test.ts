/**
 * Real concurrency against the real Redis: 200 clients, each on its own
 * connection, race for the same 10 seats.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestStore } from './support/redis.js';
import { checkInvariants, readRawState } from './support/store-state.js';
import type { SeatStore } from '../core/store/index.js';

const CLIENTS = 200;
const SEATS = 10;
const rules = { holdTtlMs: 60_000, maxHoldLifetimeMs: 120_000, maxSeatsPerToken: SEATS, maxSeatsPerHolder: SEATS };

const t = createTestStore();
let clients: SeatStore[];

beforeAll(async () => {
  clients = Array.from({ length: CLIENTS }, () => t.connect());
  // Open every connection before the race so that the race is not a connect race.
  await Promise.all(clients.map((c) => c.redis.ping()));
});
afterAll(() => t.cleanup());

/** Starts every call in the same tick, so they reach Redis interleaved. */
function race<T>(fn: (client: SeatStore, i: number) => Promise<T>): Promise<T[]> {
  return Promise.all(clients.map((client, i) => fn(client, i)));
}

describe('200 clients racing for 10 seats', () => {
  it('each seat is won exactly once; every loser gets UNAVAILABLE naming a won or blocked seat', async () => {
    const eventId = 'race1';
    await t.store.createEvent({ eventId, seatCount: SEATS, rules });
    const blocked = [3, 7];
    expect((await t.store.block(eventId, blocked)).ok).toBe(true);

    // Client i wants seat i % 10: 20 contenders per seat.
    const results = await race((client, i) => client.hold({ eventId, holder: `client${i}`, seats: [i % SEATS] }));

    const winners = new Map<number, number>();
    results.forEach((r, i) => {
      const seat = i % SEATS;
      if (r.ok) {
        expect(winners.has(seat), `seat ${seat} won twice`).toBe(false);
        winners.set(seat, i);
      } else {
        expect(r).toEqual({ ok: false, code: 'UNAVAILABLE', seats: [seat] });
      }
    });
    const available = [...Array(SEATS).keys()].filter((s) => !blocked.includes(s));
    expect([...winners.keys()].sort((a, b) => a - b)).toEqual(available);
    expect(results.filter((r) => !r.ok)).toHaveLength(CLIENTS - available.length);

    const state = await readRawState(t.store, eventId);
    checkInvariants(state);
    for (const [seat, client] of winners) {
      const token = state.seatHolds.get(seat)!;
      expect(state.tokens.get(token)?.h).toBe(`client${client}`);
    }
    // One change-log entry per winner plus the block.
    expect(state.seq).toBe(available.length + 1);
  });

  it('overlapping multi-seat requests: winners are disjoint and every held seat belongs to its winner', async () => {
    const eventId = 'race2';
    await t.store.createEvent({ eventId, seatCount: SEATS, rules });
    // Client i wants 3 adjacent seats starting at i % 8: heavy overlap.
    const wants = clients.map((_, i) => [i % 8, (i % 8) + 1, (i % 8) + 2]);
    const results = await race((client, i) => client.hold({ eventId, holder: `client${i}`, seats: wants[i]! }));

    const state = await readRawState(t.store, eventId);
    checkInvariants(state);
    const owner = new Map<number, number>();
    results.forEach((r, i) => {
      if (!r.ok) {
        expect(r.code).toBe('UNAVAILABLE');
        // Every seat named as unavailable really is held by someone else.
        for (const seat of r.seats ?? []) expect(state.status[seat]).toBe(1);
        expect(r.seats!.length).toBeGreaterThan(0);
        return;
      }
      for (const seat of wants[i]!) {
        expect(owner.has(seat), `seat ${seat} won twice`).toBe(false);
        owner.set(seat, i);
        expect(state.tokens.get(state.seatHolds.get(seat)!)?.h).toBe(`client${i}`);
      }
    });
    expect(owner.size).toBeGreaterThan(0);
    // No request was refused while all of its seats stayed free.
    for (const [i, r] of results.entries()) {
      if (!r.ok) expect(wants[i]!.some((seat) => owner.has(seat))).toBe(true);
    }
  });

  it('200 clients booking with one shared idempotency key and token make exactly one booking', async () => {
    const eventId = 'race3';
    await t.store.createEvent({ eventId, seatCount: SEATS, rules });
    const hold = await t.store.hold({ eventId, holder: 'kiosk', seats: [0, 1, 2] });
    if (!hold.ok) throw new Error(hold.code);
    const results = await race((client) => client.book({ eventId, holder: 'kiosk', token: hold.token, key: 'order-1' }));
    const ids = new Set(results.map((r) => (r.ok ? r.bookingId : r.code)));
    expect(ids.size).toBe(1);
    expect(results.every((r) => r.ok)).toBe(true);
    expect(results.filter((r) => r.ok && !r.replayed)).toHaveLength(1);
    const state = await readRawState(t.store, eventId);
    checkInvariants(state);
    expect(state.outbox).toHaveLength(1);
    expect(state.status.slice(0, 3)).toEqual([2, 2, 2]);
  });

  it('racing book, release, extend and expire on one token never leave a seat both booked and free', async () => {
    const eventId = 'race4';
    let now = 1_700_000_000_000;
    const clocked = clients.slice(0, 40).map(() => t.connect({ clock: () => now }));
    const store = clocked[0]!;
    await store.createEvent({ eventId, seatCount: SEATS, rules: { ...rules, holdTtlMs: 1000 } });
    const hold = await store.hold({ eventId, holder: 'h', seats: [4, 5] });
    if (!hold.ok) throw new Error(hold.code);
    now += 1000; // exactly at expiry: book/extend/release see it expired, expire frees it
    const results = await Promise.all(
      clocked.map((c, i) =>
        i % 4 === 0 ? c.book({ eventId, holder: 'h', token: hold.token, key: `k${i}` })
        : i % 4 === 1 ? c.release({ eventId, holder: 'h', token: hold.token })
        : i % 4 === 2 ? c.extend({ eventId, holder: 'h', token: hold.token })
        : c.expire(eventId),
      ),
    );
    for (const [i, r] of results.entries()) {
      if (i % 4 === 3) expect(r.ok).toBe(true);
      else expect(r).toEqual({ ok: false, code: 'EXPIRED' });
    }
    const state = await readRawState(store, eventId);
    checkInvariants(state);
    expect(state.status.slice(4, 6)).toEqual([0, 0]);
  });
});
