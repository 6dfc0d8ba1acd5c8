/**
 * The outbox side of the seat store, for the booking flusher: settling an
 * outbox entry the durable store refused for good. One atomic script
 * (voidBooking-6.lua) moves the entry to the dead-letter stream, acknowledges
 * it, frees the booking's seats that are still BOOKED (one change-log entry)
 * and marks its idempotency record, so a retried `book` answers REFUSED.
 */
import { eventKeys } from './keys.js';
import type { RedisClient } from './redis-client.js';
import { parseReply, refusalFrom } from './results.js';
import { ScriptRunner } from './script-loader.js';
import { SCRIPTS } from './scripts.js';

export interface VoidBookingInput {
  eventId: string;
  /** the outbox's consumer group */
  group: string;
  entryId: string;
  /** seats that may be freed: the booking's seats that Postgres holds for no other booking */
  freeable: readonly number[];
  /** what a retried `book` with the booking's key answers: REFUSED, or EXPIRED for a booking its event's rebuild made void */
  answer: 'REFUSED' | 'EXPIRED';
  /** for the dead letter: why, the code (SQLSTATE, STALE_EPOCH, or '' for a malformed entry), and who */
  error: string;
  code: string;
  consumer: string;
}

export interface VoidBookingResult {
  /** false when the entry was no longer pending (settled elsewhere, or its outbox is gone): nothing changed */
  settled: boolean;
  /** whether the booking's idempotency record was marked */
  marked: boolean;
  /** seats set free */
  freed: number;
  /** the event's seq afterwards (0 when the event is gone) */
  seq: number;
}

/** Dead-letters and acknowledges a refused outbox entry and voids its booking in the seat map, atomically. */
export async function voidBooking(redis: RedisClient, prefix: string, input: VoidBookingInput): Promise<VoidBookingResult> {
  const reply = await new ScriptRunner(redis).run(SCRIPTS.voidBooking, eventKeys(prefix, input.eventId), {
    now: '',
    group: input.group,
    entry: input.entryId,
    seats: input.freeable.join(','),
    answer: input.answer,
    error: input.error,
    code: input.code,
    consumer: input.consumer,
  });
  const { status, rest } = parseReply(reply);
  if (status !== 'OK') throw new Error(`voidBooking: ${refusalFrom(status, rest).code}`);
  return { settled: Number(rest[0]) === 1, marked: Number(rest[1]) === 1, freed: Number(rest[2]), seq: Number(rest[3]) };
}
