/**
 * Changing a booking after its commit: confirm, fail, expire, cancel (whole
 * or some seats), each checked against the state graph (states.ts) and
 * applied inside the caller's transaction with the booking's row locked:
 * the row, its booked_seats, seat_changes, a booking_history row and the
 * log entry that describes it, and, when seats are given up, a seat_releases
 * row that Redis applies after the commit (seat-releases.ts).
 *
 * Repeating an action that already happened (a second confirm, a second
 * cancel of the same seats) changes nothing and is not an error: payment
 * providers and admins retry.
 */
import type pg from 'pg';
import { bookingSummary, toBooking, type Booking, type BookingRow, BOOKING_COLUMNS } from './booking-rows.js';
import type { LogEventType, NewLogEntry } from './event-log.js';
import { recordRelease, type ReleaseOp } from './seat-releases.js';
import { isActive, transitionOf, type BookingAction, type BookingState } from './states.js';

export type ChangeAction = Exclude<BookingAction, 'book' | 'checkout' | 'check_in'>;

export interface ActionRequest {
  action: ChangeAction;
  /** who asked: a token's subject, `payment-provider`, or null for the gateway itself */
  by: string | null;
  /** cancel_seats: the seats to cancel */
  seats?: readonly number[];
  /** kept in the history and the log entry (reason, payment) */
  detail?: Readonly<Record<string, string>>;
}

export type ActionOutcome =
  | {
      ok: true;
      booking: Booking;
      /** false when the action had happened already: nothing was written */
      changed: boolean;
      /** the log entry to append (changed only) */
      entry: NewLogEntry | null;
      /** the seat_releases row Redis must apply after the commit */
      releaseId: string | null;
      /** seats the booking gave up (no longer in booked_seats) */
      seatsGivenUp: number;
    }
  | { ok: false; code: 'CONFLICT' | 'BAD_SEAT'; msg: string; seats?: number[] };

const ENDED: Partial<Record<ChangeAction, { state: BookingState; op: ReleaseOp; type: LogEventType }>> = {
  fail: { state: 'failed', op: 'fail', type: 'booking.failed' },
  expire: { state: 'expired', op: 'unpaid', type: 'booking.expired' },
  cancel: { state: 'cancelled', op: 'cancel', type: 'booking.cancelled' },
};

/** Applies one action to a locked booking row, or says why it may not. */
export async function applyAction(client: pg.PoolClient, row: BookingRow, request: ActionRequest): Promise<ActionOutcome> {
  const before = toBooking(row);
  const unchanged = (): ActionOutcome => ({ ok: true, booking: before, changed: false, entry: null, releaseId: null, seatsGivenUp: 0 });
  switch (request.action) {
    case 'confirm': {
      if (before.state === 'confirmed' || before.state === 'checked_in') return unchanged();
      if (!transitionOf('confirm', before.state)) return refuse(before, 'confirm');
      const after = await update(client, before.id, "state = 'confirmed'");
      return changed(client, before, after, request, 'booking.confirmed', null, 0);
    }
    case 'fail':
    case 'expire':
    case 'cancel': {
      const end = ENDED[request.action]!;
      if (before.state === end.state) return unchanged();
      if (before.state === 'checked_in' && request.action === 'cancel') {
        return { ok: false, code: 'CONFLICT', msg: `booking ${before.reference} has seats checked in; cancel the others with seats` };
      }
      if (!transitionOf(request.action, before.state)) return refuse(before, request.action);
      return endBooking(client, before, request, end);
    }
    case 'cancel_seats':
      return cancelSeats(client, before, request);
  }
}

function refuse(b: Booking, action: BookingAction): ActionOutcome {
  return { ok: false, code: 'CONFLICT', msg: `a ${b.state} booking cannot be ${PAST[action]} (booking ${b.reference})` };
}

const PAST: Record<BookingAction, string> = {
  book: 'booked',
  checkout: 'checked out',
  confirm: 'confirmed',
  fail: 'failed',
  expire: 'expired',
  cancel: 'cancelled',
  cancel_seats: 'partly cancelled',
  check_in: 'checked in',
};

async function update(client: pg.PoolClient, id: string, set: string, params: unknown[] = []): Promise<Booking> {
  const res = await client.query<BookingRow>(`UPDATE bookings SET ${set}, updated_at = now() WHERE id = $1::uuid RETURNING ${BOOKING_COLUMNS}`, [id, ...params]);
  return toBooking(res.rows[0]!);
}

