/**
 * Committing a round: the SQL and the round's one transaction. Bookings of an
 * older epoch than their event's row are refused (STALE_EPOCH); the rest go
 * in with one statement (data-modifying CTEs over `unnest` arrays), which
 * also takes the epoch check's share locks, `ON CONFLICT (id) DO NOTHING`,
 * with their seats, history and seat changes only for rows actually
 * inserted. The log entries of the round (each new booking, each expired
 * hold, an event that sold out) are appended in the same transaction
 * (event-log.ts). The commit notification is sent in the COMMIT's round trip,
 * inside the transaction, so it is delivered with the commit and never before
 * it. A round without refusals thus costs Postgres five round trips: BEGIN
 * (with a savepoint), the round's statement, the event log's two, then
 * NOTIFY with COMMIT.
 *
 * When Postgres refuses the statement, the round rolls back to the savepoint
 * and sorts its bookings in one query (SORT_SQL): the ones that could be
 * refused (a seat another booking holds or that two of the round take, a
 * general-admission area the round would take past its capacity, a key or
 * short reference in use) go in one by one under savepoints, in booking-id
 * order, and the others in one insert; so one refused booking does not fail
 * the others, and only the suspects cost a savepoint each. Should that query
 * be refused too (a data error, such as a NUL in a text), every booking goes
 * under its own savepoint. The refused entries come back for the dead-letter
 * stream.
 *
 * Some 500 lines, most of them SQL: the round's statements and the three ways
 * a round goes in (whole, sorted, one by one) read best beside each other,
 * since each must write exactly what the others would.
 */
import type pg from 'pg';
import { COMMIT_CHANNEL, STALE_EPOCH, notificationPayloads } from './codes.js';
import { refusedBooking, type DeadEntry } from './dead-letters.js';
import { addSeatsTaken, appendToLog, type NewLogEntry } from './event-log.js';
import type { BookingEntry, HoldExpiryEntry } from './outbox-entries.js';
import { bookingReference, REFERENCE_LEVELS } from './reference.js';
import { CommitWith, inTransaction } from './transaction.js';

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

/** The round's bookings as rows, from the parameters every statement here takes (roundParams): the same in each. */
const INPUT_ROWS = `
  SELECT t.ord, t.id, t.reference, t.event_id, t.holder, t.idempotency_key,
         ARRAY(SELECT jsonb_array_elements_text(t.seats_json::jsonb)::int) AS seats,
         t.seq, t.epoch, t.at_ms, t.entry_id, t.hold_token, t.state, t.pay_by_ms, t.ga_json::jsonb AS ga
  FROM unnest($1::uuid[], $2::text[], $3::text[], $4::text[], $5::text[], $6::text[], $7::bigint[], $8::bigint[], $9::bigint[], $10::text[], $12::text[], $13::text[], $14::bigint[], $15::text[])
    WITH ORDINALITY AS t(id, reference, event_id, holder, idempotency_key, seats_json, seq, epoch, at_ms, entry_id, hold_token, state, pay_by_ms, ga_json, ord)`;

/** The events' rows share-locked to the commit, in id order (see refuseStale). */
const LOCKED_EVENTS = `
  SELECT id, epoch FROM events WHERE id = ANY($3::text[]) ORDER BY id FOR SHARE`;

/**
 * The CTEs inserting the bookings of the rows `source` names (INPUT_ROWS'
 * columns), `ON CONFLICT (id) DO NOTHING`, with their seats, history, seat
 * changes and places for the rows actually inserted (`ins`).
 */
