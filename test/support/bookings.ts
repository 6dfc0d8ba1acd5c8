/**
 * Helpers for the booking fault tests: clients that hold and book seats and
 * remember exactly what they were told, and the consistency check between
 * what clients were told, Redis and Postgres.
 */
import { expect } from 'vitest';
import pg from 'pg';
import type { SeatStore } from '../../core/store/index.js';
import { SeatState } from '../../core/store/index.js';
import type { ServerMessage } from '../../core/protocol/index.js';
import { TestClient, type RequestBody } from './ws-client.js';
import { token } from './gateway.js';

/** One `book` a client sent: what it asked for and what it was told. */
export interface BookAttempt {
  key: string;
  tok: string;
  seats: number[];
  /** the ok reply, or the error code, or 'lost' when no answer came (connection gone) */
  outcome: { ok: true; id: string; ref: string } | { ok: false; code: string };
}

/**
 * Holds and books one seat after another (seat = first + i × stride) until
 * `stop()` says so or the connection dies; every attempt is recorded.
 */
export class Booker {
  readonly attempts: BookAttempt[] = [];
  /** error codes of holds that were refused (a seat someone else has, a rate limit, ...) */
  readonly refusedHolds: string[] = [];
  private stopped = false;
  private loop: Promise<void> | null = null;

  private constructor(
    readonly client: TestClient,
    readonly name: string,
  ) {}

  static async connect(wsUrl: string, name: string): Promise<Booker> {
    return new Booker(await TestClient.connect(wsUrl, { token: await token(name) }), name);
  }

  start(eventId: string, seats: number[]): this {
    this.loop = (async () => {
      for (const seat of seats) {
        if (this.stopped) return;
        const held = await this.send({ t: 'hold', ev: eventId, seats: [seat] });
        if (!held) return; // connection gone
        if (held.t !== 'ok') {
          this.refusedHolds.push(held.t === 'err' ? held.code : held.t);
          continue;
        }
        const attempt: BookAttempt = { key: `${this.name}-${seat}`, tok: held.tok as string, seats: [seat], outcome: { ok: false, code: 'lost' } };
        this.attempts.push(attempt);
        const reply = await this.send({ t: 'book', ev: eventId, tok: attempt.tok, key: attempt.key });
        if (!reply) return;
        attempt.outcome = reply.t === 'ok' ? { ok: true, id: reply.id as string, ref: reply.ref as string } : { ok: false, code: reply.t === 'err' ? reply.code : reply.t };
      }
    })();
    return this;
  }

  /** The reply, or null once the connection is gone (a killed server answers nothing). */
  private send(body: RequestBody): Promise<ServerMessage | null> {
    return Promise.race([this.client.request(body, 20_000).catch(() => null), this.client.closed.then(() => null)]);
  }

  /** Stops after the attempt in progress. */
  async stop(): Promise<void> {
    this.stopped = true;
    await this.loop;
  }

  /** Waits until every seat was tried (or the connection died). */
  async finished(): Promise<void> {
    await this.loop;
  }

  get acked(): BookAttempt[] {
    return this.attempts.filter((a) => a.outcome.ok);
  }
}

/** Waits until every outbox entry of the event has been flushed (the stream is empty). */
export async function waitForFlush(store: SeatStore, eventId: string, timeoutMs = 30_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  const outbox = store.keys(eventId).outbox;
  while (Date.now() < deadline) {
    if ((await store.redis.xlen(outbox)) === 0) return;
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error(`the outbox of ${eventId} was not flushed within ${timeoutMs} ms`);
}

/**
 * The invariants after a fault, once the outbox is flushed:
 * - every booking acknowledged to a client is in Postgres, exactly once, with its seats;
 * - no seat is in two confirmed bookings;
 * - the seats Redis has BOOKED are exactly the seats of Postgres's confirmed bookings.
 * Returns the number of confirmed bookings.
 */
export async function expectConsistent(databaseUrl: string, store: SeatStore, eventId: string, acked: BookAttempt[]): Promise<number> {
  const db = new pg.Client({ connectionString: databaseUrl });
  await db.connect();
  try {
    const rows = (
      await db.query<{ id: string; idempotency_key: string; seats: number[]; n: string }>(
        `SELECT id::text AS id, idempotency_key, seats, count(*) OVER (PARTITION BY id) AS n
           FROM bookings WHERE event_id = $1 AND state = 'confirmed'`,
        [eventId],
      )
    ).rows;
    const byId = new Map(rows.map((r) => [r.id, r]));
    for (const a of acked) {
      if (!a.outcome.ok) continue;
      const row = byId.get(a.outcome.id);
      expect(row, `acknowledged booking ${a.key} is in Postgres`).toBeDefined();
      expect(row!.n).toBe('1');
      expect(row!.idempotency_key).toBe(a.key);
      expect(row!.seats).toEqual(a.seats);
    }
    const seats = rows.flatMap((r) => r.seats);
    expect(new Set(seats).size, 'no seat in two confirmed bookings').toBe(seats.length);
    const active = (await db.query<{ seat: number }>('SELECT seat FROM booked_seats WHERE event_id = $1 ORDER BY seat', [eventId])).rows.map((r) => r.seat);
    expect(active).toEqual([...seats].sort((a, b) => a - b));

    const snap = await store.snapshot(eventId);
    expect(snap, `Redis has ${eventId}`).not.toBeNull();
    const bookedInRedis: number[] = [];
    snap!.status.forEach((state, seat) => {
      if (state === SeatState.BOOKED) bookedInRedis.push(seat);
    });
    expect(bookedInRedis, 'Redis and Postgres agree on the booked seats').toEqual(active);
    return rows.length;
  } finally {
    await db.end();
  }
}
