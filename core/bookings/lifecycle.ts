/**
 * Booking lifecycle after the commit: reading bookings and cancelling them.
 *
 * States and the only transition: confirmed → cancelled. Every transition is
 * written to booking_history with who asked and why.
 *
 * Cancel order: Postgres first (the durable record: state, history, the
 * booked_seats rows deleted so Postgres itself would accept the seats again),
 * then Redis (cancel-4.lua frees the seats with a change-log entry, so every
 * watcher sees them free). If Redis fails in between, the seats stay BOOKED in
 * Redis — unsellable, never sold twice — and a retried cancel, which is
 * idempotent, frees them; a rebuild from Postgres would too.
 */
import type pg from 'pg';
import type { ErrorCode } from '../errors.js';
import type { SeatStore } from '../store/seat-store.js';
import type { BookingState } from './commits.js';
import { REFERENCE } from './reference.js';
import { Rollback, inTransaction } from './transaction.js';

export const BOOKING_TRANSITIONS: Readonly<Record<BookingState, readonly BookingState[]>> = {
  confirmed: ['cancelled'],
  cancelled: [],
};

export function canTransition(from: BookingState, to: BookingState): boolean {
  return BOOKING_TRANSITIONS[from].includes(to);
}

export interface Booking {
  id: string;
  reference: string;
  eventId: string;
  holder: string;
  key: string;
  state: BookingState;
  seats: number[];
  seq: number | null;
  epoch: number | null;
  bookedAt: string;
  committedAt: string;
  cancelledAt: string | null;
}

export interface BookingHistoryEntry {
  from: string;
  to: string;
  at: string;
  detail: unknown;
}

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

const COLUMNS = `id::text AS id, reference, event_id, holder, idempotency_key, state, seats, seq, epoch,
  booked_at, committed_at, cancelled_at`;

interface BookingRow {
  id: string;
  reference: string;
  event_id: string;
  holder: string;
  idempotency_key: string;
  state: BookingState;
  seats: number[];
  seq: string | null;
  epoch: string | null;
  booked_at: Date;
  committed_at: Date;
  cancelled_at: Date | null;
}

function toBooking(r: BookingRow): Booking {
  return {
    id: r.id,
    reference: r.reference,
    eventId: r.event_id,
    holder: r.holder,
    key: r.idempotency_key,
    state: r.state,
    seats: r.seats,
    seq: r.seq === null ? null : Number(r.seq),
    epoch: r.epoch === null ? null : Number(r.epoch),
    bookedAt: r.booked_at.toISOString(),
    committedAt: r.committed_at.toISOString(),
    cancelledAt: r.cancelled_at ? r.cancelled_at.toISOString() : null,
  };
}

export interface ListOptions {
  /** at most this many (1..500, default 100) */
  limit?: number;
  /** only this state */
  state?: BookingState;
  /** only this holder */
  holder?: string;
  /** the `next` cursor of the previous page */
  cursor?: string;
}

/** An event's bookings, newest first, a page at a time. */
export async function listBookings(pool: pg.Pool, eventId: string, options: ListOptions = {}): Promise<{ bookings: Booking[]; next: string | null }> {
  const limit = Math.min(Math.max(Math.trunc(options.limit ?? 100), 1), 500);
  const params: unknown[] = [eventId];
  const where = ['event_id = $1'];
  if (options.state) {
    params.push(options.state);
    where.push(`state = $${params.length}`);
  }
  if (options.holder) {
    params.push(options.holder);
    where.push(`holder = $${params.length}`);
  }
  const cursor = options.cursor ? decodeCursor(options.cursor) : null;
  if (cursor) {
    params.push(cursor.at, cursor.id);
    where.push(`(booked_at, id) < ($${params.length - 1}::timestamptz, $${params.length}::uuid)`);
  }
  params.push(limit + 1);
  const res = await pool.query<BookingRow>(
    `SELECT ${COLUMNS} FROM bookings WHERE ${where.join(' AND ')} ORDER BY booked_at DESC, id DESC LIMIT $${params.length}`,
    params,
  );
  const rows = res.rows.slice(0, limit);
  const last = rows[rows.length - 1];
  const next = res.rows.length > limit && last ? encodeCursor(last.booked_at, last.id) : null;
  return { bookings: rows.map(toBooking), next };
}