const insertBookings = (source: string) => `
ins AS (
  INSERT INTO bookings (id, reference, event_id, holder, idempotency_key, state, seats, seq, epoch, booked_at, hold_token, pay_by)
  SELECT id, reference, event_id, holder, idempotency_key, state, seats, seq, epoch, to_timestamp(at_ms / 1000.0), hold_token,
         to_timestamp(pay_by_ms / 1000.0)
  FROM ${source}
  ORDER BY id
  ON CONFLICT (id) DO NOTHING
  RETURNING id, reference, event_id, seats, seq, epoch, state
), booked AS (
  INSERT INTO booked_seats (event_id, seat, booking_id)
  SELECT ins.event_id, s.seat, ins.id FROM ins, unnest(ins.seats) AS s(seat)
), history AS (
  INSERT INTO booking_history (booking_id, from_state, to_state, action, detail)
  SELECT ins.id, 'none', ins.state, CASE ins.state WHEN 'pending_payment' THEN 'checkout' ELSE 'book' END,
         jsonb_build_object('seq', ins.seq, 'epoch', ins.epoch, 'entry', ${source}.entry_id, 'consumer', $11::text)
  FROM ins JOIN ${source} ON ${source}.id = ins.id
), changes AS (
  INSERT INTO seat_changes (event_id, seat, booking_id, change)
  SELECT ins.event_id, s.seat, ins.id, 'booked' FROM ins, unnest(ins.seats) AS s(seat)
), places AS (
  -- general-admission places: ga_areas' CHECK refuses an area past its capacity
  INSERT INTO booked_places (booking_id, event_id, area, qty)
  SELECT ins.id, ins.event_id, p.key::int, p.value::int
  FROM ins JOIN ${source} ON ${source}.id = ins.id, jsonb_each_text(${source}.ga) AS p
)`;

/** Inserts bookings already sorted out (no stale one among them): the references of those it inserted. */
const INSERT_SQL = `
WITH input AS (${INPUT_ROWS}
), ${insertBookings('input')}
SELECT id::text AS id, reference FROM ins`;

/**
 * The round's statement: the epoch check (its share locks) and the insert of
 * every booking that is not stale, with its rows. Per input row (in order,
 * `ord`): the reference when it inserted it, and the event's epoch when the
 * booking is stale. A row neither inserted nor stale is already there
 * (delivered again, or inserted meanwhile by another writer).
 */
const ROUND_SQL = `
WITH input AS (${INPUT_ROWS}
), ev AS (${LOCKED_EVENTS}
), live AS (
  SELECT input.* FROM input WHERE NOT EXISTS (SELECT 1 FROM ev WHERE ev.id = input.event_id AND input.epoch < ev.epoch)
), ${insertBookings('live')}
SELECT input.ord::int AS ord, ins.reference,
       CASE WHEN input.epoch < ev.epoch THEN ev.epoch::text END AS stale_at,
       (SELECT count(*) FROM ev)::int AS locked
FROM input
  LEFT JOIN ins ON ins.id = input.id
  LEFT JOIN ev ON ev.id = input.event_id
ORDER BY input.ord`;

/**
 * After Postgres refused the round's statement: sorts the round's bookings
 * in one query, taking the epoch check's share locks again. Per input row:
 * `known` (already there; its reference), `stale` (the event's epoch), or,
 * for the rest, `suspect` (could be refused: a seat another active booking
 * holds or that two bookings of the round take, an idempotency key or short
 * reference in use or used twice, a general-admission area the round would
 * take past its capacity, one the event does not have) or `clean` (none of
 * that: it can go in with the others of its kind, in bulk).
 */
