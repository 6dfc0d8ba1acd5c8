/**
 * The bookings schema and the outbox flusher, on the real Redis and a
 * throwaway Postgres database; the flusher's reads across slots also on a
 * 3-master Redis Cluster (test/support/targets.ts).
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import pg from 'pg';
import type { Redis } from 'ioredis';
import { migrate } from '../core/bookings/migrate.js';
import { BookingFlusher, DeadLetterError, type CommittedBooking } from '../core/bookings/flusher.js';
import { REFERENCE, bookingReference } from '../core/bookings/reference.js';
import type { SeatStore } from '../core/store/index.js';
import { createTestDatabase } from './support/pg.js';
import { createTestStore, newRedis, type TestStore } from './support/redis.js';
import { testDatabaseUrl } from './support/env.js';
import { newPrefix } from './support/run.js';
import { redisTargets, targetStore } from './support/targets.js';
import { deleteKeysByPrefix } from '../core/store/index.js';

const RULES = { holdTtlMs: 60_000, maxHoldLifetimeMs: 600_000, maxSeatsPerToken: 10, maxSeatsPerHolder: 100 };

let db: Awaited<ReturnType<typeof createTestDatabase>>;
let pool: pg.Pool;
const stores: TestStore[] = [];
const clients: Redis[] = [];
const flushers: BookingFlusher[] = [];

beforeAll(async () => {
  db = await createTestDatabase(testDatabaseUrl());
  pool = new pg.Pool({ connectionString: db.url, max: 10 });
  expect(await migrate(pool)).toEqual(['001_bookings', '002_rebuild_and_cancel', '003_lifecycle', '004_ga_areas', '005_channels', '006_ga_blocks']);
});

afterAll(async () => {
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

function redisClient(): Redis {
  const c = newRedis();
  clients.push(c);
  return c;
}

function flusher(prefix: string, consumer: string, more: Partial<ConstructorParameters<typeof BookingFlusher>[0]> = {}): BookingFlusher {
  const f = new BookingFlusher({ redis: redisClient(), pool, prefix, consumer, blockMs: 200, refreshMs: 100, ...more });
  flushers.push(f);
  return f;
}

/** Creates the event and books `count` bookings of `seatsEach` seats, each by its own holder. */
async function bookMany(store: SeatStore, eventId: string, count: number, seatsEach = 1) {
  const created = await store.createEvent({ eventId, seatCount: count * seatsEach + 10, rules: RULES, layout: { name: eventId } });
  expect(created.ok).toBe(true);
  return Promise.all(
    Array.from({ length: count }, async (_, i) => {
      const seats = Array.from({ length: seatsEach }, (_, j) => i * seatsEach + j);
      const held = await store.hold({ eventId, holder: `user-${i}`, seats });
      if (!held.ok) throw new Error(`hold ${i}: ${held.code}`);
      const booked = await store.book({ eventId, holder: `user-${i}`, token: held.token, key: `key-${i}` });
      if (!booked.ok) throw new Error(`book ${i}: ${booked.code}`);
      return booked;
    }),
  );
}

async function waitFor(check: () => Promise<boolean>, timeoutMs = 15_000): Promise<void> {
  const until = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > until) throw new Error('timed out waiting');
    await new Promise((r) => setTimeout(r, 25));
  }
}

async function count(sql: string, params: unknown[] = []): Promise<number> {
  const res = await pool.query<{ n: string }>(sql, params);
  return Number(res.rows[0]!.n);
}

const bookingCount = (eventId: string) => count('SELECT count(*) AS n FROM bookings WHERE event_id = $1', [eventId]);

async function outboxState(ts: TestStore, eventId: string) {
  const outbox = ts.store.keys(eventId).outbox;
  const pending = (await ts.redis.xpending(outbox, 'flusher')) as [number, ...unknown[]];
  return { length: await ts.redis.xlen(outbox), pending: Number(pending[0]) };
}

