/**
 * Committing a round: the SQL and the body of the round's one transaction.
 * Bookings of an older epoch than their event's row are refused (STALE_EPOCH);
 * the rest go in with one statement (data-modifying CTEs over `unnest`
 * arrays), `ON CONFLICT (id) DO NOTHING`, with their seats, history and seat
 * changes only for rows actually inserted. When Postgres refuses part of the
 * batch, it goes entry by entry under savepoints so the rest commits; the
 * refused entries come back for the dead-letter stream. The log entries of
 * the round (each new booking, each expired hold, an event that sold out) are
 * appended in the same transaction (event-log.ts). The commit notification is
 * queued inside the transaction, so it is delivered with the commit and never
 * before it.
 */
import type pg from 'pg';
import { COMMIT_CHANNEL, STALE_EPOCH, notificationPayloads } from './codes.js';
import { refusedBooking, type DeadEntry } from './dead-letters.js';
import { addSeatsTaken, appendToLog, type NewLogEntry } from './event-log.js';
import type { BookingEntry, HoldExpiryEntry } from './outbox-entries.js';
import { bookingReference, REFERENCE_LEVELS } from './reference.js';

export interface CommittedBooking {
  id: string;
  reference: string;
  eventId: string;
  holder: string;
  /** the client's idempotency key */
  key: string;
  seats: number[];
  seq: number;
  /** the state it was committed in: confirmed (book) or pending_payment (checkout) */
  state: 'confirmed' | 'pending_payment';
}

export interface RoundOutcome {
  /** every booking of the round now in Postgres, including ones found already there */
  committed: CommittedBooking[];
  /** how many of them this round inserted */
  inserted: number;
  /** the entries Postgres refused, and the stale ones */
  refused: DeadEntry[];
}

const INSERT_SQL = `
WITH input AS (
  SELECT * FROM unnest($1::uuid[], $2::text[], $3::text[], $4::text[], $5::text[], $6::text[], $7::bigint[], $8::bigint[], $9::bigint[], $10::text[], $12::text[], $13::text[], $14::bigint[], $15::text[])
    AS t(id, reference, event_id, holder, idempotency_key, seats_json, seq, epoch, at_ms, entry_id, hold_token, state, pay_by_ms, ga_json)
), ins AS (
  INSERT INTO bookings (id, reference, event_id, holder, idempotency_key, state, seats, seq, epoch, booked_at, hold_token, pay_by)
  SELECT id, reference, event_id, holder, idempotency_key, state,
         ARRAY(SELECT jsonb_array_elements_text(input.seats_json::jsonb)::int), seq, epoch, to_timestamp(at_ms / 1000.0), hold_token,
         to_timestamp(pay_by_ms / 1000.0)
  FROM input
  ORDER BY id
  ON CONFLICT (id) DO NOTHING
  RETURNING id, reference, event_id, seats, seq, epoch, state
), booked AS (
  INSERT INTO booked_seats (event_id, seat, booking_id)
  SELECT ins.event_id, s.seat, ins.id FROM ins, unnest(ins.seats) AS s(seat)
), history AS (
  INSERT INTO booking_history (booking_id, from_state, to_state, action, detail)
  SELECT ins.id, 'none', ins.state, CASE ins.state WHEN 'pending_payment' THEN 'checkout' ELSE 'book' END,
         jsonb_build_object('seq', ins.seq, 'epoch', ins.epoch, 'entry', input.entry_id, 'consumer', $11::text)
  FROM ins JOIN input ON input.id = ins.id
), changes AS (
  INSERT INTO seat_changes (event_id, seat, booking_id, change)
  SELECT ins.event_id, s.seat, ins.id, 'booked' FROM ins, unnest(ins.seats) AS s(seat)
), places AS (
  -- general-admission places: ga_areas' CHECK refuses an area past its capacity
  INSERT INTO booked_places (booking_id, event_id, area, qty)
  SELECT ins.id, ins.event_id, p.key::int, p.value::int
  FROM ins JOIN input ON input.id = ins.id, jsonb_each_text(input.ga_json::jsonb) AS p
)
SELECT id::text AS id, reference FROM ins`;

