/**
 * Seats Postgres has given up (a cancel, a failed payment, an expired payment
 * window) reach Redis after the commit: Postgres first, the durable record,
 * then releaseBooking-4.lua frees them for every watcher. Between the two the
 * seats stay BOOKED in Redis: unsellable, never sold twice.
 *
 * So that nothing depends on the caller living past the commit, the release
 * is a `seat_releases` row written in the same transaction. The caller
 * applies it at once and deletes the row; if Redis fails, or the process
 * dies first, `SeatReleases` finds the row later and applies it again, on
 * whichever node gets it first (`FOR UPDATE SKIP LOCKED`). Applying is
 * idempotent and order does not matter: the script frees only seats still in
 * the booking's record, and a final release covers every seat the booking
 * ever had.
 */
import type pg from 'pg';
import type { SeatStore } from '../store/seat-store.js';
import type { Booking } from './booking-rows.js';
import { inTransaction } from './transaction.js';

export type ReleaseOp = 'cancel' | 'fail' | 'unpaid';

interface ReleaseRow {
  id: string;
  booking_id: string;
  event_id: string;
  idempotency_key: string;
  seats: number[];
  final: boolean;
  op: ReleaseOp;
}

/** Writes the release into the caller's transaction; returns its id. */
export async function recordRelease(client: pg.PoolClient, r: { booking: Booking; seats: readonly number[]; final: boolean; op: ReleaseOp }): Promise<string> {
  const res = await client.query<{ id: string }>(
    'INSERT INTO seat_releases (booking_id, event_id, idempotency_key, seats, final, op) VALUES ($1, $2, $3, $4::int[], $5, $6) RETURNING id::text AS id',
    [r.booking.id, r.booking.eventId, r.booking.key, [...new Set(r.seats)].sort((a, b) => a - b), r.final, r.op],
  );
  return res.rows[0]!.id;
}

/**
 * Applies one release in Redis and deletes its row; resolves to the seats
 * freed, or null when Redis could not be reached (the row stays, to be
 * retried). An event Redis does not have needs nothing: its rebuild reads
 * Postgres.
 */
export async function applyRelease(pool: pg.Pool, store: SeatStore, releaseId: string, onError?: (err: unknown) => void): Promise<number | null> {
  const res = await pool.query<ReleaseRow>('SELECT id::text AS id, booking_id::text AS booking_id, event_id, idempotency_key, seats, final, op FROM seat_releases WHERE id = $1', [releaseId]);
  const row = res.rows[0];
  if (!row) return 0; // applied by the retrier meanwhile
  const freed = await applyRow(store, row, onError);
  if (freed !== null) await pool.query('DELETE FROM seat_releases WHERE id = $1', [releaseId]).catch((err: unknown) => onError?.(err));
  return freed;
}

async function applyRow(store: SeatStore, row: ReleaseRow, onError?: (err: unknown) => void): Promise<number | null> {
  try {
    const r = await store.releaseBooking({ eventId: row.event_id, bookingId: row.booking_id, key: row.idempotency_key, seats: row.seats, final: row.final, op: row.op });
    if (r.ok) return r.freed;
    if (r.code === 'NO_EVENT') return 0;
    // a refusal here is not retryable (another booking's key, seats out of range): say so, and drop it
    onError?.(new Error(`release ${row.id} of booking ${row.booking_id} refused by Redis: ${r.code}`));
    return 0;
  } catch (err) {
    onError?.(err);
    return null;
  }
}

export interface SeatReleasesOptions {
  pool: pg.Pool;
  store: SeatStore;
  /** how often to look for releases left behind (0: never) */
  intervalMs: number;
  /** releases younger than this are left to the caller that wrote them */
  minAgeMs?: number;
  onApplied?(count: number): void;
  onError?(err: unknown): void;
}

/** Applies releases left behind: Redis was unreachable, or the process that wrote them died. */
export class SeatReleases {
  private timer: NodeJS.Timeout | null = null;
  private running: Promise<number> | null = null;

  constructor(private readonly options: SeatReleasesOptions) {}

  start(): void {
    if (this.timer || this.options.intervalMs <= 0) return;
    this.timer = setInterval(() => {
      if (!this.running) this.running = this.retryOnce().catch((err: unknown) => (this.options.onError?.(err), 0)).finally(() => (this.running = null));
    }, this.options.intervalMs);
    this.timer.unref();
  }

  async stop(): Promise<void> {
    if (this.timer) clearInterval(this.timer);
    this.timer = null;
    await this.running;
  }

  /** One pass: up to 100 releases older than minAgeMs, claimed so that no other node applies them meanwhile. Returns how many were applied. */
  async retryOnce(): Promise<number> {
    const { pool, store } = this.options;
    const applied = await inTransaction(pool, async (client) => {
      const due = await client.query<ReleaseRow>(
        `SELECT id::text AS id, booking_id::text AS booking_id, event_id, idempotency_key, seats, final, op FROM seat_releases
          WHERE created_at <= now() - make_interval(secs => $1::float8 / 1000) ORDER BY id LIMIT 100 FOR UPDATE SKIP LOCKED`,
        [this.options.minAgeMs ?? 2000],
      );
      const done: string[] = [];
      for (const row of due.rows) if ((await applyRow(store, row, this.options.onError)) !== null) done.push(row.id);
      if (done.length > 0) await client.query('DELETE FROM seat_releases WHERE id = ANY($1::bigint[])', [done]);
      return done.length;
    });
    if (applied > 0) this.options.onApplied?.(applied);
    return applied;
  }
}
