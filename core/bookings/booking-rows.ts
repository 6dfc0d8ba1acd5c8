/**
 * Bookings as the API shows them, read from their rows, and finding one by
 * id or reference: the reads every lifecycle operation starts from.
 */
import type pg from 'pg';
import { REFERENCE } from './reference.js';
import type { BookingState } from './states.js';

export interface Booking {
  id: string;
  reference: string;
  eventId: string;
  holder: string;
  key: string;
  state: BookingState;
  /** the booking's seats now (a partial cancel removes some) */
  seats: number[];
  /** seats cancelled from it while the rest stayed valid */
  cancelledSeats: number[];
  seq: number | null;
  epoch: number | null;
  bookedAt: string;
  committedAt: string;
  /** when an unpaid checkout expires; null for a booking made by `book` */
  payBy: string | null;
  cancelledAt: string | null;
  /** the last change of state or seats */
  updatedAt: string | null;
}

/** A seat checked in at the door: when, where (the gate) and by whom (the scanner's subject). */
export interface CheckIn {
  seat: number;
  at: string;
  gate: string | null;
  by: string | null;
}

export interface BookingRow {
  id: string;
  reference: string;
  event_id: string;
  holder: string;
  idempotency_key: string;
  state: BookingState;
  seats: number[];
  cancelled_seats: number[];
  seq: string | null;
  epoch: string | null;
  booked_at: Date;
  committed_at: Date;
  pay_by: Date | null;
  cancelled_at: Date | null;
  updated_at: Date | null;
}

export const BOOKING_COLUMNS = `id::text AS id, reference, event_id, holder, idempotency_key, state, seats, cancelled_seats, seq, epoch,
  booked_at, committed_at, pay_by, cancelled_at, updated_at`;

export const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

const iso = (d: Date | null) => (d ? d.toISOString() : null);

export function toBooking(r: BookingRow): Booking {
  return {
    id: r.id,
    reference: r.reference,
    eventId: r.event_id,
    holder: r.holder,
    key: r.idempotency_key,
    state: r.state,
    seats: r.seats,
    cancelledSeats: r.cancelled_seats,
    seq: r.seq === null ? null : Number(r.seq),
    epoch: r.epoch === null ? null : Number(r.epoch),
    bookedAt: r.booked_at.toISOString(),
    committedAt: r.committed_at.toISOString(),
    payBy: iso(r.pay_by),
    cancelledAt: iso(r.cancelled_at),
    updatedAt: iso(r.updated_at),
  };
}

/** Whether `text` can name a booking at all: a uuid or an `SM-` reference. */
export function isBookingName(text: string): boolean {
  return UUID.test(text) || REFERENCE.test(text);
}

/**
 * The id of a booking named by id or reference, of `eventId` when given (the
 * payment callbacks know the booking, not the event); null when there is none.
 */
export async function findBookingId(db: pg.Pool | pg.PoolClient, idOrReference: string, eventId?: string): Promise<string | null> {
  const byId = UUID.test(idOrReference);
  if (!byId && !REFERENCE.test(idOrReference)) return null;
  const params: unknown[] = [byId ? idOrReference.toLowerCase() : idOrReference];
  let sql = `SELECT id::text AS id FROM bookings WHERE ${byId ? 'id = $1::uuid' : 'reference = $1'}`;
  if (eventId !== undefined) {
    params.push(eventId);
    sql += ' AND event_id = $2';
  }
  const res = await db.query<{ id: string }>(sql, params);
  return res.rows[0]?.id ?? null;
}

/** The booking's row, locked until the end of the transaction. */
export async function lockBooking(client: pg.PoolClient, id: string): Promise<BookingRow> {
  const res = await client.query<BookingRow>(`SELECT ${BOOKING_COLUMNS} FROM bookings WHERE id = $1::uuid FOR UPDATE`, [id]);
  return res.rows[0]!;
}

/** The JSON a log entry carries of a booking: what a receiver needs without asking back. */
export function bookingSummary(b: Booking): Record<string, unknown> {
  return {
    id: b.id,
    reference: b.reference,
    holder: b.holder,
    key: b.key,
    state: b.state,
    seats: b.seats,
    cancelledSeats: b.cancelledSeats,
    payBy: b.payBy,
  };
}