const SORT_SQL = `
WITH input AS (${INPUT_ROWS}
), ev AS (${LOCKED_EVENTS}
), unused AS (
  SELECT $11::text AS consumer -- the parameters are ROUND_SQL's; the consumer is not needed here
), known AS (
  SELECT id, reference FROM bookings WHERE id = ANY($1::uuid[])
), fresh AS (
  SELECT input.* FROM input
  WHERE NOT EXISTS (SELECT 1 FROM known WHERE known.id = input.id)
    AND NOT EXISTS (SELECT 1 FROM ev WHERE ev.id = input.event_id AND input.epoch < ev.epoch)
), fresh_seats AS (
  SELECT f.id, f.event_id, s.seat FROM fresh f, unnest(f.seats) AS s(seat)
), fresh_places AS (
  SELECT f.id, f.event_id, p.key::int AS area, p.value::int AS qty FROM fresh f, jsonb_each_text(f.ga) AS p
), suspect AS (
  SELECT fs.id FROM fresh_seats fs JOIN booked_seats bs ON bs.event_id = fs.event_id AND bs.seat = fs.seat
  UNION
  SELECT fs.id FROM fresh_seats fs
    JOIN (SELECT event_id, seat FROM fresh_seats GROUP BY event_id, seat HAVING count(*) > 1) d ON d.event_id = fs.event_id AND d.seat = fs.seat
  UNION
  SELECT f.id FROM fresh f JOIN bookings b ON b.event_id = f.event_id AND b.idempotency_key = f.idempotency_key
  UNION
  SELECT f.id FROM fresh f JOIN bookings b ON b.reference = f.reference
  UNION
  SELECT f.id FROM fresh f
    JOIN (SELECT event_id, idempotency_key FROM fresh GROUP BY event_id, idempotency_key HAVING count(*) > 1) d
      ON d.event_id = f.event_id AND d.idempotency_key = f.idempotency_key
  UNION
  SELECT f.id FROM fresh f JOIN (SELECT reference FROM fresh GROUP BY reference HAVING count(*) > 1) d ON d.reference = f.reference
  UNION
  SELECT fp.id FROM fresh_places fp
    JOIN (
      SELECT p.event_id, p.area FROM fresh_places p LEFT JOIN ga_areas g ON g.event_id = p.event_id AND g.area = p.area
      GROUP BY p.event_id, p.area, g.capacity, g.booked
      HAVING g.capacity IS NULL OR min(p.qty) < 1 OR g.booked + sum(p.qty) > g.capacity
    ) o ON o.event_id = fp.event_id AND o.area = fp.area
)
SELECT input.ord::int AS ord,
       CASE WHEN known.id IS NOT NULL THEN 'known'
            WHEN input.epoch < ev.epoch THEN 'stale'
            WHEN input.id IN (SELECT id FROM suspect) THEN 'suspect'
            ELSE 'clean' END AS sort,
       known.reference,
       ev.epoch::text AS event_epoch,
       (SELECT count(*) FROM ev)::int AS locked
FROM input
  LEFT JOIN known ON known.id = input.id
  LEFT JOIN ev ON ev.id = input.event_id
ORDER BY input.ord`;

/** The savepoint a round's transaction opens with its BEGIN: where it goes back to when Postgres refuses the round's statement. */
const ROUND_SAVEPOINT = 'round';

/**
 * Commits a round in one transaction over `bookings` (sorted by id, which
 * keeps lock order consistent between concurrent flushers). `consumer` is
 * recorded in each booking's history. Resolves once committed.
 */
export function commitRound(
  pool: pg.Pool,
  bookings: readonly BookingEntry[],
  consumer: string,
  expiries: readonly HoldExpiryEntry[] = [],
): Promise<RoundOutcome> {
  return inTransaction(
    pool,
    async (client) => {
      const outcome = await roundBody(client, bookings, consumer, expiries);
      // delivered with the commit, never before it: a listener that hears of a booking can tell its client it is durable
      const notify = notificationPayloads(outcome.committed).map((payload) => `NOTIFY ${COMMIT_CHANNEL}, ${client.escapeLiteral(payload)}`);
      return new CommitWith(outcome, notify.join('; '));
    },
    { savepoint: ROUND_SAVEPOINT },
  );
}

