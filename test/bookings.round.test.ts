/**
 * A flusher round that holds bookings Postgres must refuse: once Postgres
 * refuses the round's statement, one query sorts the round, and only the
 * bookings that could be refused (a seat another booking holds, a seat two
 * bookings of the round take, a key in use, a general-admission area the
 * round would take past its capacity) go in one by one, in booking-id order;
 * exactly the losers are refused and dead-lettered, the others commit, and
 * nothing of a loser is written. A round whose data Postgres refuses (a data
 * error, which fails that query too) goes entry by entry with the same
 * outcome. On the real Redis and a throwaway Postgres database.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import pg from 'pg';
import type { Redis } from 'ioredis';
import { migrate } from '../core/bookings/migrate.js';
import { BookingFlusher, DeadLetterError } from '../core/bookings/flusher.js';
import { bookingReference } from '../core/bookings/reference.js';
import { createTestDatabase } from './support/pg.js';
import { createTestStore, newRedis, type TestStore } from './support/redis.js';
import { testDatabaseUrl } from './support/env.js';

const RULES = { holdTtlMs: 60_000, maxHoldLifetimeMs: 600_000, maxSeatsPerToken: 10, maxSeatsPerHolder: 100 };

let db: Awaited<ReturnType<typeof createTestDatabase>>;
let pool: pg.Pool;
const stores: TestStore[] = [];
const clients: Redis[] = [];

beforeAll(async () => {
  db = await createTestDatabase(testDatabaseUrl());
  pool = new pg.Pool({ connectionString: db.url, max: 4 });
  await migrate(pool);
});

afterAll(async () => {
  await Promise.all(stores.map((s) => s.cleanup()));
  await Promise.all(clients.map((c) => c.quit().catch(() => undefined)));
  await pool?.end();
  await db?.drop();
});

/** An id that sorts by `n` (the round inserts in booking-id order); `tag` (a hex digit) keeps each test's ids apart. */
const idOf = (tag: string) => (n: number) => `0000000${tag}-0000-4000-8000-${String(n).padStart(12, '0')}`;

interface Forged {
  n: number;
  key?: string;
  holder?: string;
  seats?: number[];
  ga?: Record<string, number>;
}

async function setUp(eventId: string, id: (n: number) => string) {
  const ts = createTestStore();
  stores.push(ts);
  await ts.store.createEvent({ eventId, seatCount: 40, rules: RULES, layout: { name: eventId } });
  const redis = newRedis();
  clients.push(redis);
  const errors: unknown[] = [];
  const flusher = new BookingFlusher({ redis, pool, prefix: ts.prefix, consumer: 'round', blockMs: 200, refreshMs: 100, onError: (e) => errors.push(e) });
  // a booking the round will see again (delivered twice), committed first through the store
  const held = await ts.store.hold({ eventId, holder: 'amy', seats: [0] });
  if (!held.ok) throw new Error(held.code);
  const first = await ts.store.book({ eventId, holder: 'amy', token: held.token, key: 'amy-1' });
  if (!first.ok) throw new Error(first.code);
  expect(await flusher.flushOnce()).toBe(1);
  // Postgres has seat 5 and key zoe-1 in a booking this Redis never saw; area 0 holds 3 places
  const other = id(999);
  await pool.query(
    `INSERT INTO bookings (id, reference, event_id, holder, idempotency_key, state, seats, booked_at) VALUES ($1, $2, $3, 'zoe', 'zoe-1', 'confirmed', '{5}', now())`,
    [other, bookingReference(other), eventId],
  );
  await pool.query('INSERT INTO booked_seats (event_id, seat, booking_id) VALUES ($1, 5, $2)', [eventId, other]);
  await pool.query('INSERT INTO ga_areas (event_id, area, capacity) VALUES ($1, 0, 3)', [eventId]);
  const outbox = ts.store.keys(eventId).outbox;
  const epoch = (await ts.store.meta(eventId))!.epoch;
  const forge = (f: Forged) =>
    ts.redis.xadd(
      outbox, '*',
      'id', id(f.n), 'key', f.key ?? `k-${f.n}`, 'holder', f.holder ?? `h-${f.n}`, 'token', 't',
      'seats', f.seats ? JSON.stringify(f.seats) : '{}', 'ga', f.ga ? JSON.stringify(f.ga) : '',
      'seq', 9, 'epoch', epoch, 'at', Date.now(),
    );
  expect(await ts.redis.xlen(outbox)).toBe(0); // the first entry was acknowledged and deleted
  const redeliver = () =>
    ts.redis.xadd(outbox, '*', 'id', first.bookingId, 'key', 'amy-1', 'holder', 'amy', 'token', held.token, 'seats', '[0]', 'seq', first.seq, 'epoch', epoch, 'at', Date.now());
  return { ts, flusher, errors, forge, redeliver, firstId: first.bookingId, outbox };
}

async function ids(sql: string, params: unknown[]): Promise<string[]> {
  return [...new Set((await pool.query<{ id: string }>(sql, params)).rows.map((r) => r.id))].sort();
}

/** What Postgres has of `bookings`: rows of every table a booking writes. */
async function written(eventId: string, bookings: string[]) {
  return {
    bookings: await ids('SELECT id::text AS id FROM bookings WHERE id = ANY($1::uuid[])', [bookings]),
    seats: await ids('SELECT booking_id::text AS id FROM booked_seats WHERE booking_id = ANY($1::uuid[])', [bookings]),
    history: await ids('SELECT booking_id::text AS id FROM booking_history WHERE booking_id = ANY($1::uuid[])', [bookings]),
    changes: await ids('SELECT booking_id::text AS id FROM seat_changes WHERE booking_id = ANY($1::uuid[])', [bookings]),
    places: await ids('SELECT booking_id::text AS id FROM booked_places WHERE booking_id = ANY($1::uuid[])', [bookings]),
    log: await ids("SELECT booking_id::text AS id FROM event_log WHERE event_id = $1 AND booking_id = ANY($2::uuid[]) AND type = 'booking.confirmed'", [
      eventId,
      bookings,
    ]),
  };
}