/** A booking of the event by id or reference, with its history; null when there is none. */
export async function getBooking(pool: pg.Pool, eventId: string, idOrReference: string): Promise<(Booking & { history: BookingHistoryEntry[] }) | null> {
  const byId = UUID.test(idOrReference);
  if (!byId && !REFERENCE.test(idOrReference)) return null;
  const res = await pool.query<BookingRow>(
    `SELECT ${COLUMNS} FROM bookings WHERE event_id = $1 AND ${byId ? 'id = $2::uuid' : 'reference = $2'}`,
    [eventId, byId ? idOrReference.toLowerCase() : idOrReference],
  );
  const row = res.rows[0];
  if (!row) return null;
  const history = await pool.query<{ from_state: string; to_state: string; at: Date; detail: unknown }>(
    'SELECT from_state, to_state, at, detail FROM booking_history WHERE booking_id = $1 ORDER BY id',
    [row.id],
  );
  return { ...toBooking(row), history: history.rows.map((h) => ({ from: h.from_state, to: h.to_state, at: h.at.toISOString(), detail: h.detail })) };
}

export type CancelResult =
  | {
      ok: true;
      booking: Booking;
      /** false when it was cancelled already (nothing changed in Postgres) */
      changed: boolean;
      /** seats set free in Redis by this call; null when Redis could not be reached (retry the cancel) */
      freed: number | null;
    }
  | { ok: false; code: Extract<ErrorCode, 'NOT_FOUND' | 'CONFLICT'>; msg: string };

export interface CancelOptions {
  /** who asked (the admin token's subject), for the history */
  by: string | null;
  reason?: string;
  onRedisError?(err: unknown): void;
}

export async function cancelBooking(pool: pg.Pool, store: SeatStore, eventId: string, idOrReference: string, options: CancelOptions): Promise<CancelResult> {
  const found = await getBooking(pool, eventId, idOrReference);
  if (!found) return { ok: false, code: 'NOT_FOUND', msg: `event ${eventId} has no booking ${idOrReference}` };
  const outcome = await inTransaction<{ booking: Booking; changed: boolean } | { refused: string }>(pool, async (client) => {
    const locked = await client.query<BookingRow>(`SELECT ${COLUMNS} FROM bookings WHERE id = $1::uuid FOR UPDATE`, [found.id]);
    const current = toBooking(locked.rows[0]!);
    if (current.state === 'cancelled') return { booking: current, changed: false };
    if (!canTransition(current.state, 'cancelled')) return new Rollback({ refused: `a ${current.state} booking cannot be cancelled` });
    const updated = await client.query<BookingRow>(
      `UPDATE bookings SET state = 'cancelled', cancelled_at = now() WHERE id = $1::uuid RETURNING ${COLUMNS}`,
      [current.id],
    );
    await client.query('DELETE FROM booked_seats WHERE booking_id = $1::uuid', [current.id]);
    await client.query('INSERT INTO booking_history (booking_id, from_state, to_state, detail) VALUES ($1, $2, $3, $4)', [
      current.id,
      current.state,
      'cancelled',
      JSON.stringify({ by: options.by, reason: options.reason ?? null }),
    ]);
    await client.query(
      "INSERT INTO seat_changes (event_id, seat, booking_id, change) SELECT $1, s, $2::uuid, 'cancelled' FROM unnest($3::int[]) AS s",
      [eventId, current.id, current.seats],
    );
    return { booking: toBooking(updated.rows[0]!), changed: true };
  });
  if ('refused' in outcome) return { ok: false, code: 'CONFLICT', msg: outcome.refused };
  const { booking, changed } = outcome;

  let freed: number | null = null;
  try {
    const r = await store.cancel({ eventId, bookingId: booking.id, key: booking.key, seats: booking.seats });
    if (r.ok) freed = r.freed;
    // NO_EVENT: Redis lost the event; its rebuild reads the cancellation from Postgres
    else if (r.code === 'NO_EVENT') freed = 0;
    else options.onRedisError?.(new Error(`cancel of ${booking.id} in Redis refused: ${r.code}`));
  } catch (err) {
    options.onRedisError?.(err);
  }
  return { ok: true, booking, changed, freed };
}

function encodeCursor(at: Date, id: string): string {
  return Buffer.from(`${at.toISOString()}|${id}`).toString('base64url');
}

export function isValidCursor(cursor: string): boolean {
  return decodeCursor(cursor) !== null;
}

function decodeCursor(cursor: string): { at: string; id: string } | null {
  const [at, id] = Buffer.from(cursor, 'base64url').toString('utf8').split('|');
  if (!at || !id || Number.isNaN(Date.parse(at)) || !UUID.test(id)) return null;
  return { at, id };
}