describe('migrations', () => {
  it('apply once, also when run concurrently', async () => {
    const fresh = await createTestDatabase(testDatabaseUrl());
    try {
      const results = await Promise.all([migrate(fresh.url), migrate(fresh.url), migrate(fresh.url)]);
      // each migration applied by exactly one of the three (which one applies which is a race)
      expect(results.flat().sort()).toEqual(['001_bookings', '002_rebuild_and_cancel', '003_lifecycle', '004_ga_areas', '005_channels', '006_ga_blocks']);
      expect(await migrate(fresh.url)).toEqual([]);
      const check = new pg.Client({ connectionString: fresh.url });
      await check.connect();
      try {
        const rows = await check.query('SELECT name FROM schema_migrations ORDER BY name');
        expect(rows.rows).toEqual([{ name: '001_bookings' }, { name: '002_rebuild_and_cancel' }, { name: '003_lifecycle' }, { name: '004_ga_areas' }, { name: '005_channels' }, { name: '006_ga_blocks' }]);
      } finally {
        await check.end();
      }
    } finally {
      await fresh.drop();
    }
  });

  it('migrate(pool) on the migrated test database applies nothing', async () => {
    expect(await migrate(pool)).toEqual([]);
  });
});

describe('the database guarantee', () => {
  it('refuses a second active booking of a seat, and allows it again after a cancel', async () => {
    const insertBooking = (id: string, key: string) =>
      pool.query(
        `INSERT INTO bookings (id, reference, event_id, holder, idempotency_key, state, seats, booked_at)
         VALUES ($1, $2, 'sql-ev', 'h', $3, 'confirmed', '{5}', now())`,
        [id, bookingReference(id), key],
      );
    const a = '00000000-0000-4000-8000-00000000000a';
    const b = '00000000-0000-4000-8000-00000000000b';
    await insertBooking(a, 'ka');
    await insertBooking(b, 'kb');
    await pool.query(`INSERT INTO booked_seats (event_id, seat, booking_id) VALUES ('sql-ev', 5, $1)`, [a]);
    await expect(pool.query(`INSERT INTO booked_seats (event_id, seat, booking_id) VALUES ('sql-ev', 5, $1)`, [b])).rejects.toMatchObject({
      code: '23505',
      constraint: 'booked_seats_pkey',
    });
    // the same idempotency key twice for one event is refused as well
    await expect(insertBooking('00000000-0000-4000-8000-00000000000c', 'ka')).rejects.toMatchObject({ code: '23505' });
    // cancelling deletes the seat rows; then the seat can be booked again
    await pool.query(`UPDATE bookings SET state = 'cancelled', cancelled_at = now() WHERE id = $1`, [a]);
    await pool.query(`DELETE FROM booked_seats WHERE booking_id = $1`, [a]);
    await pool.query(`INSERT INTO booked_seats (event_id, seat, booking_id) VALUES ('sql-ev', 5, $1)`, [b]);
  });
});