/**
 * The body of a round's transaction over `bookings` (sorted by id, which keeps
 * lock order consistent between concurrent flushers). `consumer` is recorded
 * in each booking's history.
 */
export async function commitRound(
  client: pg.PoolClient,
  bookings: readonly BookingEntry[],
  consumer: string,
  expiries: readonly HoldExpiryEntry[] = [],
): Promise<RoundOutcome> {
  const refused: DeadEntry[] = [];
  const live = await refuseStale(client, bookings, refused);
  const references = new Map<string, string>();
  await client.query('SAVEPOINT batch');
  try {
    for (const row of await insert(client, live, 0, consumer)) references.set(row.id, row.reference);
    await client.query('RELEASE SAVEPOINT batch');
  } catch (err) {
    if (!isRefusal(err)) throw err;
    // someone in the batch is refused: go entry by entry so the rest commits
    await client.query('ROLLBACK TO SAVEPOINT batch');
    for (const b of live) {
      const outcome = await insertOne(client, b, consumer);
      if (outcome.inserted) references.set(b.id, outcome.inserted);
      else if (outcome.refused) refused.push(refusedBooking(b, outcome.refused.message, outcome.refused.code));
    }
  }
  const refusedIds = new Set(refused.map((d) => d.entryId));
  const missing = live.filter((b) => !references.has(b.id) && !refusedIds.has(b.entryId));
  const existing = new Map<string, string>();
  if (missing.length > 0) {
    // delivered again: the booking was committed before (by this or another flusher)
    const res = await client.query<{ id: string; reference: string }>(
      'SELECT id::text AS id, reference FROM bookings WHERE id = ANY($1::uuid[])',
      [missing.map((b) => b.id)],
    );
    for (const r of res.rows) existing.set(r.id, r.reference);
  }
  const committed: CommittedBooking[] = [];
  const entries: NewLogEntry[] = [];
  const seatsTaken = new Map<string, number>();
  let inserted = 0;
  for (const b of live) {
    if (refusedIds.has(b.entryId)) continue;
    const reference = references.get(b.id) ?? existing.get(b.id);
    if (reference === undefined) continue; // never expected: neither inserted nor present
    if (references.has(b.id)) {
      inserted++;
      entries.push(bookingLogEntry(b, reference));
      addSeatsTaken(seatsTaken, b.eventId, b.seats.length);
    }
    committed.push({ id: b.id, reference, eventId: b.eventId, holder: b.holder, key: b.key, seats: b.seats, seq: b.seq, state: b.state });
  }
  for (const x of expiries) entries.push(holdExpiryLogEntry(x));
  await appendToLog(client, entries, { seatsTaken });
  // delivered with the commit, never before it: a listener that hears of a booking can tell its client it is durable
  for (const payload of notificationPayloads(committed)) {
    await client.query('SELECT pg_notify($1, $2)', [COMMIT_CHANNEL, payload]);
  }
  return { committed, inserted, refused };
}

/**
 * Refuses (for the dead-letter stream) the bookings of an epoch older than the
 * event's epoch in Postgres: the event was rebuilt from Postgres after they
 * were made in Redis, so the rebuilt seat map does not have them and their
 * seats may be sold again. They were never acknowledged (acks wait for the
 * commit). The events rows stay share-locked to the commit, so a rebuild,
 * which locks its row for update, sees either all of this batch or none of it.
 */
async function refuseStale(client: pg.PoolClient, bookings: readonly BookingEntry[], refused: DeadEntry[]): Promise<BookingEntry[]> {
  const eventIds = [...new Set(bookings.map((b) => b.eventId))].sort();
  const res = await client.query<{ id: string; epoch: string | null }>(
    'SELECT id, epoch FROM events WHERE id = ANY($1::text[]) ORDER BY id FOR SHARE',
    [eventIds],
  );
  const epochs = new Map(res.rows.map((r) => [r.id, r.epoch === null ? null : Number(r.epoch)]));
  const isStale = (b: BookingEntry) => {
    const epoch = epochs.get(b.eventId);
    return epoch !== undefined && epoch !== null && b.epoch < epoch;
  };
  const stale = bookings.filter(isStale);
  if (stale.length === 0) return [...bookings];
  // an entry delivered again after its booking committed is a duplicate, not a stale booking
  const known = await client.query<{ id: string }>('SELECT id::text AS id FROM bookings WHERE id = ANY($1::uuid[])', [stale.map((b) => b.id)]);
  const committed = new Set(known.rows.map((r) => r.id));
  return bookings.filter((b) => {
    if (!isStale(b) || committed.has(b.id)) return true;
    const epoch = epochs.get(b.eventId)!;
    refused.push(refusedBooking(b, `event ${b.eventId} was rebuilt at epoch ${epoch} after this booking (epoch ${b.epoch}) was made`, STALE_EPOCH));
    return false;
  });
}

