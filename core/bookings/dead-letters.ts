/**
 * Dead letters: the outbox entries Postgres refused for good (a data or
 * integrity error), the bookings of an epoch their event's rebuild made void
 * (STALE_EPOCH), and entries that are not bookings at all. Each one is
 * settled in Redis by one atomic script (core/store/outbox.ts): moved to the
 * event's dead-letter stream and acknowledged, and its booking voided, so
 * nothing stays booked in Redis that Postgres does not have:
 *
 * - its seats that are still BOOKED turn FREE (one change-log entry), except
 *   seats Postgres holds for another active booking (a unique violation on
 *   `booked_seats`: the seat truly is someone else's) and except for a stale
 *   booking (the rebuilt map came from Postgres and may have sold them);
 * - its idempotency record is marked, so a retried `book` answers REFUSED
 *   (EXPIRED for a stale one) instead of PENDING.
 *
 * Then the refusals are published on REFUSAL_CHANNEL, so a `book` waiting on
 * any node learns of them, and reported to onError as DeadLetterErrors.
 */
import type { Redis } from 'ioredis';
import type pg from 'pg';
import { eventKeys } from '../store/keys.js';
import { voidBooking } from '../store/outbox.js';
import { MALFORMED, REFUSAL_CHANNEL, STALE_EPOCH, refusalPayloads } from './codes.js';
import { fieldMap, isBookingId, type BookingEntry, type RawEntry } from './outbox-entries.js';

/** An outbox entry moved to the dead-letter stream instead of being committed. */
export class DeadLetterError extends Error {
  constructor(
    message: string,
    readonly stream: string,
    readonly entryId: string,
    readonly code: string | undefined,
    /** the refused booking's id, when the entry had one */
    readonly bookingId?: string,
  ) {
    super(message);
    this.name = 'DeadLetterError';
  }
}

export interface DeadEntry {
  stream: string;
  entryId: string;
  /** undefined for an entry of an outbox no longer watched */
  eventId: string | undefined;
  /** the booking's id: of the parsed booking, or the entry's `id` field when that is a booking id */
  bookingId?: string;
  /** the booking's seats, when the entry parsed */
  seats?: number[];
  /** the entry's idempotency key, when it has one */
  key?: string;
  error: string;
  /** SQLSTATE, STALE_EPOCH, or undefined for an entry that is not a booking */
  code: string | undefined;
}

/** A booking Postgres refused (or a stale one). */
export function refusedBooking(b: BookingEntry, error: string, code: string | undefined): DeadEntry {
  return { stream: b.stream, entryId: b.entryId, eventId: b.eventId, bookingId: b.id, seats: b.seats, key: b.key, error, code };
}

/** An entry that is not a well-formed booking; it never reaches Postgres. */
export function malformedEntry(entry: RawEntry, eventId: string | undefined, error: string): DeadEntry {
  const f = fieldMap(entry.fields);
  const id = f.get('id');
  return { stream: entry.stream, entryId: entry.entryId, eventId, bookingId: isBookingId(id) ? id.toLowerCase() : undefined, key: f.get('key') || undefined, error, code: undefined };
}

export interface DeadLettersOptions {
  redis: Redis;
  pool: pg.Pool;
  prefix: string;
  group: string;
  consumer: string;
  report(err: unknown): void;
}

const MAX_SEAT = 0x7fffffff;

export class DeadLetters {
  constructor(private readonly options: DeadLettersOptions) {}

  /**
   * Settles each entry (dead letter, acknowledgement, void) and returns those
   * this call settled; an entry no longer pending was settled elsewhere. A
   * failure to reach Redis or Postgres throws, and the entries stay pending:
   * the next round refuses them again, and settling is idempotent.
   */
  async settle(dead: readonly DeadEntry[]): Promise<DeadEntry[]> {
    const { redis, prefix, group, consumer, report } = this.options;
    const settled: DeadEntry[] = [];
    for (const d of dead) {
      if (d.eventId === undefined) {
        report(new Error(`outbox entry ${d.entryId} of ${d.stream} is refused (${d.error}) but its outbox is no longer watched; it stays pending`));
        continue;
      }
      const stale = d.code === STALE_EPOCH;
      const result = await voidBooking(redis, prefix, {
        eventId: d.eventId,
        group,
        entryId: d.entryId,
        freeable: stale ? [] : await this.freeable(d, d.eventId),
        answer: stale ? 'EXPIRED' : 'REFUSED',
        error: d.error,
        code: d.code ?? '',
        consumer,
      });
      if (!result.settled) continue;
      settled.push(d);
    }
    await this.publish(settled);
    for (const d of settled) {
      const deadLetters = eventKeys(prefix, d.eventId!).deadLetters;
      report(new DeadLetterError(`outbox entry ${d.entryId} of ${d.stream} moved to ${deadLetters}: ${d.error}`, d.stream, d.entryId, d.code, d.bookingId));
    }
    return settled;
  }

  /**
   * The seats voiding may free: the booking's (from the entry and from its
   * idempotency record) that Postgres holds for no other booking.
   */
  private async freeable(d: DeadEntry, eventId: string): Promise<number[]> {
    const candidates = new Set(d.seats ?? []);
    if (d.key !== undefined) {
      const raw = await this.options.redis.hget(eventKeys(this.options.prefix, eventId).bookings, d.key);
      const record = raw === null ? null : parseRecord(raw);
      if (record && record.id === d.bookingId && Array.isArray(record.s)) for (const s of record.s) candidates.add(Number(s));
    }
    const seats = [...candidates].filter((s) => Number.isSafeInteger(s) && s >= 0 && s <= MAX_SEAT).sort((a, b) => a - b);
    if (seats.length === 0) return [];
    const held = await this.options.pool.query<{ seat: number }>(
      'SELECT seat FROM booked_seats WHERE event_id = $1 AND seat = ANY($2::int[]) AND booking_id IS DISTINCT FROM $3::uuid',
      [eventId, seats, d.bookingId ?? null],
    );
    const others = new Set(held.rows.map((r) => r.seat));
    return seats.filter((s) => !others.has(s));
  }

  /** Tells every listening node of the refused bookings; a failure only delays their clients to the ack timeout. */
  private async publish(settled: readonly DeadEntry[]): Promise<void> {
    const refused = settled.flatMap((d) => (d.bookingId ? [{ id: d.bookingId, code: d.code ?? MALFORMED }] : []));
    for (const payload of refusalPayloads(refused)) {
      try {
        await this.options.pool.query('SELECT pg_notify($1, $2)', [REFUSAL_CHANNEL, payload]);
      } catch (err) {
        this.options.report(err);
      }
    }
  }
}

function parseRecord(raw: string): { id?: unknown; s?: unknown } | null {
  try {
    const record: unknown = JSON.parse(raw);
    return typeof record === 'object' && record !== null ? (record as { id?: unknown; s?: unknown }) : null;
  } catch {
    return null;
  }
}
