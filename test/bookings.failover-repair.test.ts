/**
 * The failover repair (core/bookings/failover-repair.ts) on the real Redis and
 * Postgres, its cases staged directly: a new Redis identity with nothing lost
 * gives every event a new epoch in place (seats and holds kept); a seat
 * Postgres has booked that Redis shows free is repaired by a rebuild, even
 * without an identity change (the reconcile window); an event in agreement
 * with Postgres under the same identity is left alone, also while bookings are
 * being made and committed between the check's reads.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import pg from 'pg';
import { createEventFromLayout } from '../core/events.js';
import { generateVenue } from '../core/layout/generate-venue.js';
import { FailoverRepair } from '../core/bookings/failover-repair.js';
import { migrate } from '../core/bookings/migrate.js';
import { EventRows } from '../core/bookings/event-rows.js';
import { BookingFlusher } from '../core/bookings/flusher.js';
import { SeatState } from '../core/store/index.js';
import { createTestDatabase } from './support/pg.js';
import { createTestStore } from './support/redis.js';
import { testDatabaseUrl } from './support/env.js';

const t = createTestStore();
let db: Awaited<ReturnType<typeof createTestDatabase>>;
let pool: pg.Pool;

beforeAll(async () => {
  db = await createTestDatabase(testDatabaseUrl());
  pool = new pg.Pool({ connectionString: db.url, max: 4 });
  await migrate(pool);
});

afterAll(async () => {
  await pool?.end();
  await db?.drop();
  await t.cleanup();
});

async function event(id: string) {
  const layout = generateVenue({ seats: 100, seed: 3, name: id });
  const created = await createEventFromLayout(t.store, id, layout);
  expect(created.ok).toBe(true);
  return created;
}

describe('failover repair', () => {
  it('leaves events that agree with Postgres alone; a new identity gives each a new epoch, holds kept', async () => {
    await event('fr1');
    const repair = new FailoverRepair({ pool, store: t.store, intervalMs: 0 });
    const first = await repair.pass(); // records the identity
    expect(first).toMatchObject({ identityChanged: false, repaired: [] });
    const held = await t.store.hold({ eventId: 'fr1', holder: 'h', seats: [3, 4] });
    expect(held.ok).toBe(true);
    const before = (await t.store.meta('fr1'))!;
    expect((await repair.pass()).repaired).toEqual([]);

    // what a promoted replica looks like: the recorded run_id is not the server's
    await t.redis.hset(t.store.global.redisIdentity, 'redis', 'a-replica-promoted-since');
    const after = await repair.pass();
    expect(after.identityChanged).toBe(true);
    expect(after.repaired).toEqual([{ eventId: 'fr1', repair: { kind: 'epoch', epoch: expect.any(Number) } }]);
    const meta = (await t.store.meta('fr1'))!;
    expect(meta.epoch).toBeGreaterThan(before.epoch);
    expect(meta.seq).toBe(before.seq);
    const snap = (await t.store.snapshot('fr1'))!;
    expect([snap.status[3], snap.status[4]]).toEqual([SeatState.HELD, SeatState.HELD]);
    // recorded again: the next pass finds nothing
    expect(await repair.pass()).toMatchObject({ identityChanged: false, repaired: [] });
  });

  it('rebuilds an event whose Redis lacks a seat Postgres has booked, its holds lost and a new epoch', async () => {
    const created = await event('fr2');
    if (!created.ok) throw new Error('not created');
    await new EventRows(t.redis, pool, t.prefix).recordEvent('fr2', created.epoch);
    await pool.query(
      `INSERT INTO bookings (id, reference, event_id, holder, idempotency_key, state, seats, seq, epoch, booked_at)
       VALUES (gen_random_uuid(), 'FR2TEST1', 'fr2', 'h', 'k1', 'confirmed', '{7,8}', 5, $1, now())`,
      [created.epoch],
    );
    await pool.query(`INSERT INTO booked_seats (event_id, seat, booking_id) SELECT 'fr2', s, id FROM bookings, unnest(seats) s WHERE event_id = 'fr2'`);
    await t.store.hold({ eventId: 'fr2', holder: 'x', seats: [7] }); // a seat Postgres has booked, held again in Redis
    const repair = new FailoverRepair({ pool, store: t.store, intervalMs: 0 });
    const result = await repair.checkEvent('fr2', false);
    expect(result).toMatchObject({ kind: 'rebuilt', missingSeats: 2, committedSeq: 5 });
    const snap = (await t.store.snapshot('fr2'))!;
    expect([snap.status[7], snap.status[8]]).toEqual([SeatState.BOOKED, SeatState.BOOKED]);
    expect(snap.epoch).toBeGreaterThan(created.epoch);
    expect(snap.status.filter((s) => s === SeatState.HELD).length).toBe(0);
    expect(await repair.checkEvent('fr2', false)).toBeNull();
  });

  it('does not take a booking made and committed while it checks for one lost (between its reads)', async () => {
    const created = await event('fr3');
    if (!created.ok) throw new Error('not created');
    await new EventRows(t.redis, pool, t.prefix).recordEvent('fr3', created.epoch);
    const flusher = new BookingFlusher({ redis: t.redis, pool, prefix: t.prefix, consumer: 'fr3-test', refreshMs: 0 });
    let n = 0;
    /** a booking made in Redis and committed by the flusher, as other clients do at any moment */
    const bookOne = async () => {
      const i = n++;
      const held = await t.store.hold({ eventId: 'fr3', holder: `b${i}`, seats: [i] });
      if (!held.ok) throw new Error(`hold ${i}: ${held.code}`);
      expect((await t.store.book({ eventId: 'fr3', holder: `b${i}`, token: held.token, key: `fr3-${i}` })).ok).toBe(true);
      while ((await flusher.flushOnce()) === 0) await new Promise((r) => setTimeout(r, 5));
    };
    await bookOne();
    // every query of the check first lets a booking through: whichever of its reads comes first, one
    // booking lands between it and the next
    const racing = {
      async query(...args: Parameters<pg.Pool['query']>) {
        await bookOne();
        return (pool.query as (...a: unknown[]) => unknown)(...args);
      },
    } as unknown as pg.Pool;
    const repair = new FailoverRepair({ pool: racing, store: t.store, intervalMs: 0 });
    for (let i = 0; i < 3; i++) expect(await repair.checkEvent('fr3', false)).toBeNull();
    const snap = (await t.store.snapshot('fr3'))!;
    expect(snap.epoch).toBe(created.epoch); // not rebuilt
    expect((await pool.query("SELECT count(*)::int AS n FROM booked_seats WHERE event_id = 'fr3'")).rows[0].n).toBe(n);
  });
  it('a new epoch given in place keeps the bookings made before it: the flusher commits them, none refused as stale', async () => {
    const created = await event('fr4');
    if (!created.ok) throw new Error('not created');
    const flusher = new BookingFlusher({ redis: t.redis, pool, prefix: t.prefix, consumer: 'fr4-test', refreshMs: 0 });
    // one booking committed (the events row written at the first epoch), three more made in Redis and not yet committed
    const bookSeat = async (i: number) => {
      const held = await t.store.hold({ eventId: 'fr4', holder: `b${i}`, seats: [i] });
      if (!held.ok) throw new Error(`hold ${i}: ${held.code}`);
      expect((await t.store.book({ eventId: 'fr4', holder: `b${i}`, token: held.token, key: `fr4-${i}` })).ok).toBe(true);
    };
    await bookSeat(0);
    while ((await flusher.flushOnce()) === 0) await new Promise((r) => setTimeout(r, 5));
    for (const i of [1, 2, 3]) await bookSeat(i);

    // a failover: the identity changes, the event gets a new epoch in place before the flusher reads the three
    const repair = new FailoverRepair({ pool, store: t.store, intervalMs: 0 });
    await repair.pass();
    await t.redis.hset(t.store.global.redisIdentity, 'redis', 'a-replica-promoted-since');
    expect((await repair.pass()).repaired).toContainEqual({ eventId: 'fr4', repair: { kind: 'epoch', epoch: expect.any(Number) } });
    await bookSeat(4); // and one made in the new epoch

    let committed = 0;
    for (let tries = 0; committed < 4 && tries < 200; tries++) {
      committed += await flusher.flushOnce();
      if (committed < 4) await new Promise((r) => setTimeout(r, 5));
    }
    const booked = await pool.query<{ seat: number }>("SELECT seat FROM booked_seats WHERE event_id = 'fr4' ORDER BY seat");
    expect(booked.rows.map((r) => r.seat)).toEqual([0, 1, 2, 3, 4]);
    expect(await t.redis.xlen(`${t.store.keys('fr4').outbox}:dead`)).toBe(0);
    const snap = (await t.store.snapshot('fr4'))!;
    expect([0, 1, 2, 3, 4].map((s) => snap.status[s])).toEqual(Array(5).fill(SeatState.BOOKED));
  });
});