describe('BookingFlusher', () => {
  it('commits the bookings made through the seat store exactly once', async () => {
    const ts = testStore();
    const eventId = 'fl-basic';
    const committed: CommittedBooking[] = [];
    const f = flusher(ts.prefix, 'one', { onCommitted: (b) => committed.push(...b) });
    const booked = await bookMany(ts.store, eventId, 20, 2);
    f.start();
    await waitFor(async () => (await bookingCount(eventId)) === 20);

    // Postgres holds exactly the bookings Redis made
    const redisBookings = Object.entries(await ts.redis.hgetall(ts.store.keys(eventId).bookings)).map(([key, json]) => {
      const b = JSON.parse(json) as { id: string; h: string; s: number[]; seq: number; at: number };
      return { id: b.id, key, holder: b.h, seats: b.s, seq: b.seq, at: b.at };
    });
    const rows = await pool.query<{ id: string; reference: string; idempotency_key: string; holder: string; state: string; seats: number[]; seq: string; booked_at: Date }>(
      'SELECT id::text, reference, idempotency_key, holder, state, seats, seq, booked_at FROM bookings WHERE event_id = $1',
      [eventId],
    );
    const byId = (a: { id: string }, b: { id: string }) => a.id.localeCompare(b.id);
    expect(rows.rows.map((r) => ({ id: r.id, key: r.idempotency_key, holder: r.holder, seats: r.seats, seq: Number(r.seq), at: r.booked_at.getTime() })).sort(byId)).toEqual(
      redisBookings.sort(byId),
    );
    expect(new Set(booked.map((b) => b.bookingId))).toEqual(new Set(rows.rows.map((r) => r.id)));
    for (const r of rows.rows) {
      expect(r.state).toBe('confirmed');
      expect(r.reference).toMatch(/^SM-[0-9A-HJKMNP-TV-Z]{8}$/);
      expect(r.reference).toBe(bookingReference(r.id));
    }

    const seats = await pool.query<{ seat: number; booking_id: string }>('SELECT seat, booking_id::text FROM booked_seats WHERE event_id = $1 ORDER BY seat', [eventId]);
    const expectedSeats = redisBookings.flatMap((b) => b.seats.map((seat) => ({ seat, booking_id: b.id }))).sort((a, b) => a.seat - b.seat);
    expect(seats.rows).toEqual(expectedSeats);
    expect(await count(`SELECT count(*) AS n FROM booking_history h JOIN bookings b ON b.id = h.booking_id WHERE b.event_id = $1 AND h.from_state = 'none' AND h.to_state = 'confirmed'`, [eventId])).toBe(20);
    expect(await count(`SELECT count(*) AS n FROM seat_changes WHERE event_id = $1 AND change = 'booked'`, [eventId])).toBe(40);
    const ev = await pool.query('SELECT seat_count, layout, settings FROM events WHERE id = $1', [eventId]);
    expect(ev.rows[0]).toMatchObject({ seat_count: 50, layout: { name: eventId }, settings: RULES });

    // acked after commit, and onCommitted told of each booking once
    await waitFor(async () => (await outboxState(ts, eventId)).pending === 0);
    expect(await outboxState(ts, eventId)).toEqual({ length: 0, pending: 0 });
    expect(committed.map((c) => c.id).sort()).toEqual(rows.rows.map((r) => r.id).sort());
    expect(committed.every((c) => REFERENCE.test(c.reference) && c.eventId === eventId)).toBe(true);

    // quiet: one more booking is committed right away (the blocking read returns at once)
    const started = Date.now();
    const [one] = await bookMany(ts.store, 'fl-basic-2', 1);
    await waitFor(async () => committed.some((c) => c.id === one!.bookingId), 5000);
    expect(Date.now() - started).toBeLessThan(1000);
  });

  it('three flushers on 300 bookings insert each exactly once and ack everything', async () => {
    const ts = testStore();
    const eventId = 'fl-three';
    const fs = ['a', 'b', 'c'].map((name) => flusher(ts.prefix, name, { batchSize: 50 }));
    fs.forEach((f) => f.start());
    await bookMany(ts.store, eventId, 300);
    await waitFor(async () => (await bookingCount(eventId)) === 300);
    await waitFor(async () => (await outboxState(ts, eventId)).length === 0);
    expect(await outboxState(ts, eventId)).toEqual({ length: 0, pending: 0 });
    expect(await count('SELECT count(DISTINCT id) AS n FROM bookings WHERE event_id = $1', [eventId])).toBe(300);
    expect(await count('SELECT count(*) AS n FROM booked_seats WHERE event_id = $1', [eventId])).toBe(300);
    expect(await count('SELECT count(*) AS n FROM seat_changes WHERE event_id = $1', [eventId])).toBe(300);
    expect(await count('SELECT count(*) AS n FROM booking_history h JOIN bookings b ON b.id = h.booking_id WHERE b.event_id = $1', [eventId])).toBe(300);
    await Promise.all(fs.map((f) => f.stop()));
    expect(fs.reduce((n, f) => n + f.stats.inserted, 0)).toBe(300);
    expect(fs.reduce((n, f) => n + f.stats.duplicates + f.stats.dead, 0)).toBe(0);
  });

  it('takes over entries a dead consumer read and never acked; a redelivered entry inserts nothing', async () => {
    const ts = testStore();
    const eventId = 'fl-crash';
    const outbox = ts.store.keys(eventId).outbox;
    await ts.store.createEvent({ eventId, seatCount: 10, rules: RULES });
    await ts.redis.xgroup('CREATE', outbox, 'flusher', '0', 'MKSTREAM');
    for (let i = 0; i < 10; i++) {
      const held = await ts.store.hold({ eventId, holder: `u${i}`, seats: [i] });
      if (!held.ok) throw new Error(held.code);
      const b = await ts.store.book({ eventId, holder: `u${i}`, token: held.token, key: `k${i}` });
      expect(b.ok).toBe(true);
    }
    // the "dead" consumer reads everything and goes away without XACK
    const read = (await ts.redis.xreadgroup('GROUP', 'flusher', 'dead', 'COUNT', 100, 'STREAMS', outbox, '>')) as [string, unknown[]][];
    expect(read[0]![1]).toHaveLength(10);

    const committed: CommittedBooking[] = [];
    const f = flusher(ts.prefix, 'rescuer', { claimIdleMs: 300, onCommitted: (b) => committed.push(...b) });
    expect(await f.flushOnce()).toBe(0); // not idle long enough yet
    expect(await bookingCount(eventId)).toBe(0);
    await new Promise((r) => setTimeout(r, 400));
    expect(await f.flushOnce()).toBe(10);
    expect(f.stats.claimed).toBe(10);
    expect(await bookingCount(eventId)).toBe(10);
    expect(await outboxState(ts, eventId)).toEqual({ length: 0, pending: 0 });

    // a crash after COMMIT but before XACK: the same entry is delivered again
    const first = committed[0]!;
    const before = await Promise.all(['bookings', 'booked_seats', 'booking_history', 'seat_changes'].map((t) => count(`SELECT count(*) AS n FROM ${t}`)));
    await ts.redis.xadd(outbox, '*', 'id', first.id, 'key', first.key, 'holder', first.holder, 'token', 'tok-again', 'seats', JSON.stringify(first.seats), 'seq', first.seq, 'epoch', 1, 'at', Date.now());
    committed.length = 0;
    expect(await f.flushOnce()).toBe(1);
    expect(f.stats.duplicates).toBe(1);
    const after = await Promise.all(['bookings', 'booked_seats', 'booking_history', 'seat_changes'].map((t) => count(`SELECT count(*) AS n FROM ${t}`)));
    expect(after).toEqual(before);
    expect(committed).toEqual([first]); // still reported: the client may never have had its durable ack
    expect(await outboxState(ts, eventId)).toEqual({ length: 0, pending: 0 });
  });

  it('moves an entry Postgres refuses to the dead-letter stream and commits the rest of the batch', async () => {
    const ts = testStore();
    const eventId = 'fl-dead';
    const outbox = ts.store.keys(eventId).outbox;
    const [taken] = await bookMany(ts.store, eventId, 3);
    const errors: unknown[] = [];
    const f = flusher(ts.prefix, 'strict', { onError: (e) => errors.push(e) });
    expect(await f.flushOnce()).toBe(3);
    // forged entries: one books seat 0 again under another booking id (must never happen; Postgres is the last line),
    // one is malformed; two good bookings share the batch
    const forged = '11111111-1111-4111-8111-111111111111';
    const good = ['22222222-2222-4222-8222-222222222222', '33333333-3333-4333-8333-333333333333'];
    const epoch = (await ts.store.meta(eventId))!.epoch;
    const entry = (id: string, key: string, seats: number[]) => ['id', id, 'key', key, 'holder', 'x', 'token', 't', 'seats', JSON.stringify(seats), 'seq', 9, 'epoch', epoch, 'at', Date.now()];
    await ts.redis.xadd(outbox, '*', ...entry(good[0]!, 'g0', [7]));
    await ts.redis.xadd(outbox, '*', ...entry(forged, 'forged', taken!.seats));
    await ts.redis.xadd(outbox, '*', 'id', 'not-a-uuid', 'seats', '[]');
    await ts.redis.xadd(outbox, '*', ...entry(good[1]!, 'g1', [8]));
    expect(await f.flushOnce()).toBe(4);
    expect(f.stats).toMatchObject({ inserted: 5, dead: 2 });
    expect(await count('SELECT count(*) AS n FROM bookings WHERE id = ANY($1::uuid[])', [good])).toBe(2);
    expect(await count('SELECT count(*) AS n FROM bookings WHERE id = $1', [forged])).toBe(0);
    const owner = await pool.query('SELECT booking_id::text FROM booked_seats WHERE event_id = $1 AND seat = $2', [eventId, taken!.seats[0]]);
    expect(owner.rows).toEqual([{ booking_id: taken!.bookingId }]);

    const dead = (await ts.redis.xrange(`${outbox}:dead`, '-', '+')) as [string, string[]][];
    expect(dead).toHaveLength(2);
    const fields = dead.map(([, f]) => Object.fromEntries(f.flatMap((v, i) => (i % 2 === 0 ? [[v, f[i + 1]]] : []))));
    expect(fields.find((d) => d.id === forged)).toMatchObject({ code: '23505', key: 'forged' });
    expect(fields.find((d) => d.id === 'not-a-uuid')).toMatchObject({ error: 'bad or missing id' });
    expect(errors).toHaveLength(2);
    expect(errors.every((e) => e instanceof DeadLetterError)).toBe(true);
    expect(await outboxState(ts, eventId)).toEqual({ length: 0, pending: 0 });
  });

  it('holds and releases (no outbox entry) do not wake the flusher; a booking wakes it at once', async () => {
    const ts = testStore();
    const eventId = 'fl-quiet';
    await bookMany(ts.store, eventId, 1);
    const redis = redisClient();
    let reads = 0;
    const xreadgroup = redis.xreadgroup.bind(redis) as (...args: unknown[]) => Promise<unknown>;
    (redis as unknown as { xreadgroup: (...args: unknown[]) => Promise<unknown> }).xreadgroup = (...args: unknown[]) => {
      reads++;
      return xreadgroup(...args);
    };
    // quiet rounds wait 10 s and the claim window comes every 15 s: within the test only a signal makes it read
    const f = new BookingFlusher({ redis, pool, prefix: ts.prefix, consumer: 'quiet', blockMs: 10_000, refreshMs: 10_000, claimIdleMs: 30_000 });
    flushers.push(f);
    f.start();
    await waitFor(async () => (await bookingCount(eventId)) === 1);
    await waitFor(async () => (await outboxState(ts, eventId)).length === 0);
    await new Promise((r) => setTimeout(r, 100)); // the round after the commit has started waiting
    const readsBefore = reads;
    for (let i = 0; i < 50; i++) {
      const held = await ts.store.hold({ eventId, holder: 'browser', seats: [5] });
      expect(held.ok).toBe(true);
      if (held.ok) expect((await ts.store.release({ eventId, holder: 'browser', token: held.token })).ok).toBe(true);
    }
    await new Promise((r) => setTimeout(r, 200));
    expect(reads - readsBefore, '100 changes without an outbox entry').toBe(0);
    const held = await ts.store.hold({ eventId, holder: 'buyer', seats: [6] });
    expect(held.ok).toBe(true);
    const started = Date.now();
    if (held.ok) expect((await ts.store.book({ eventId, holder: 'buyer', token: held.token, key: 'quiet-2' })).ok).toBe(true);
    await waitFor(async () => (await bookingCount(eventId)) === 2, 5000);
    expect(Date.now() - started, 'woken by the outbox signal, not the 10 s quiet wait').toBeLessThan(3000);
    expect(reads).toBeGreaterThan(readsBefore);
    await f.stop();
  });

  it('group commit: 500 waiting bookings take far fewer than 500 transactions', async () => {
    const ts = testStore();
    const eventId = 'fl-group';
    await bookMany(ts.store, eventId, 500);
    let calls = 0;
    const f = flusher(ts.prefix, 'grouper', { batchSize: 500, onCommitted: () => calls++ });
    f.start();
    await waitFor(async () => (await bookingCount(eventId)) === 500);
    await waitFor(async () => (await outboxState(ts, eventId)).length === 0);
    await f.stop();
    expect(f.stats.inserted).toBe(500);
    expect(calls).toBe(f.stats.transactions);
    expect(calls).toBeLessThanOrEqual(2);
  });

  it('running, an acknowledgement that fails after the commit (sent while the next round reads) leaves its entries to be read again: each booking once in Postgres, every entry acknowledged', async () => {
    const ts = testStore();
    const eventId = 'fl-ack-fails';
    const redis = redisClient();
    // the real client, whose first MULTI (the round's XACK/XDEL) fails as if Redis had gone away
    const multi = redis.multi.bind(redis);
    let failed = 0;
    (redis as unknown as { multi: () => unknown }).multi = () => {
      if (failed > 0) return multi();
      failed++;
      const chain = { xack: () => chain, xdel: () => chain, exec: () => Promise.reject(new Error('connection lost before the acknowledgement')) };
      return chain;
    };
    const errors: unknown[] = [];
    const committed: string[] = [];
    const f = flusher(ts.prefix, 'acker', { redis, batchSize: 500, onError: (e) => errors.push(e), onCommitted: (b) => committed.push(...b.map((c) => c.id)) });
    const booked = await bookMany(ts.store, eventId, 20);
    f.start();
    await waitFor(async () => (await bookingCount(eventId)) === 20 && (await ts.redis.xlen(ts.store.keys(eventId).outbox)) === 0);
    await f.stop();
    expect(failed).toBe(1);
    expect(errors.map((e) => (e as Error).message)).toEqual(['connection lost before the acknowledgement']);
    expect(await bookingCount(eventId)).toBe(20);
    expect(await count('SELECT count(*) AS n FROM booking_history h JOIN bookings b ON b.id = h.booking_id WHERE b.event_id = $1', [eventId])).toBe(20);
    expect(f.stats.inserted).toBe(20);
    // the entries of the failed acknowledgement came again, inserted nothing, and were acknowledged then
    expect(f.stats.duplicates).toBeGreaterThan(0);
    expect(new Set(committed)).toEqual(new Set(booked.map((b) => b.bookingId)));
    expect(await outboxState(ts, eventId)).toEqual({ length: 0, pending: 0 });
  });
});

