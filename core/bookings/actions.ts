/**
 * Running one action on one booking, the whole way: find it, apply the
 * action in a transaction with the row locked (transitions.ts) together with
 * its log entry, commit, then free the seats it gave up in Redis
 * (seat-releases.ts). Cancel, the payment callbacks and the payment-window
 * expiry all go this way.
 */
import type pg from 'pg';
import type { SeatStore } from '../store/seat-store.js';
import { findBookingId, lockBooking, type Booking } from './booking-rows.js';
import { appendToLog } from './event-log.js';
import { applyRelease } from './seat-releases.js';
import { applyAction, type ActionOutcome, type ActionRequest } from './transitions.js';
import { Rollback, inTransaction } from './transaction.js';

export type ActionResult =
  | {
      ok: true;
      booking: Booking;
      /** false when the action had happened already (nothing changed in Postgres) */
      changed: boolean;
      /** seats set free in Redis by this call; null when Redis could not be reached (the release is retried in the background) */
      freed: number | null;
    }
  | { ok: false; code: 'NOT_FOUND' | 'CONFLICT' | 'BAD_SEAT'; msg: string; seats?: number[] };

export interface ActionTarget {
  /** a booking id or reference */
  booking: string;
  /** the booking's event, when the caller names one (the admin routes do; payment callbacks do not) */
  eventId?: string;
}

export async function runBookingAction(
  pool: pg.Pool,
  store: SeatStore,
  target: ActionTarget,
  request: ActionRequest,
  onRedisError?: (err: unknown) => void,
): Promise<ActionResult> {
  const id = await findBookingId(pool, target.booking, target.eventId);
  if (!id) return { ok: false, code: 'NOT_FOUND', msg: target.eventId ? `event ${target.eventId} has no booking ${target.booking}` : `there is no booking ${target.booking}` };
  const outcome = await inTransaction<ActionOutcome>(pool, async (client) => {
    const result = await applyAction(client, await lockBooking(client, id), request);
    if (!result.ok) return new Rollback(result);
    if (result.entry) await appendToLog(client, [result.entry], { seatsTaken: new Map([[result.booking.eventId, -result.seatsGivenUp]]) });
    return result;
  });
  if (!outcome.ok) return outcome;
  const freed = outcome.releaseId ? await applyRelease(pool, store, outcome.releaseId, onRedisError) : 0;
  return { ok: true, booking: outcome.booking, changed: outcome.changed, freed };
}