function deadCodes(errors: unknown[]): Record<string, string> {
  const out: Record<string, string> = {};
  for (const e of errors) {
    expect(e).toBeInstanceOf(DeadLetterError);
    const d = e as DeadLetterError;
    out[d.bookingId!] = d.code!;
  }
  return out;
}

describe('a round with bookings Postgres refuses', () => {
  it('refuses exactly the losers, in booking-id order, commits the others, and writes nothing of a loser', async () => {
    const eventId = 'rd-bulk';
    const id = idOf('a');
    const { ts, flusher, errors, forge, redeliver, firstId, outbox } = await setUp(eventId, id);
    await forge({ n: 1, seats: [1, 2] }); // clean
    await forge({ n: 2, seats: [5, 6] }); // seat 5 is zoe's
    await forge({ n: 3, seats: [8] }); // seat 8 taken twice in the round: the lower id wins
    await forge({ n: 4, seats: [8, 9] });
    await forge({ n: 5, seats: [10], key: 'zoe-1' }); // the key is in use
    await forge({ n: 6, ga: { 0: 2 } }); // area 0 holds 3: 2 fit, then 2 more do not, then 1 does
    await forge({ n: 7, ga: { 0: 2 } });
    await forge({ n: 8, ga: { 0: 1 } });
    await forge({ n: 9, seats: [12] }); // clean
    await redeliver(); // committed before: a duplicate, not a refusal
    const before = { ...flusher.stats };

    expect(await flusher.flushOnce()).toBe(10);

    const winners = [1, 3, 6, 8, 9].map(id);
    const losers = [2, 4, 5, 7].map(id);
    expect(flusher.stats.transactions - before.transactions).toBe(1);
    expect(flusher.stats.inserted - before.inserted).toBe(winners.length);
    expect(flusher.stats.duplicates - before.duplicates).toBe(1);
    expect(flusher.stats.dead - before.dead).toBe(losers.length);
    expect(deadCodes(errors)).toEqual({ [id(2)]: '23505', [id(4)]: '23505', [id(5)]: '23505', [id(7)]: '23514' });

    expect(await written(eventId, losers)).toEqual({ bookings: [], seats: [], history: [], changes: [], places: [], log: [] });
    const seated = [1, 3, 9].map(id);
    expect(await written(eventId, winners)).toEqual({
      bookings: winners,
      seats: seated,
      history: winners,
      changes: seated,
      places: [6, 8].map(id),
      log: winners,
    });
    const owners = await pool.query<{ seat: number; id: string }>('SELECT seat, booking_id::text AS id FROM booked_seats WHERE event_id = $1 ORDER BY seat', [eventId]);
    expect(owners.rows).toEqual([
      { seat: 0, id: firstId },
      { seat: 1, id: id(1) },
      { seat: 2, id: id(1) },
      { seat: 5, id: id(999) },
      { seat: 8, id: id(3) },
      { seat: 12, id: id(9) },
    ]);
    expect((await pool.query('SELECT booked FROM ga_areas WHERE event_id = $1 AND area = 0', [eventId])).rows).toEqual([{ booked: 3 }]);
    // the redelivered booking is written once
    expect((await written(eventId, [firstId])).history).toEqual([firstId]);
    // every entry settled: acknowledged and deleted, the losers in the dead-letter stream
    expect(await ts.redis.xlen(outbox)).toBe(0);
    const dead = (await ts.redis.xrange(`${outbox}:dead`, '-', '+')) as [string, string[]][];
    expect(dead.map(([, f]) => f[f.indexOf('id') + 1]).sort()).toEqual(losers);
  });

  it('a round whose statement is refused as a whole (a data error) goes entry by entry: the same losers, the others commit', async () => {
    const eventId = 'rd-whole';
    const id = idOf('b');
    const { flusher, errors, forge } = await setUp(eventId, id);
    await forge({ n: 1, seats: [1] }); // clean
    await forge({ n: 2, seats: [2], holder: 'nul\u0000holder' }); // Postgres refuses the text (22021), and with it the round's statement
    await forge({ n: 3, seats: [5] }); // seat 5 is zoe's
    await forge({ n: 4, ga: { 0: 4 } }); // past the area's capacity
    await forge({ n: 5, seats: [3], ga: { 0: 3 } }); // fits
    const before = { ...flusher.stats };

    expect(await flusher.flushOnce()).toBe(5);

    const winners = [1, 5].map(id);
    const losers = [2, 3, 4].map(id);
    expect(flusher.stats.inserted - before.inserted).toBe(2);
    expect(deadCodes(errors)).toEqual({ [id(2)]: '22021', [id(3)]: '23505', [id(4)]: '23514' });
    expect(await written(eventId, losers)).toEqual({ bookings: [], seats: [], history: [], changes: [], places: [], log: [] });
    expect(await written(eventId, winners)).toEqual({ bookings: winners, seats: winners, history: winners, changes: winners, places: [id(5)], log: winners });
    expect((await pool.query('SELECT booked FROM ga_areas WHERE event_id = $1 AND area = 0', [eventId])).rows).toEqual([{ booked: 3 }]);
  });
});