describe.each(redisTargets())('the flusher on $name, events on every master', (target) => {
  it('bookings of 12 events (one outbox per slot) are committed once each, a new event announced is read at once, and every outbox ends empty', async () => {
    const prefix = newPrefix();
    const { store, close } = targetStore(target, prefix);
    const client = target.client();
    try {
      const committed: CommittedBooking[] = [];
      const f = new BookingFlusher({ redis: client, pool, prefix, consumer: 'slots', blockMs: 200, refreshMs: 100, onCommitted: (b) => committed.push(...b) });
      flushers.push(f);
      const events = Array.from({ length: 12 }, (_, i) => `fl-slot-${target.cluster ? 'c' : 's'}-${i}`);
      // a flusher running before the events exist: each is announced, then signalled
      f.start();
      const booked = (await Promise.all(events.map((eventId) => bookMany(store, eventId, 5)))).flat();
      await waitFor(async () => committed.length === booked.length);
      expect(new Set(committed.map((c) => c.id))).toEqual(new Set(booked.map((b) => b.bookingId)));
      for (const eventId of events) expect(await bookingCount(eventId)).toBe(5);
      await waitFor(async () => (await Promise.all(events.map((e) => store.redis.xlen(store.keys(e).outbox)))).every((n) => n === 0));
      // quiet: one more booking is committed at once (its signal, not a poll)
      const started = Date.now();
      const [one] = await bookMany(store, `${events[0]}-late`, 1);
      await waitFor(async () => committed.some((c) => c.id === one!.bookingId), 5000);
      expect(Date.now() - started).toBeLessThan(1000);
      await f.stop();
      expect(f.stats.inserted).toBe(booked.length + 1);
    } finally {
      if (!target.cluster) await deleteKeysByPrefix(store.redis, prefix);
      await close();
      await client.quit().catch(() => client.disconnect());
    }
  });
});
