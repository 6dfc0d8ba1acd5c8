/**
 * The event log on the real Postgres (and Redis, for the hold expiries):
 * positions in commit order under concurrent writers, so a reader paging
 * with `after` while they write misses nothing; an entry appended in a
 * transaction that rolls back is not in the log; expired holds reach the log
 * through the outbox once each, however often their records are delivered;
 * `event.soldout` when the last seat on sale is taken, and again after
 * seats were freed and taken.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import pg from 'pg';
import type { Redis } from 'ioredis';
import { appendToLog, readLog, type LogEntry } from '../core/bookings/event-log.js';
import { BookingFlusher } from '../core/bookings/flusher.js';
import { migrate } from '../core/bookings/migrate.js';
import { inTransaction } from '../core/bookings/transaction.js';
import { ExpirySweeper } from '../core/store/index.js';
import { createTestDatabase } from './support/pg.js';
import { createTestStore, newRedis, type TestStore } from './support/redis.js';
import { testDatabaseUrl } from './support/env.js';

let db: Awaited<ReturnType<typeof createTestDatabase>>;
let pool: pg.Pool;
let ts: TestStore;
const clients: Redis[] = [];

beforeAll(async () => {
  db = await createTestDatabase(testDatabaseUrl());
  pool = new pg.Pool({ connectionString: db.url, max: 12 });
  // an idle client the server ends (the database dropped at the end, a loaded machine's timing) is
  // not a test failure; without a listener it would be an uncaught error of the whole run
  pool.on('error', () => undefined);
  await migrate(pool);
  ts = createTestStore();
});

afterAll(async () => {
  await ts?.cleanup();
  await Promise.all(clients.map((c) => c.quit().catch(() => undefined)));
  await pool?.end();
  await db?.drop();
});

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

describe('positions', () => {
  it('follow commit order under concurrent writers: a reader paging with after misses nothing', async () => {
    const WRITERS = 8;
    const EACH = 15;
    let writing = true;
    const seen: LogEntry[] = [];
    // the reader pages all the while, as a reconciliation job would
    const reader = (async () => {
      let after = 0;
      while (writing || seen.length < WRITERS * EACH) {
        const page = await readLog(pool, 'ordered', after, 5);
        seen.push(...page.entries);
        after = page.next;
        if (page.entries.length === 0) await sleep(2);
      }
    })();
    // each writer appends in a transaction that takes its time to commit (other work after the append)
    await Promise.all(
      Array.from({ length: WRITERS }, async (_, w) => {
        for (let i = 0; i < EACH; i++) {
          await inTransaction(pool, async (client) => {
            await appendToLog(client, [{ eventId: 'ordered', type: 'event.rebuilt', bookingId: null, data: { writer: w, i } }]);
            await sleep(Math.random() * 8);
          });
        }
      }),
    );
    writing = false;
    await reader;
    expect(seen.map((e) => e.seq)).toEqual(seen.map((_, i) => i + 1));
    expect(new Set(seen.map((e) => `${e.data.writer as number}.${e.data.i as number}`)).size).toBe(WRITERS * EACH);
    // each writer's entries in the order it wrote them
    for (let w = 0; w < WRITERS; w++) {
      const mine = seen.filter((e) => e.data.writer === w).map((e) => e.data.i);
      expect(mine).toEqual([...Array(EACH).keys()]);
    }
  });

  it('an entry of a transaction that rolls back is not in the log, and its position is given again', async () => {
    await expect(
      inTransaction(pool, async (client) => {
        await appendToLog(client, [{ eventId: 'rolled', type: 'event.rebuilt', bookingId: null, data: { n: 1 } }]);
        throw new Error('the change failed');
      }),
    ).rejects.toThrow('the change failed');
    await inTransaction(pool, (client) => appendToLog(client, [{ eventId: 'rolled', type: 'event.rebuilt', bookingId: null, data: { n: 2 } }]));
    const { entries } = await readLog(pool, 'rolled', 0, 10);
    expect(entries.map((e) => [e.seq, e.data.n])).toEqual([[1, 2]]);
  });
});

describe('expired holds', () => {
  it('reach the log through the outbox once each, however often their records are delivered', async () => {
    const store = ts.store;
    const eventId = 'holds';
    expect((await store.createEvent({ eventId, seatCount: 30, rules: { holdTtlMs: 300, maxHoldLifetimeMs: 300, maxSeatsPerToken: 5, maxSeatsPerHolder: 30 } })).ok).toBe(true);
    const holds = [];
    for (let i = 0; i < 6; i++) {
      const h = await store.hold({ eventId, holder: `h${i}`, seats: [i * 2, i * 2 + 1] });
      if (!h.ok) throw new Error(h.code);
      holds.push(h);
    }
    const sweeper = new ExpirySweeper(store, { intervalMs: 50 });
    sweeper.start();
    const outbox = store.keys(eventId).outbox;
    try {
      for (let i = 0; i < 60 && (await store.redis.xlen(outbox)) < 6; i++) await sleep(50);
    } finally {
      await sweeper.stop();
    }
    const records = (await store.redis.xrange(outbox, '-', '+')) as [string, string[]][];
    expect(records).toHaveLength(6);
    // a flusher that read them and died before acking: the records are delivered again, with copies
    for (const [, fields] of records.slice(0, 3)) await store.redis.xadd(outbox, '*', ...fields);
    const redis = newRedis();
    clients.push(redis);
    const flusher = new BookingFlusher({ redis, pool, prefix: ts.prefix, consumer: 'log-test', refreshMs: 0 });
    for (let i = 0; i < 3; i++) await flusher.flushOnce();
    expect(await store.redis.xlen(outbox)).toBe(0);
    const { entries } = await readLog(pool, eventId, 0, 100);
    expect(entries.map((e) => e.type)).toEqual(Array(6).fill('hold.expired'));
    expect(entries.map((e) => e.data.token).sort()).toEqual(holds.map((h) => (h.ok ? h.token : '')).sort());
    for (const e of entries) {
      const hold = holds.find((h) => h.ok && h.token === e.data.token)!;
      expect(e.data).toEqual({ token: hold.ok && hold.token, holder: expect.stringMatching(/^h\d$/), seats: expect.any(Array), expiredAt: new Date(hold.ok ? hold.expiresAt : 0).toISOString() });
    }
    expect(flusher.stats.holdExpiries).toBe(9);
  });
});

describe('event.soldout', () => {
  it('is logged by the transaction that takes the last seat on sale, and again after seats were freed and taken', async () => {
    await pool.query("INSERT INTO events (id, epoch, seat_count) VALUES ('sold', 1, 4)");
    // one seat blocked: taken, as blocks.ts counts it
    await inTransaction(pool, async (client) => {
      await client.query("INSERT INTO blocked_seats (event_id, seat) VALUES ('sold', 3)");
      await appendToLog(client, [], { seatsTaken: new Map([['sold', 1]]) });
    });
    const take = (seats: number[]) =>
      inTransaction(pool, async (client) => {
        const id = crypto.randomUUID();
        await client.query("INSERT INTO bookings (id, reference, event_id, holder, idempotency_key, state, seats, booked_at) VALUES ($1, $2, 'sold', 'h', $2, 'confirmed', $3, now())", [id, `k-${id}`, seats]);
        await client.query("INSERT INTO booked_seats (event_id, seat, booking_id) SELECT 'sold', s, $1 FROM unnest($2::int[]) AS s", [id, seats]);
        await appendToLog(client, [], { seatsTaken: new Map([['sold', seats.length]]) });
        return id;
      });
    const types = async () => (await readLog(pool, 'sold', 0, 100)).entries.map((e) => e.type);
    await take([0]);
    expect(await types()).toEqual([]);
    const last = await take([1, 2]);
    expect(await types()).toEqual(['event.soldout']);
    expect((await readLog(pool, 'sold', 0, 100)).entries[0]!.data).toEqual({ seatCount: 4, taken: 4 });
    // a transaction taking nothing more does not log it again
    await inTransaction(pool, (client) => appendToLog(client, [], { seatsTaken: new Map([['sold', 0]]) }));
    expect(await types()).toEqual(['event.soldout']);
    // seats freed, then taken again: sold out once more
    await inTransaction(pool, async (client) => {
      await client.query('DELETE FROM booked_seats WHERE booking_id = $1', [last]);
      await appendToLog(client, [], { seatsTaken: new Map([['sold', -2]]) });
    });
    await take([1, 2]);
    expect(await types()).toEqual(['event.soldout', 'event.soldout']);
  });
});
