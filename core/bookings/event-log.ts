/**
 * The event log: the Postgres outbox of everything the systems around the
 * gateway hear about (booking transitions, expired holds, sell-outs,
 * rebuilds). An entry is written in the same transaction as the change it
 * describes, so none is lost and none describes a change that did not commit.
 *
 * Each event (the on-sale event) has its own log, numbered 1, 2, 3, … in
 * commit order: appending takes the event's `event_log_heads` row lock and
 * holds it to the commit, so a transaction that got position n commits before
 * any other can get n + 1, and a reader paging with `after=n` never misses an
 * entry that commits later with a lower number. Appending also writes one
 * delivery per webhook that wants the entry's type, in the same transaction.
 *
 * Appending is two statements per event (named, so each connection plans
 * them once): the head row (lock, counter, the event's seat count), then the
 * entries with the head's new position and their webhook deliveries. The lock is taken late in each transaction
 * (callers append last), so the time it is held is little more than the
 * commit itself. The same row counts
 * the event's seats taken (in active bookings, or blocked), from the deltas
 * each writer passes; the transaction that takes the last one appends
 * `event.soldout`, without counting rows.
 */
import { randomUUID } from 'node:crypto';
import type pg from 'pg';

export const LOG_EVENT_TYPES = [
  'booking.pending_payment',
  'booking.confirmed',
  'booking.failed',
  'booking.expired',
  'booking.cancelled',
  'booking.seats_cancelled',
  'booking.checked_in',
  'hold.expired',
  'event.soldout',
  'event.rebuilt',
] as const;

export type LogEventType = (typeof LOG_EVENT_TYPES)[number];

export function isLogEventType(value: unknown): value is LogEventType {
  return typeof value === 'string' && (LOG_EVENT_TYPES as readonly string[]).includes(value);
}

/** An entry to append. */
export interface NewLogEntry {
  eventId: string;
  type: LogEventType;
  /** the booking it is about; deliveries of one booking go out in order */
  bookingId: string | null;
  data: Record<string, unknown>;
  /** an entry with a key already in the event's log is not written again (a redelivered outbox record) */
  dedupe?: string;
}

/** An entry as the pull log returns it and a webhook receives it (the body, exactly). */
export interface LogEntry {
  /** unique; the `Seatmap-Id` of its deliveries */
  id: string;
  type: LogEventType;
  eventId: string;
  /** position in the event's log, in commit order */
  seq: number;
  /** the time of the transaction that wrote it */
  at: string;
  data: Record<string, unknown>;
}

export interface AppendOptions {
  /**
   * Per event, the seats this transaction took (booked or blocked: positive)
   * or gave up (negative). The log's head row keeps the sum; the transaction
   * that takes the last seat appends `event.soldout`.
   */
  seatsTaken?: ReadonlyMap<string, number>;
}

interface HeadRow {
  last_seq: string;
  taken: number;
  sold_out: boolean;
  seat_count: number | null;
}

/** Takes the event's head row (its lock is held to the commit), moves its count of seats taken, and reads the event's seat count. */
const HEAD_SQL = `
INSERT INTO event_log_heads (event_id, taken) VALUES ($1, $2)
ON CONFLICT (event_id) DO UPDATE SET taken = event_log_heads.taken + excluded.taken
RETURNING last_seq, taken, sold_out, (SELECT seat_count FROM events WHERE id = $1) AS seat_count`;

/**
 * One statement: the entries, the head's new last position and sold-out flag,
 * and one delivery per webhook that wants an entry's type.
 */
const APPEND_SQL = `
WITH entries AS (
  INSERT INTO event_log (event_id, seq, id, type, booking_id, data, dedupe)
  SELECT $1, t.seq, t.id, t.type, t.booking_id, t.data, t.dedupe
    FROM unnest($2::bigint[], $3::uuid[], $4::text[], $5::uuid[], $6::jsonb[], $7::text[]) AS t(seq, id, type, booking_id, data, dedupe)
  RETURNING id, seq, type, booking_id, at, data
), head AS (
  UPDATE event_log_heads SET last_seq = $8, sold_out = $9 WHERE event_id = $1
), deliveries AS (
  -- the order key: a booking's entries go out in order, as do the event's own; expired holds in any order
  INSERT INTO webhook_deliveries (webhook_id, event_id, seq, order_key)
  SELECT w.id, $1, e.seq, COALESCE(e.booking_id::text, CASE WHEN e.type = 'hold.expired' THEN e.id::text ELSE '' END)
    FROM entries e JOIN webhooks w ON e.type = ANY(w.events) OR '*' = ANY(w.events)
)
SELECT id::text AS id, seq, type, at, data FROM entries`;

