/**
 * Rebuilding an event in Redis from Postgres, after Redis lost it (a restart
 * without persistence, eviction, a new Redis). See docs/bookings.md.
 *
 * The rebuilt event has the layout and hold rules recorded in `events`, every
 * seat of an active booking (awaiting payment, confirmed, checked in) BOOKED, every seat in `blocked_seats` BLOCKED, the
 * general-admission areas' booked and blocked places (`booked_places`, `blocked_places`), the sales channels whose
 * release_at has not passed (their free seats RESERVED, their releases scheduled), the
 * idempotency records of all its bookings, and a new epoch, so clients
 * re-snapshot. Holds are lost; bookings are not: every booking acknowledged to
 * a client was committed here before its acknowledgement.
 *
 * The events row stays locked FOR UPDATE from the read of the booked seats
 * until the new epoch is written, after Redis has the event: a flusher commit
 * (which share-locks the row) lands either before the read, and is in the
 * rebuilt map, or after the new epoch, and refuses the bookings of the old
 * epoch (see BookingFlusher.refuseStale). The rebuild is written to the
 * event's log (`event.rebuilt`) in the same transaction.
 */
import type pg from 'pg';
import type { HoldRules, RestoredBooking, SeatStore } from '../store/seat-store.js';
import { geometryOfDocument } from '../events.js';
import { Channels } from '../store/channels.js';
import { channelsToRestore } from './channels.js';
import { appendToLog } from './event-log.js';
import { isActive, type BookingState } from './states.js';
import { Rollback, inTransaction } from './transaction.js';

export type RebuildOutcome =
  | { status: 'rebuilt'; epoch: number; seatCount: number; booked: number; blocked: number; bookings: number }
  /** Redis has the event: nothing to do */
  | { status: 'present' }
  /** Postgres has no layout for the event (never recorded, or deleted on purpose) */
  | { status: 'unknown' };

const BOOKED = 2;
const BLOCKED = 3;

interface EventRow {
  epoch: string | null;
  layout: unknown;
  settings: HoldRules | null;
  seat_count: number | null;
}

interface BookingRow {
  id: string;
  idempotency_key: string;
  holder: string;
  hold_token: string | null;
  seats: number[];
  seq: string | null;
  at_ms: string;
  state: BookingState;
}

export async function rebuildEvent(pool: pg.Pool, store: SeatStore, eventId: string, now = Date.now()): Promise<RebuildOutcome> {
  if (await store.meta(eventId)) return { status: 'present' };
  return inTransaction<RebuildOutcome>(pool, async (client) => {
    const event = await client.query<EventRow>(
      'SELECT epoch, layout, settings, seat_count FROM events WHERE id = $1 AND deleted_at IS NULL FOR UPDATE',
      [eventId],
    );
    const row = event.rows[0];
    if (!row || row.layout === null || row.settings === null || !row.seat_count) return new Rollback({ status: 'unknown' });
    // one connection runs one query at a time: in turn, inside the transaction
    const booked = await client.query<{ seat: number }>('SELECT seat FROM booked_seats WHERE event_id = $1', [eventId]);
    const blocked = await client.query<{ seat: number }>('SELECT seat FROM blocked_seats WHERE event_id = $1', [eventId]);
    const bookings = await client.query<BookingRow>(
      `SELECT id::text AS id, idempotency_key, holder, hold_token, seats, seq,
              floor(extract(epoch FROM booked_at) * 1000)::bigint AS at_ms, state
         FROM bookings WHERE event_id = $1`,
      [eventId],
    );
    // general-admission areas: capacities and the places their active bookings hold (004_ga_areas.sql)
    const areas = await client.query<{ area: number; capacity: number; booked: number }>('SELECT area, capacity, booked FROM ga_areas WHERE event_id = $1 ORDER BY area', [eventId]);
    const places = await client.query<{ booking_id: string; area: number; qty: number }>('SELECT booking_id::text AS booking_id, area, qty FROM booked_places WHERE event_id = $1', [eventId]);
    // places taken off sale (006_ga_blocks.sql), as blocked_seats for seats
    const blockedPlaces = await client.query<{ area: number; qty: number }>('SELECT area, qty FROM blocked_places WHERE event_id = $1', [eventId]);
    const blockedOf = new Map(blockedPlaces.rows.map((p) => [p.area, p.qty]));
    // sales channels whose presale is not over (005_channels.sql): their free seats reserved again
    const channels = await channelsToRestore(client, eventId, now);
    const placesOf = new Map<string, [number, number][]>();
    for (const p of places.rows) placesOf.set(p.booking_id, [...(placesOf.get(p.booking_id) ?? []), [p.area, p.qty]]);
    const seatCount = row.seat_count;
    const status = new Uint8Array(seatCount);
    for (const { seat } of blocked.rows) if (seat < seatCount) status[seat] = BLOCKED;
    for (const { seat } of booked.rows) if (seat < seatCount) status[seat] = BOOKED;
    const restored: RestoredBooking[] = bookings.rows.map((b) => ({
      key: b.idempotency_key,
      id: b.id,
      holder: b.holder,
      token: b.hold_token,
      seats: b.seats,
      seq: Number(b.seq ?? 0),
      at: Number(b.at_ms),
      ended: !isActive(b.state),
      ...(placesOf.has(b.id) && { places: placesOf.get(b.id)! }),
    }));
    // a new epoch, later than any the event had: clients holding the old one re-snapshot
    const epoch = Math.max(now, Number(row.epoch ?? 0) + 1);
    const geometry = geometryOfDocument(row.layout, seatCount);
    const created = await store.createEvent({ eventId, seatCount, rules: row.settings, layout: row.layout, epoch, status, bookings: restored, ...(geometry && { geometry }),
      areaCapacities: areas.rows.map((a) => a.capacity), areasBooked: areas.rows.map((a) => a.booked), areasBlocked: areas.rows.map((a) => blockedOf.get(a.area) ?? 0), channels });
    if (!created.ok) {
      if (created.code === 'CONFLICT') return new Rollback({ status: 'present' }); // another node rebuilt it first
      throw new Error(`rebuilding ${eventId}: the seat store refused with ${created.code}`);
    }
    await new Channels(store).schedule(eventId, channels);
    await client.query('UPDATE events SET epoch = $2 WHERE id = $1', [eventId, epoch]);
    const outcome = {
      status: 'rebuilt' as const,
      epoch,
      seatCount,
      booked: status.filter((s) => s === BOOKED).length,
      blocked: status.filter((s) => s === BLOCKED).length,
      bookings: restored.length,
    };
    await appendToLog(client, [{ eventId, type: 'event.rebuilt', bookingId: null, data: { epoch, seatCount, booked: outcome.booked, blocked: outcome.blocked, bookings: outcome.bookings } }]);
    return outcome;
  });
}