/** Fail, expire or cancel: the booking ends, every seat it had is given up. */
async function endBooking(client: pg.PoolClient, before: Booking, request: ActionRequest, end: { state: BookingState; op: ReleaseOp; type: LogEventType }): Promise<ActionOutcome> {
  const after = await update(client, before.id, `state = $2${end.state === 'cancelled' ? ', cancelled_at = now()' : ''}`, [end.state]);
  await client.query('DELETE FROM booked_seats WHERE booking_id = $1::uuid', [before.id]);
  await seatChanges(client, before, before.seats, end.state);
  // every seat it ever had: a partial cancel not yet applied in Redis is covered too (the script frees only seats still the booking's)
  const releaseId = await recordRelease(client, { booking: before, seats: [...before.seats, ...before.cancelledSeats], final: true, op: end.op });
  return changed(client, before, after, request, end.type, releaseId, before.seats.length);
}

/** Cancel some seats; the rest stays valid. All of them is a whole cancel. */
async function cancelSeats(client: pg.PoolClient, before: Booking, request: ActionRequest): Promise<ActionOutcome> {
  const wanted = [...new Set(request.seats ?? [])];
  const current = new Set(before.seats);
  const gone = new Set(before.cancelledSeats);
  const strangers = wanted.filter((s) => !current.has(s) && !gone.has(s));
  if (strangers.length > 0) return { ok: false, code: 'BAD_SEAT', msg: `booking ${before.reference} does not have these seats`, seats: strangers };
  // a cancelled booking has given every seat up already (a retry of the call that cancelled its last seats); a failed or expired one was never partly cancellable
  if (before.state === 'cancelled') return { ok: true, booking: before, changed: false, entry: null, releaseId: null, seatsGivenUp: 0 };
  if (!isActive(before.state)) return refuse(before, 'cancel_seats');
  const effective = wanted.filter((s) => current.has(s));
  if (effective.length === 0) return { ok: true, booking: before, changed: false, entry: null, releaseId: null, seatsGivenUp: 0 };
  const checkedIn = await client.query<{ seat: number }>('SELECT seat FROM seat_checkins WHERE booking_id = $1::uuid AND seat = ANY($2::int[]) ORDER BY seat', [before.id, effective]);
  if (checkedIn.rows.length > 0) {
    return { ok: false, code: 'CONFLICT', msg: `these seats of booking ${before.reference} are checked in`, seats: checkedIn.rows.map((r) => r.seat) };
  }
  if (effective.length === before.seats.length) {
    // nothing would stay: the booking ends
    if (!transitionOf('cancel', before.state)) return refuse(before, 'cancel');
    return endBooking(client, before, { ...request, action: 'cancel' }, ENDED.cancel!);
  }
  if (!transitionOf('cancel_seats', before.state)) {
    return { ok: false, code: 'CONFLICT', msg: `a ${before.state} booking is cancelled whole, not seat by seat (booking ${before.reference})` };
  }
  const remaining = before.seats.filter((s) => !effective.includes(s));
  const after = await update(client, before.id, 'seats = $2::int[], cancelled_seats = cancelled_seats || $3::int[]', [remaining, effective]);
  await client.query('DELETE FROM booked_seats WHERE booking_id = $1::uuid AND seat = ANY($2::int[])', [before.id, effective]);
  await seatChanges(client, before, effective, 'cancelled');
  const releaseId = await recordRelease(client, { booking: before, seats: effective, final: false, op: 'cancel' });
  return changed(client, before, after, { ...request, seats: effective }, 'booking.seats_cancelled', releaseId, effective.length);
}

async function seatChanges(client: pg.PoolClient, b: Booking, seats: readonly number[], change: string): Promise<void> {
  await client.query('INSERT INTO seat_changes (event_id, seat, booking_id, change) SELECT $1, s, $2::uuid, $3 FROM unnest($4::int[]) AS s', [
    b.eventId,
    b.id,
    change,
    seats,
  ]);
}

async function changed(
  client: pg.PoolClient,
  before: Booking,
  after: Booking,
  request: ActionRequest,
  type: LogEventType,
  releaseId: string | null,
  seatsGivenUp: number,
): Promise<ActionOutcome> {
  const detail: Record<string, unknown> = { by: request.by, ...request.detail };
  if (request.seats) detail.seats = [...request.seats];
  await writeHistory(client, before.id, before.state, after.state, request.action, detail);
  const entry: NewLogEntry = { eventId: before.eventId, type, bookingId: before.id, data: { booking: bookingSummary(after), from: before.state, ...detail } };
  return { ok: true, booking: after, changed: true, entry, releaseId, seatsGivenUp };
}

/** One booking_history row: an edge of the state graph, with who asked and why. */
export async function writeHistory(client: pg.PoolClient, bookingId: string, from: string, to: BookingState, action: BookingAction, detail: Record<string, unknown>): Promise<void> {
  await client.query('INSERT INTO booking_history (booking_id, from_state, to_state, action, detail) VALUES ($1, $2, $3, $4, $5)', [
    bookingId,
    from,
    to,
    action,
    JSON.stringify(detail),
  ]);
}