/**
 * Appends entries inside the caller's transaction, event by event in id
 * order (one lock order for every writer). Returns the entries written.
 */
export async function appendToLog(client: pg.PoolClient, entries: readonly NewLogEntry[], options: AppendOptions = {}): Promise<LogEntry[]> {
  const deltas = options.seatsTaken ?? new Map<string, number>();
  const byEvent = new Map<string, NewLogEntry[]>();
  for (const [id, delta] of deltas) if (delta !== 0 && !byEvent.has(id)) byEvent.set(id, []);
  for (const e of entries) {
    const list = byEvent.get(e.eventId);
    if (list) list.push(e);
    else byEvent.set(e.eventId, [e]);
  }
  const written: LogEntry[] = [];
  for (const eventId of [...byEvent.keys()].sort()) {
    const delta = deltas.get(eventId) ?? 0;
    const head = (await client.query<HeadRow>({ name: 'event-log-head', text: HEAD_SQL, values: [eventId, delta] })).rows[0]!;
    let list = byEvent.get(eventId)!;
    const keys = list.flatMap((e) => (e.dedupe ? [e.dedupe] : []));
    if (keys.length > 0) {
      const known = await client.query<{ dedupe: string }>('SELECT dedupe FROM event_log WHERE event_id = $1 AND dedupe = ANY($2::text[])', [eventId, keys]);
      const seen = new Set(known.rows.map((r) => r.dedupe));
      // once each: against the log, and within this list (one record delivered twice in one round)
      list = list.filter((e) => {
        if (!e.dedupe) return true;
        if (seen.has(e.dedupe)) return false;
        seen.add(e.dedupe);
        return true;
      });
    }
    let soldOut = head.sold_out && delta >= 0;
    if (delta > 0 && !head.sold_out) {
      const seatCount = head.seat_count;
      if (seatCount && head.taken >= seatCount) {
        soldOut = true;
        list = [...list, { eventId, type: 'event.soldout', bookingId: null, data: { seatCount, taken: head.taken } }];
      }
    }
    if (list.length === 0) {
      if (soldOut !== head.sold_out) await client.query('UPDATE event_log_heads SET sold_out = $2 WHERE event_id = $1', [eventId, soldOut]);
      continue;
    }
    const first = Number(head.last_seq) + 1;
    const rows = await client.query<{ id: string; seq: string; type: LogEventType; at: Date; data: Record<string, unknown> }>({
      name: 'event-log-append',
      text: APPEND_SQL,
      values: [
        eventId,
        list.map((_, i) => first + i),
        list.map(() => randomUUID()),
        list.map((e) => e.type),
        list.map((e) => e.bookingId),
        list.map((e) => JSON.stringify(e.data)),
        list.map((e) => e.dedupe ?? null),
        first + list.length - 1,
        soldOut,
      ],
    });
    for (const r of rows.rows) written.push(toLogEntry({ ...r, event_id: eventId }));
  }
  return written;
}

/** Adds `seats` to the seats `eventId` takes in `deltas`. */
export function addSeatsTaken(deltas: Map<string, number>, eventId: string, seats: number): Map<string, number> {
  deltas.set(eventId, (deltas.get(eventId) ?? 0) + seats);
  return deltas;
}

interface LogRow {
  id: string;
  event_id: string;
  seq: string | number;
  type: LogEventType;
  at: Date;
  data: Record<string, unknown>;
}

export function toLogEntry(r: LogRow): LogEntry {
  return { id: r.id, type: r.type, eventId: r.event_id, seq: Number(r.seq), at: r.at.toISOString(), data: r.data };
}

export const LOG_COLUMNS = 'id::text AS id, event_id, seq, type, at, data';

/** The event's log after position `after`, at most `limit` entries, in commit order; `next` is the position to ask after next time. */
export async function readLog(pool: pg.Pool, eventId: string, after: number, limit: number): Promise<{ entries: LogEntry[]; next: number }> {
  const res = await pool.query<LogRow>(`SELECT ${LOG_COLUMNS} FROM event_log WHERE event_id = $1 AND seq > $2 ORDER BY seq LIMIT $3`, [eventId, after, limit]);
  const entries = res.rows.map(toLogEntry);
  return { entries, next: entries.at(-1)?.seq ?? after };
}
