/**
 * A booking Postgres refuses for good must not stay booked in Redis: the
 * flusher dead-letters it and voids it in the seat map (voidBooking-6.lua),
 * the waiting `book` and every retry answer REFUSED, and Redis and Postgres
 * agree afterwards. On the real Redis and a throwaway Postgres database.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import pg from 'pg';
import type { Redis } from 'ioredis';
import { migrate } from '../core/bookings/migrate.js';
import { BookingFlusher, DeadLetterError } from '../core/bookings/flusher.js';
import { CommitWatcher } from '../core/bookings/commits.js';
import { REFUSAL_CHANNEL, STALE_EPOCH } from '../core/bookings/codes.js';
import { bookingReference } from '../core/bookings/reference.js';
import { SCRIPTS, SeatState, parseReply, voidBooking, type SeatStore } from '../core/store/internal.js';
import { createTestDatabase } from './support/pg.js';
import { createTestStore, newRedis, type TestStore } from './support/redis.js';
import { testDatabaseUrl } from './support/env.js';
import { expectConsistent } from './support/bookings.js';

const RULES = { holdTtlMs: 60_000, maxHoldLifetimeMs: 600_000, maxSeatsPerToken: 10, maxSeatsPerHolder: 100 };
const NUL_KEY = 'order\u0000123';

let db: Awaited<ReturnType<typeof createTestDatabase>>;
let pool: pg.Pool;
const stores: TestStore[] = [];
const clients: Redis[] = [];
const flushers: BookingFlusher[] = [];
const watchers: CommitWatcher[] = [];

beforeAll(async () => {
  db = await createTestDatabase(testDatabaseUrl());
  pool = new pg.Pool({ connectionString: db.url, max: 6 });
  await migrate(pool);
});

afterAll(async () => {
  await Promise.all(watchers.map((w) => w.stop()));
  await Promise.all(flushers.map((f) => f.stop()));
  await Promise.all(stores.map((s) => s.cleanup()));
  await Promise.all(clients.map((c) => c.quit().catch(() => undefined)));
  await pool?.end();
  await db?.drop();
});

function testStore(): TestStore {
  const s = createTestStore();
  stores.push(s);
  return s;
}

function flusher(prefix: string, consumer: string, errors: unknown[] = []): BookingFlusher {
  const redis = newRedis();
  clients.push(redis);
  const f = new BookingFlusher({ redis, pool, prefix, consumer, blockMs: 200, refreshMs: 100, onError: (e) => errors.push(e) });
  flushers.push(f);
  return f;
}

/** Runs book-9.lua directly, as an outbox writer that skipped the store's input checks would. */
async function bookUnchecked(store: SeatStore, eventId: string, holder: string, token: string, key: string): Promise<{ status: string; rest: unknown[] }> {
  return parseReply(
    await store.scripts.run(SCRIPTS.book, store.keys(eventId), { now: '', holder, token, key, bookingId: crypto.randomUUID() }),
  );
}

async function seatStates(store: SeatStore, eventId: string, seats: number[]): Promise<number[]> {
  const snap = await store.snapshot(eventId);
  return seats.map((s) => snap!.status[s]!);
}

async function holdSeats(store: SeatStore, eventId: string, holder: string, seats: number[]): Promise<string> {
  const held = await store.hold({ eventId, holder, seats });
  if (!held.ok) throw new Error(`hold ${seats}: ${held.code}`);
  return held.token;
}

