/**
 * Real concurrency against the real Redis: 500 clients, each on its own
 * connection, race for a 300-place general-admission area in quantities of
 * 1-4, while a third of them also want a numbered seat in the same hold and
 * then book. The area ends at exactly its capacity or below, never above.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestStore } from './support/redis.js';
import { checkInvariants, readRawState } from './support/store-state.js';
import type { SeatStore } from '../core/store/index.js';

const CLIENTS = 500;
const CAPACITY = 300;
const SEATS = 200;
const rules = { holdTtlMs: 60_000, maxHoldLifetimeMs: 120_000, maxSeatsPerToken: 10, maxSeatsPerHolder: 10 };

const t = createTestStore();
let clients: SeatStore[];

beforeAll(async () => {
  clients = Array.from({ length: CLIENTS }, () => t.connect());
  await Promise.all(clients.map((c) => c.redis.ping()));
});
afterAll(() => t.cleanup());

describe(`${CLIENTS} clients racing for a ${CAPACITY}-place area`, () => {
  it('never sells past capacity; every refusal is UNAVAILABLE naming the area (or the seat) and what was left', async () => {
    const eventId = 'ga-race';
    expect((await t.store.createEvent({ eventId, seatCount: SEATS, rules, areaCapacities: [CAPACITY] })).ok).toBe(true);

    // quantities 1..4 in a fixed mix (sum 1250, far over capacity); every third client also wants seat i % SEATS
    const qty = (i: number) => (i * 7) % 4 + 1;
    const wantsSeat = (i: number) => i % 3 === 0;
    const results = await Promise.all(clients.map(async (client, i) => {
      const holder = `client${i}`;
      const held = await client.hold({ eventId, holder, seats: wantsSeat(i) ? [i % SEATS] : [], ga: [[0, qty(i)]] });
      if (!held.ok) return { held };
      // half of the winners book straight away, the others keep their hold
      const booked = i % 2 === 0 ? await client.book({ eventId, holder, token: held.token, key: `k${i}` }) : undefined;
      return { held, booked };
    }));

    let won = 0;
    let bookedPlaces = 0;
    results.forEach(({ held, booked }, i) => {
      if (held.ok) {
        won += qty(i);
        if (booked) {
          expect(booked.ok).toBe(true);
          bookedPlaces += qty(i);
        }
      } else {
        expect(held.code).toBe('UNAVAILABLE');
        if (held.reason === 'ga') {
          expect(held.areas).toEqual([0]);
          expect(held.left![0]).toBeLessThan(qty(i));
        } else {
          expect(held.seats).toEqual([i % SEATS]);
        }
      }
    });
    expect(won).toBeLessThanOrEqual(CAPACITY);
    // no two clients want the same seat, so only the area refuses, and only when fewer than the
    // quantity are left: with demand four times the capacity, fewer than 4 places stay unsold
    expect(won).toBeGreaterThan(CAPACITY - 4);

    const [area] = await t.store.areaCounters(eventId);
    expect(area).toEqual({ capacity: CAPACITY, held: won - bookedPlaces, booked: bookedPlaces, blocked: 0 });
    checkInvariants(await readRawState(t.store, eventId));
  });
});