/** The log entry of a booking this round inserted: booking.confirmed (book) or booking.pending_payment (checkout). */
function bookingLogEntry(b: BookingEntry, reference: string): NewLogEntry {
  const booking = {
    id: b.id,
    reference,
    holder: b.holder,
    key: b.key,
    state: b.state,
    seats: b.seats,
    cancelledSeats: [],
    payBy: b.payBy === null ? null : new Date(b.payBy).toISOString(),
  };
  const type = b.state === 'pending_payment' ? 'booking.pending_payment' : 'booking.confirmed';
  return { eventId: b.eventId, type, bookingId: b.id, data: { booking, from: 'none', by: b.holder } };
}

/** An expired hold, once per token and epoch however often its outbox record is delivered. */
function holdExpiryLogEntry(x: HoldExpiryEntry): NewLogEntry {
  return {
    eventId: x.eventId,
    type: 'hold.expired',
    bookingId: null,
    data: { token: x.token, holder: x.holder, seats: x.seats, expiredAt: new Date(x.expiredAt).toISOString() },
    dedupe: `hold.expired:${x.epoch}:${x.token}`,
  };
}

async function insert(client: pg.PoolClient, rows: readonly BookingEntry[], level: number, consumer: string): Promise<{ id: string; reference: string }[]> {
  const res = await client.query<{ id: string; reference: string }>(INSERT_SQL, [
    rows.map((b) => b.id),
    rows.map((b) => bookingReference(b.id, level)),
    rows.map((b) => b.eventId),
    rows.map((b) => b.holder),
    rows.map((b) => b.key),
    rows.map((b) => JSON.stringify(b.seats)),
    rows.map((b) => b.seq),
    rows.map((b) => b.epoch),
    rows.map((b) => b.at),
    rows.map((b) => `${b.stream}/${b.entryId}`),
    consumer,
    rows.map((b) => b.token),
    rows.map((b) => b.state),
    rows.map((b) => b.payBy),
    rows.map((b) => JSON.stringify(Object.fromEntries(b.ga.map(([area, qty]) => [String(area), qty])))),
  ]);
  return res.rows;
}

/** One entry under its own savepoint; a reference collision retries with the longer form. */
async function insertOne(
  client: pg.PoolClient,
  b: BookingEntry,
  consumer: string,
): Promise<{ inserted?: string; refused?: { message: string; code: string | undefined } }> {
  for (let level = 0; level < REFERENCE_LEVELS; level++) {
    await client.query('SAVEPOINT entry');
    try {
      const rows = await insert(client, [b], level, consumer);
      await client.query('RELEASE SAVEPOINT entry');
      return rows[0] ? { inserted: rows[0].reference } : {};
    } catch (err) {
      if (!isRefusal(err)) throw err;
      await client.query('ROLLBACK TO SAVEPOINT entry');
      const e = err as { message: string; code?: string; constraint?: string; detail?: string };
      if (e.constraint === 'bookings_reference_key' && level < REFERENCE_LEVELS - 1) continue;
      return { refused: { message: e.detail ? `${e.message} (${e.detail})` : e.message, code: e.code } };
    }
  }
  return {};
}

/** Postgres refused the data itself (integrity or data error), as opposed to a failure to run. */
function isRefusal(err: unknown): boolean {
  const code = (err as { code?: unknown } | null)?.code;
  return typeof code === 'string' && (code.startsWith('23') || code.startsWith('22'));
}