describe('a booking Postgres refuses for good', () => {
  it('the store refuses a key with a NUL (BAD_REQUEST) and changes nothing', async () => {
    const ts = testStore();
    await ts.store.createEvent({ eventId: 'rf-check', seatCount: 10, rules: RULES });
    const token = await holdSeats(ts.store, 'rf-check', 'ann', [1, 2]);
    const seq = (await ts.store.meta('rf-check'))!.seq;
    expect(await ts.store.book({ eventId: 'rf-check', holder: 'ann', token, key: NUL_KEY })).toEqual({ ok: false, code: 'BAD_REQUEST' });
    expect(await ts.store.book({ eventId: 'rf-check', holder: 'ann\u0007', token, key: 'k' })).toEqual({ ok: false, code: 'BAD_REQUEST' });
    expect(await ts.store.hold({ eventId: 'rf-check', holder: 'bob\ud800', seats: [3] })).toEqual({ ok: false, code: 'BAD_REQUEST' });
    expect((await ts.store.meta('rf-check'))!.seq).toBe(seq);
    expect(await seatStates(ts.store, 'rf-check', [1, 2, 3])).toEqual([SeatState.HELD, SeatState.HELD, SeatState.FREE]);
    expect(await ts.redis.xlen(ts.store.keys('rf-check').outbox)).toBe(0);
  });

  it('frees its seats in Redis with one change-log entry, dead-letters it, and every retry answers REFUSED', async () => {
    const ts = testStore();
    const eventId = 'rf-nul';
    await ts.store.createEvent({ eventId, seatCount: 10, rules: RULES });
    const token = await holdSeats(ts.store, eventId, 'ann', [1, 2]);
    // a NUL in the key: written past the store's checks, as a bug or an old writer would; Postgres refuses it (22021)
    const booked = await bookUnchecked(ts.store, eventId, 'ann', token, NUL_KEY);
    expect(booked.status).toBe('OK');
    const bookingId = String(booked.rest[0]);
    const seqAfterBook = Number(booked.rest[1]);
    expect(await seatStates(ts.store, eventId, [1, 2])).toEqual([SeatState.BOOKED, SeatState.BOOKED]);

    const errors: unknown[] = [];
    const f = flusher(ts.prefix, 'rf-nul', errors);
    expect(await f.flushOnce()).toBe(1);
    expect(f.stats).toMatchObject({ inserted: 0, dead: 1, acked: 1 });

    // Redis: the seats are free again, in exactly one change-log entry that watchers see
    expect(await seatStates(ts.store, eventId, [1, 2])).toEqual([SeatState.FREE, SeatState.FREE]);
    const changes = await ts.store.changesSince(eventId, seqAfterBook);
    expect(changes!.entries.map((e) => [e.op, e.changes])).toEqual([['void', [1, SeatState.FREE, 2, SeatState.FREE]]]);
    expect(changes!.seq).toBe(seqAfterBook + 1);

    // the entry is settled: in the dead-letter stream (with why), gone from the outbox, nothing pending
    const keys = ts.store.keys(eventId);
    const dead = (await ts.redis.xrange(keys.deadLetters, '-', '+')) as [string, string[]][];
    expect(dead).toHaveLength(1);
    const fields = Object.fromEntries(dead[0]![1].flatMap((v, i, all) => (i % 2 === 0 ? [[v, all[i + 1]]] : [])));
    expect(fields).toMatchObject({ id: bookingId, key: NUL_KEY, code: '22021', consumer: 'rf-nul' });
    expect(await ts.redis.xlen(keys.outbox)).toBe(0);
    expect(Number(((await ts.redis.xpending(keys.outbox, 'flusher')) as [number])[0])).toBe(0);
    expect(errors).toHaveLength(1);
    expect(errors[0]).toBeInstanceOf(DeadLetterError);
    expect(errors[0]).toMatchObject({ code: '22021', bookingId });

    // a retried book with the same key and token answers REFUSED, for good (not PENDING), and books nothing
    for (let i = 0; i < 2; i++) expect(await bookUnchecked(ts.store, eventId, 'ann', token, NUL_KEY)).toEqual({ status: 'REFUSED', rest: [] });
    expect(await ts.redis.xlen(keys.outbox)).toBe(0);

    // Postgres has nothing; Redis and Postgres agree; the seats can be held and booked again
    expect((await pool.query('SELECT count(*)::int AS n FROM bookings WHERE event_id = $1', [eventId])).rows[0].n).toBe(0);
    await expectConsistent(db.url, ts.store, eventId, []);
    const again = await holdSeats(ts.store, eventId, 'bob', [1, 2]);
    const rebooked = await ts.store.book({ eventId, holder: 'bob', token: again, key: 'bob-1' });
    expect(rebooked.ok).toBe(true);
    expect(await f.flushOnce()).toBe(1);
    await expectConsistent(db.url, ts.store, eventId, []);

    // settling is idempotent: the same entry again changes nothing
    const seq = (await ts.store.meta(eventId))!.seq;
    const repeat = await voidBooking(ts.redis, ts.prefix, {
      eventId, group: 'flusher', entryId: fields.entry!, freeable: [1, 2], answer: 'REFUSED', error: 'again', code: '22021', consumer: 'x',
    });
    expect(repeat).toEqual({ settled: false, marked: false, freed: 0, seq });
    expect(await seatStates(ts.store, eventId, [1, 2])).toEqual([SeatState.BOOKED, SeatState.BOOKED]);
    expect(await ts.redis.xlen(keys.deadLetters)).toBe(1);
  });

  it('a seat Postgres holds for another booking stays BOOKED; the others are freed', async () => {
    const ts = testStore();
    const eventId = 'rf-double';
    await ts.store.createEvent({ eventId, seatCount: 10, rules: RULES });
    // Postgres already has seat 5 in an active booking that this Redis never saw (e.g. an event made afresh instead of rebuilt)
    const other = '44444444-4444-4444-8444-444444444444';
    await pool.query(
      `INSERT INTO bookings (id, reference, event_id, holder, idempotency_key, state, seats, booked_at) VALUES ($1, $2, $3, 'zoe', 'zoe-1', 'confirmed', '{5}', now())`,
      [other, bookingReference(other), eventId],
    );
    await pool.query('INSERT INTO booked_seats (event_id, seat, booking_id) VALUES ($1, 5, $2)', [eventId, other]);

    const token = await holdSeats(ts.store, eventId, 'bob', [5, 6]);
    const booked = await ts.store.book({ eventId, holder: 'bob', token, key: 'bob-order' });
    if (!booked.ok) throw new Error(booked.code);
    const errors: unknown[] = [];
    const f = flusher(ts.prefix, 'rf-double', errors);
    expect(await f.flushOnce()).toBe(1);
    expect(errors[0]).toMatchObject({ code: '23505', bookingId: booked.bookingId });

    // seat 5 is truly someone else's: it stays BOOKED; seat 6 is free again, in one change-log entry
    expect(await seatStates(ts.store, eventId, [5, 6])).toEqual([SeatState.BOOKED, SeatState.FREE]);
    const changes = await ts.store.changesSince(eventId, booked.seq);
    expect(changes!.entries.map((e) => [e.op, e.changes])).toEqual([['void', [6, SeatState.FREE]]]);
    expect(await ts.store.book({ eventId, holder: 'bob', token, key: 'bob-order' })).toEqual({ ok: false, code: 'REFUSED' });
    await expectConsistent(db.url, ts.store, eventId, []);
    const owner = await pool.query('SELECT booking_id::text AS id FROM booked_seats WHERE event_id = $1', [eventId]);
    expect(owner.rows).toEqual([{ id: other }]);
  });

  it('a stale booking (its event rebuilt before the commit) frees nothing and its retry answers EXPIRED', async () => {
    const ts = testStore();
    const eventId = 'rf-stale';
    await ts.store.createEvent({ eventId, seatCount: 10, rules: RULES, epoch: 1000 });
    const token = await holdSeats(ts.store, eventId, 'cy', [3]);
    const booked = await ts.store.book({ eventId, holder: 'cy', token, key: 'cy-1' });
    if (!booked.ok) throw new Error(booked.code);
    // Postgres knows a later epoch: the event was rebuilt there after this booking was made
    await pool.query(`INSERT INTO events (id, epoch) VALUES ($1, 2000)`, [eventId]);
    const errors: unknown[] = [];
    const f = flusher(ts.prefix, 'rf-stale', errors);
    expect(await f.flushOnce()).toBe(1);
    expect(errors[0]).toMatchObject({ code: STALE_EPOCH });
    const seq = (await ts.store.meta(eventId))!.seq;
    expect(seq).toBe(booked.seq);
    expect(await seatStates(ts.store, eventId, [3])).toEqual([SeatState.BOOKED]);
    expect(await ts.store.book({ eventId, holder: 'cy', token, key: 'cy-1' })).toEqual({ ok: false, code: 'EXPIRED' });
  });

  it('a waiter on another node learns of the refusal through Postgres (REFUSAL_CHANNEL)', async () => {
    const ts = testStore();
    const eventId = 'rf-remote';
    await ts.store.createEvent({ eventId, seatCount: 10, rules: RULES });
    const token = await holdSeats(ts.store, eventId, 'dee', [4]);
    const booked = await bookUnchecked(ts.store, eventId, 'dee', token, NUL_KEY);
    const bookingId = String(booked.rest[0]);

    // the watcher of a node whose flusher is not the one that refuses: only NOTIFY can tell it
    const remote = new CommitWatcher({ databaseUrl: db.url, pool, pollMs: 100 });
    watchers.push(remote);
    remote.start();
    const heard = new pg.Client({ connectionString: db.url });
    await heard.connect();
    const payloads: string[] = [];
    heard.on('notification', (msg) => msg.channel === REFUSAL_CHANNEL && payloads.push(msg.payload ?? ''));
    await heard.query(`LISTEN ${REFUSAL_CHANNEL}`);
    try {
      await new Promise((r) => setTimeout(r, 300)); // the watcher's LISTEN is in place
      const waiting = remote.waitFor(bookingId, 10_000);
      const started = Date.now();
      await flusher(ts.prefix, 'rf-remote').flushOnce();
      expect(await waiting).toEqual({ status: 'refused', code: '22021' });
      expect(Date.now() - started).toBeLessThan(5000);
      await expect.poll(() => payloads).toEqual([`${bookingId} 22021`]);
    } finally {
      await heard.end();
    }
  });

  it('deleting the event removes its dead letters too', async () => {
    const ts = testStore();
    const eventId = 'rf-delete';
    await ts.store.createEvent({ eventId, seatCount: 10, rules: RULES });
    const token = await holdSeats(ts.store, eventId, 'eve', [0]);
    await bookUnchecked(ts.store, eventId, 'eve', token, NUL_KEY);
    await flusher(ts.prefix, 'rf-delete').flushOnce();
    const keys = ts.store.keys(eventId);
    expect(keys.deadLetters).toBe(`${ts.prefix}{${eventId}}:outbox:dead`);
    expect(await ts.redis.xlen(keys.deadLetters)).toBe(1);
    await ts.store.deleteEvent(eventId);
    expect(await ts.redis.exists(...Object.values(keys))).toBe(0);
  });
});
