/**
 * Reading bookings (a page of an event's, one with its history and
 * check-ins) and cancelling them, whole or some of their seats.
 *
 * Every change goes through the state graph (states.ts) in one transaction
 * with its history row and its log entry (actions.ts, transitions.ts);
 * Postgres first, then Redis frees the seats for every watcher. If Redis
 * fails in between, the seats stay BOOKED in Redis (unsellable, never sold
 * twice) until the release is applied again (seat-releases.ts).
 */
import type pg from 'pg';
import type { SeatStore } from '../store/seat-store.js';
import { runBookingAction, type ActionResult } from './actions.js';
import { BOOKING_COLUMNS, UUID, findBookingId, toBooking, type Booking, type BookingRow, type CheckIn } from './booking-rows.js';
import type { BookingState } from './states.js';

export type { Booking, CheckIn } from './booking-rows.js';
export { BOOKING_TRANSITIONS, canTransition } from './states.js';

export interface BookingHistoryEntry {
  from: string;
  to: string;
  /** book, checkout, confirm, fail, expire, cancel, cancel_seats or check_in */
  action: string | null;
  at: string;
  detail: unknown;
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
    `SELECT ${BOOKING_COLUMNS} FROM bookings WHERE ${where.join(' AND ')} ORDER BY booked_at DESC, id DESC LIMIT $${params.length}`,
    params,
  );
  const rows = res.rows.slice(0, limit);
  const last = rows[rows.length - 1];
  const next = res.rows.length > limit && last ? encodeCursor(last.booked_at, last.id) : null;
  return { bookings: rows.map(toBooking), next };
}

/** A booking of the event by id or reference, with its history and check-ins; null when there is none. */
export async function getBooking(
  pool: pg.Pool,
  eventId: string,
  idOrReference: string,
): Promise<(Booking & { history: BookingHistoryEntry[]; checkIns: CheckIn[] }) | null> {
  const id = await findBookingId(pool, idOrReference, eventId);
  if (!id) return null;
  const res = await pool.query<BookingRow>(`SELECT ${BOOKING_COLUMNS} FROM bookings WHERE id = $1::uuid`, [id]);
  const row = res.rows[0];
  if (!row) return null;
  const history = await pool.query<{ from_state: string; to_state: string; action: string | null; at: Date; detail: unknown }>(
    'SELECT from_state, to_state, action, at, detail FROM booking_history WHERE booking_id = $1 ORDER BY id',
    [row.id],
  );
  const checkIns = await pool.query<{ seat: number; at: Date; gate: string | null; checked_by: string | null }>(
    'SELECT seat, at, gate, checked_by FROM seat_checkins WHERE booking_id = $1 ORDER BY seat',
    [row.id],
  );
  return {
    ...toBooking(row),
    history: history.rows.map((h) => ({ from: h.from_state, to: h.to_state, action: h.action, at: h.at.toISOString(), detail: h.detail })),
    checkIns: checkIns.rows.map((c) => ({ seat: c.seat, at: c.at.toISOString(), gate: c.gate, by: c.checked_by })),
  };
}

export type CancelResult = ActionResult;

export interface CancelOptions {
  /** who asked (the admin token's subject), for the history */
  by: string | null;
  reason?: string;
  /** only these seats (the rest stays valid); absent: the whole booking */
  seats?: readonly number[];
  onRedisError?(err: unknown): void;
}

/**
 * Cancels a booking (pending_payment or confirmed), or some seats of it
 * (confirmed or checked in; never a seat checked in). Idempotent: a repeat
 * changes nothing (`changed: false, freed: 0`).
 */
export function cancelBooking(pool: pg.Pool, store: SeatStore, eventId: string, idOrReference: string, options: CancelOptions): Promise<CancelResult> {
  const detail = options.reason ? { reason: options.reason } : undefined;
  const request = options.seats
    ? { action: 'cancel_seats' as const, by: options.by, seats: options.seats, detail }
    : { action: 'cancel' as const, by: options.by, detail };
  return runBookingAction(pool, store, { booking: idOrReference, eventId }, request, options.onRedisError);
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
