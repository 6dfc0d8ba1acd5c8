/**
 * General-admission areas in Postgres: the flusher commits booked places into
 * booked_places, ga_areas refuses an area past its capacity by itself, an
 * ended booking gives its places back, and a rebuild restores the counters.
 * The race: 500 clients on their own connections for a 300-place area in
 * quantities of 1-4, a third with a seat in the same hold; every winner books.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import pg from 'pg';
import { migrate } from '../core/bookings/migrate.js';
import { BookingFlusher } from '../core/bookings/flusher.js';
import { rebuildEvent } from '../core/bookings/rebuild.js';
import { createEventFromLayout } from '../core/events.js';
import type { SeatStore } from '../core/store/index.js';
import { createTestDatabase } from './support/pg.js';
import { createTestStore, newRedis } from './support/redis.js';
import { checkInvariants, readRawState } from './support/store-state.js';
import { testDatabaseUrl } from './support/env.js';

const CLIENTS = 500;
const CAPACITY = 300;

let db: Awaited<ReturnType<typeof createTestDatabase>>;
let pool: pg.Pool;
const t = createTestStore();
const flusherRedis = newRedis();
let flusher: BookingFlusher;
let clients: SeatStore[];

function layout(name: string) {
  return {
    version: 1,
    name,
    categories: [{ id: 'std', label: 'Standard', price: 5000 }],
    sections: [
      { id: 'A', label: 'A', category: 'std', rows: [{ label: '1', seats: Array.from({ length: 200 }, (_, k) => ({ label: String(k + 1), x: k, y: 0 })) }] },
      { id: 'FLOOR', label: 'Floor', kind: 'ga', category: 'std', capacity: CAPACITY, shape: { x: 0, y: 5, width: 200, height: 50 } },
    ],
  };
}

beforeAll(async () => {
  db = await createTestDatabase(testDatabaseUrl());
  pool = new pg.Pool({ connectionString: db.url, max: 10 });
  await migrate(pool);
  flusher = new BookingFlusher({ redis: flusherRedis, pool, prefix: t.prefix, consumer: 'ga-test', blockMs: 200, refreshMs: 100 });
  flusher.start();
  clients = Array.from({ length: CLIENTS }, () => t.connect());
  await Promise.all(clients.map((c) => c.redis.ping()));
});

afterAll(async () => {
  await flusher?.stop();
  await t.cleanup();
  await flusherRedis.quit().catch(() => undefined);
  await pool?.end();
  await db?.drop();
});

async function waitFor(check: () => Promise<boolean>, timeoutMs = 30_000): Promise<void> {
  const until = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > until) throw new Error('timed out');
    await new Promise((r) => setTimeout(r, 100));
  }
}

async function pgArea(eventId: string) {
  const res = await pool.query<{ capacity: number; booked: number }>('SELECT capacity, booked FROM ga_areas WHERE event_id = $1 AND area = 0', [eventId]);
  return res.rows[0];
}

describe('general-admission areas in Postgres', () => {
  it(`${CLIENTS} clients race for ${CAPACITY} places: never above capacity in Redis nor in Postgres, and a rebuild restores the area`, async () => {
    const eventId = 'ga-pg-race';
    const created = await createEventFromLayout(t.store, eventId, layout(eventId));
    expect(created.ok).toBe(true);
    const qty = (i: number) => (i * 7) % 4 + 1;
    const results = await Promise.all(clients.map(async (client, i) => {
      const holder = `client${i}`;
      const held = await client.hold({ eventId, holder, seats: i % 3 === 0 ? [i % 200] : [], ga: [[0, qty(i)]] });
      if (!held.ok) return 0;
      const booked = await client.book({ eventId, holder, token: held.token, key: `k${i}` });
      expect(booked.ok).toBe(true);
      return qty(i);
    }));
    const sold = results.reduce((a, b) => a + b, 0);
    expect(sold).toBeLessThanOrEqual(CAPACITY);
    expect(sold).toBeGreaterThan(CAPACITY - 4);
    expect((await t.store.areaCounters(eventId))[0]).toEqual({ capacity: CAPACITY, held: 0, booked: sold, blocked: 0 });
    checkInvariants(await readRawState(t.store, eventId));

    const winners = results.filter((q) => q > 0).length;
    await waitFor(async () => Number((await pool.query('SELECT count(*) FROM bookings WHERE event_id = $1', [eventId])).rows[0].count) === winners);
    expect(await pgArea(eventId)).toEqual({ capacity: CAPACITY, booked: sold });
    const places = await pool.query('SELECT sum(qty)::int AS n FROM booked_places WHERE event_id = $1', [eventId]);
    expect(places.rows[0].n).toBe(sold);

    // the rebuild from Postgres gives Redis the same counters
    await t.store.deleteEvent(eventId);
    const outcome = await rebuildEvent(pool, t.store, eventId);
    expect(outcome.status).toBe('rebuilt');
    expect((await t.store.areaCounters(eventId))[0]).toEqual({ capacity: CAPACITY, held: 0, booked: sold, blocked: 0 });
  }, 60_000);

  it('refuses by itself a booking that would pass an area\'s capacity; an ended booking gives its places back', async () => {
    const eventId = 'ga-pg-check';
    expect((await createEventFromLayout(t.store, eventId, layout(eventId))).ok).toBe(true);
    const held = await t.store.hold({ eventId, holder: 'h', seats: [], ga: [[0, 2]] });
    if (!held.ok) throw new Error(held.code);
    expect((await t.store.book({ eventId, holder: 'h', token: held.token, key: 'k' })).ok).toBe(true);
    await waitFor(async () => (await pgArea(eventId))?.booked === 2);
    const booking = (await pool.query<{ id: string }>('SELECT id::text AS id FROM bookings WHERE event_id = $1', [eventId])).rows[0]!;

    // a write that bypasses Redis: Postgres itself refuses the 301st place
    await expect(pool.query('UPDATE booked_places SET qty = $2 WHERE booking_id = $1::uuid', [booking.id, CAPACITY + 1]))
      .rejects.toMatchObject({ code: '23514' });
    const other = await pool.query<{ id: string }>(
      `INSERT INTO bookings (id, reference, event_id, holder, idempotency_key, state, seats, booked_at)
       VALUES (gen_random_uuid(), 'REF-GA-X', $1, 'x', 'kx', 'confirmed', '{}', now()) RETURNING id::text AS id`, [eventId]);
    await expect(pool.query('INSERT INTO booked_places (booking_id, event_id, area, qty) VALUES ($1::uuid, $2, 0, $3)', [other.rows[0]!.id, eventId, CAPACITY - 1]))
      .rejects.toMatchObject({ code: '23514' });
    expect(await pgArea(eventId)).toEqual({ capacity: CAPACITY, booked: 2 });

    await pool.query("UPDATE bookings SET state = 'cancelled' WHERE id = $1::uuid", [booking.id]);
    expect(await pgArea(eventId)).toEqual({ capacity: CAPACITY, booked: 0 });
  });
});