async function roundBody(
  client: pg.PoolClient,
  bookings: readonly BookingEntry[],
  consumer: string,
  expiries: readonly HoldExpiryEntry[],
): Promise<RoundOutcome> {
  const refused: DeadEntry[] = [];
  /** booking id -> reference, of the bookings this round inserted */
  const references = new Map<string, string>();
  /** booking id -> reference, of the bookings found already there (delivered again) */
  const existing = new Map<string, string>();
  const reset = async () => {
    await client.query(`ROLLBACK TO SAVEPOINT ${ROUND_SAVEPOINT}`);
    references.clear();
    existing.clear();
    refused.length = 0;
  };
  let live: BookingEntry[] = [];
  if (bookings.length > 0) {
    try {
      live = await inBulk(client, bookings, consumer, references, existing, refused);
    } catch (err) {
      if (!isRefusal(err)) throw err;
      // someone in the round is refused: sort the round in one query, and only the suspects go one by one
      await reset();
      try {
        live = await sorted(client, bookings, consumer, references, existing, refused);
      } catch (err) {
        if (!isRefusal(err)) throw err;
        // the round's data itself is refused (a data error): every booking under its own savepoint
        await reset();
        live = await entryByEntry(client, bookings, consumer, references, existing, refused);
      }
    }
  }
  const committed: CommittedBooking[] = [];
  const entries: NewLogEntry[] = [];
  const seatsTaken = new Map<string, number>();
  let inserted = 0;
  for (const b of live) {
    const reference = references.get(b.id) ?? existing.get(b.id);
    if (reference === undefined) continue; // refused, or never expected: neither inserted nor present
    if (references.has(b.id)) {
      inserted++;
      entries.push(bookingLogEntry(b, reference));
      addSeatsTaken(seatsTaken, b.eventId, b.seats.length);
    }
    committed.push({ id: b.id, reference, eventId: b.eventId, holder: b.holder, key: b.key, seats: b.seats, seq: b.seq, state: b.state });
  }
  for (const x of expiries) entries.push(holdExpiryLogEntry(x));
  await appendToLog(client, entries, { seatsTaken });
  return { committed, inserted, refused };
}

/** The round's statement. Fills `references` and `existing`, and `refused` with the stale bookings; returns the others. */
async function inBulk(
  client: pg.PoolClient,
  bookings: readonly BookingEntry[],
  consumer: string,
  references: Map<string, string>,
  existing: Map<string, string>,
  refused: DeadEntry[],
): Promise<BookingEntry[]> {
  // named: prepared once per connection, so a round does not parse and plan it again
  const res = await client.query<{ ord: number; reference: string | null; stale_at: string | null }>({
    name: 'commit-round',
    text: ROUND_SQL,
    values: insertParams(bookings, 0, consumer),
  });
  const lookUp: BookingEntry[] = [];
  const stale = new Map<BookingEntry, number>();
  for (const row of res.rows) {
    const b = bookings[row.ord - 1]!;
    if (row.reference !== null) references.set(b.id, row.reference);
    else {
      if (row.stale_at !== null) stale.set(b, Number(row.stale_at));
      lookUp.push(b);
    }
  }
  // delivered again (the booking was committed before, by this or another flusher), or stale
  if (lookUp.length > 0) for (const [id, reference] of await findExisting(client, lookUp)) existing.set(id, reference);
  return withoutStale(bookings, stale, existing, refused);
}

/**
 * After the round's statement was refused: SORT_SQL, then the clean bookings
 * in one insert (under a savepoint: should it still be refused, a race with
 * another writer, they join the suspects) and the suspects one by one, in
 * booking-id order, each under its own savepoint.
 */
