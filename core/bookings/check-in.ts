/**
 * Check-in at the door: a booking's seats (all, or those scanned) are marked
 * checked in, with when, where (the gate) and by whom. The first seat turns
 * the booking `confirmed → checked_in`; further seats keep it there. Only a
 * confirmed or checked-in booking admits anyone (a booking awaiting payment,
 * cancelled, failed or expired is CONFLICT). Idempotent: a second scan of a
 * seat changes nothing and answers when and where it was first checked in.
 * Postgres only: the seat map does not change (the seats stay BOOKED).
 */
import type pg from 'pg';
import { bookingSummary, findBookingId, lockBooking, toBooking, type Booking, type BookingRow, type CheckIn, BOOKING_COLUMNS } from './booking-rows.js';
import { appendToLog } from './event-log.js';
import { transitionOf } from './states.js';
import { writeHistory } from './transitions.js';
import { Rollback, inTransaction } from './transaction.js';

export interface CheckInRequest {
  /** the booking's id or reference */
  booking: string;
  eventId: string;
  /** only these seats; absent: every seat of the booking */
  seats?: readonly number[];
  /** where: the gate or scanner */
  gate?: string;
  /** who: the door token's subject */
  by: string | null;
}

export type CheckInResult =
  | {
      ok: true;
      booking: Booking;
      /** false when every seat was checked in before */
      changed: boolean;
      /** seats checked in by this call */
      checkedIn: CheckIn[];
      /** seats checked in before: when, where and by whom, the first time */
      already: CheckIn[];
    }
  | { ok: false; code: 'NOT_FOUND' | 'CONFLICT' | 'BAD_SEAT'; msg: string; seats?: number[] };

interface CheckInRow {
  seat: number;
  at: Date;
  gate: string | null;
  checked_by: string | null;
}

const toCheckIn = (r: CheckInRow): CheckIn => ({ seat: r.seat, at: r.at.toISOString(), gate: r.gate, by: r.checked_by });

export async function checkIn(pool: pg.Pool, request: CheckInRequest): Promise<CheckInResult> {
  const id = await findBookingId(pool, request.booking, request.eventId);
  if (!id) return { ok: false, code: 'NOT_FOUND', msg: `event ${request.eventId} has no booking ${request.booking}` };
  return inTransaction<CheckInResult>(pool, async (client) => {
    const before = toBooking(await lockBooking(client, id));
    if (!transitionOf('check_in', before.state)) {
      return new Rollback({ ok: false, code: 'CONFLICT', msg: `booking ${before.reference} is ${before.state.replace('_', ' ')}: it admits no one` });
    }
    const seats = request.seats ? [...new Set(request.seats)] : before.seats;
    const cancelled = seats.filter((s) => before.cancelledSeats.includes(s) && !before.seats.includes(s));
    if (cancelled.length > 0) return new Rollback({ ok: false, code: 'CONFLICT', msg: `these seats of booking ${before.reference} were cancelled`, seats: cancelled });
    const strangers = seats.filter((s) => !before.seats.includes(s));
    if (strangers.length > 0) return new Rollback({ ok: false, code: 'BAD_SEAT', msg: `booking ${before.reference} does not have these seats`, seats: strangers });

    const inserted = await client.query<CheckInRow>(
      `INSERT INTO seat_checkins (booking_id, seat, event_id, gate, checked_by)
       SELECT $1::uuid, s, $2, $3, $4 FROM unnest($5::int[]) AS s
       ON CONFLICT (booking_id, seat) DO NOTHING
       RETURNING seat, at, gate, checked_by`,
      [before.id, before.eventId, request.gate ?? null, request.by, seats],
    );
    const fresh = inserted.rows.map((r) => r.seat);
    const earlier = await client.query<CheckInRow>(
      'SELECT seat, at, gate, checked_by FROM seat_checkins WHERE booking_id = $1::uuid AND seat = ANY($2::int[]) AND NOT (seat = ANY($3::int[])) ORDER BY seat',
      [before.id, seats, fresh],
    );
    const checkedIn = inserted.rows.map(toCheckIn).sort((a, b) => a.seat - b.seat);
    const already = earlier.rows.map(toCheckIn);
    if (fresh.length === 0) return { ok: true, booking: before, changed: false, checkedIn, already };

    const res = await client.query<BookingRow>(`UPDATE bookings SET state = 'checked_in', updated_at = now() WHERE id = $1::uuid RETURNING ${BOOKING_COLUMNS}`, [before.id]);
    const after = toBooking(res.rows[0]!);
    const detail = { by: request.by, gate: request.gate ?? null, seats: fresh.sort((a, b) => a - b) };
    await writeHistory(client, before.id, before.state, after.state, 'check_in', detail);
    await appendToLog(client, [{ eventId: before.eventId, type: 'booking.checked_in', bookingId: before.id, data: { booking: bookingSummary(after), from: before.state, ...detail } }]);
    return { ok: true, booking: after, changed: true, checkedIn, already };
  });
}