async function sorted(
  client: pg.PoolClient,
  bookings: readonly BookingEntry[],
  consumer: string,
  references: Map<string, string>,
  existing: Map<string, string>,
  refused: DeadEntry[],
): Promise<BookingEntry[]> {
  const res = await client.query<{ ord: number; sort: 'known' | 'stale' | 'suspect' | 'clean'; reference: string | null; event_epoch: string | null }>(
    SORT_SQL,
    insertParams(bookings, 0, consumer),
  );
  let clean: BookingEntry[] = [];
  let suspects: BookingEntry[] = [];
  const lookUp: BookingEntry[] = [];
  const stale = new Map<BookingEntry, number>();
  for (const row of res.rows) {
    const b = bookings[row.ord - 1]!;
    if (row.sort === 'known') existing.set(b.id, row.reference!);
    else if (row.sort === 'suspect') suspects.push(b);
    else if (row.sort === 'clean') clean.push(b);
    else {
      stale.set(b, Number(row.event_epoch));
      lookUp.push(b);
    }
  }
  if (clean.length > 0) {
    await client.query('SAVEPOINT clean');
    try {
      for (const row of await insert(client, clean, 0, consumer)) references.set(row.id, row.reference);
      await client.query('RELEASE SAVEPOINT clean');
    } catch (err) {
      if (!isRefusal(err)) throw err;
      await client.query('ROLLBACK TO SAVEPOINT clean');
      references.clear();
      suspects = [...suspects, ...clean].sort((x, y) => (x.id < y.id ? -1 : x.id > y.id ? 1 : 0));
      clean = [];
    }
  }
  for (const b of clean) if (!references.has(b.id)) lookUp.push(b);
  for (const b of suspects) {
    const outcome = await insertOne(client, b, consumer);
    if (outcome.inserted) references.set(b.id, outcome.inserted);
    else if (outcome.refused) refused.push(refusedBooking(b, outcome.refused.message, outcome.refused.code));
    else lookUp.push(b);
  }
  // committed by another writer meanwhile (the query's snapshot did not see it): delivered again
  if (lookUp.length > 0) for (const [id, reference] of await findExisting(client, lookUp)) existing.set(id, reference);
  return withoutStale(bookings, stale, existing, refused);
}

/** The bookings but the stale ones, which go to `refused` (a stale booking found in Postgres is one delivered again). */
function withoutStale(bookings: readonly BookingEntry[], stale: ReadonlyMap<BookingEntry, number>, existing: ReadonlyMap<string, string>, refused: DeadEntry[]): BookingEntry[] {
  const live: BookingEntry[] = [];
  for (const b of bookings) {
    const epoch = stale.get(b);
    if (epoch !== undefined && !existing.has(b.id)) refused.push(staleBooking(b, epoch));
    else live.push(b);
  }
  return live;
}

/** After the round's data was refused (SORT_SQL too): the stale check, then every booking under its own savepoint. */
async function entryByEntry(
  client: pg.PoolClient,
  bookings: readonly BookingEntry[],
  consumer: string,
  references: Map<string, string>,
  existing: Map<string, string>,
  refused: DeadEntry[],
): Promise<BookingEntry[]> {
  const live = await refuseStale(client, bookings, refused);
  const missing: BookingEntry[] = [];
  for (const b of live) {
    const outcome = await insertOne(client, b, consumer);
    if (outcome.inserted) references.set(b.id, outcome.inserted);
    else if (outcome.refused) refused.push(refusedBooking(b, outcome.refused.message, outcome.refused.code));
    else missing.push(b);
  }
  // delivered again: the booking was committed before (by this or another flusher)
  if (missing.length > 0) for (const [id, reference] of await findExisting(client, missing)) existing.set(id, reference);
  return live;
}

async function findExisting(client: pg.PoolClient, bookings: readonly BookingEntry[]): Promise<Map<string, string>> {
  const res = await client.query<{ id: string; reference: string }>('SELECT id::text AS id, reference FROM bookings WHERE id = ANY($1::uuid[])', [
    bookings.map((b) => b.id),
  ]);
  return new Map(res.rows.map((r) => [r.id, r.reference]));
}

function staleBooking(b: BookingEntry, epoch: number): DeadEntry {
  return refusedBooking(b, `event ${b.eventId} was rebuilt at epoch ${epoch} after this booking (epoch ${b.epoch}) was made`, STALE_EPOCH);
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
    refused.push(staleBooking(b, epochs.get(b.eventId)!));
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
  const res = await client.query<{ id: string; reference: string }>({ name: 'commit-round-insert', text: INSERT_SQL, values: insertParams(rows, level, consumer) });
  return res.rows;
}

/** The parameters of INSERT_SQL and ROUND_SQL: one array per column, the consumer as $11. */
function insertParams(rows: readonly BookingEntry[], level: number, consumer: string): unknown[] {
  return [
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
  ];
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
