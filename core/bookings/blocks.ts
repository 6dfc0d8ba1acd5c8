/**
 * Taking seats off sale (blocking) and putting them back, recorded in
 * Postgres so that a rebuild of the event restores them.
 *
 * One Postgres transaction around the Redis script: the rows are written, the
 * script runs (all or nothing: refused seats change nothing anywhere), and
 * only then the transaction commits. Should the commit fail after the script
 * succeeded, Redis is ahead of Postgres until the call is repeated; the
 * script refuses a repeat (UNAVAILABLE / CONFLICT), so the answer says so.
 *
 * Blocking the last seats on sale sells the event out as far as the log is
 * concerned (`event.soldout`); unblocking puts seats on sale again.
 */
import type pg from 'pg';
import type { OpResult } from '../store/results.js';
import type { SeatStore } from '../store/seat-store.js';
import { appendToLog } from './event-log.js';
import { Rollback, inTransaction } from './transaction.js';

export type BlockOperation = 'block' | 'unblock';

export async function setSeatsBlocked(
  pool: pg.Pool,
  store: SeatStore,
  operation: BlockOperation,
  eventId: string,
  seats: readonly number[],
): Promise<OpResult<{ seq: number }>> {
  return inTransaction<OpResult<{ seq: number }>>(pool, async (client) => {
    const changed =
      operation === 'block'
        ? await client.query('INSERT INTO blocked_seats (event_id, seat) SELECT $1, s FROM unnest($2::int[]) AS s ON CONFLICT DO NOTHING', [eventId, seats])
        : await client.query('DELETE FROM blocked_seats WHERE event_id = $1 AND seat = ANY($2::int[])', [eventId, seats]);
    const taken = (changed.rowCount ?? 0) * (operation === 'block' ? 1 : -1);
    // before Redis, so that nothing can fail between the script and the commit but the commit itself
    await appendToLog(client, [], { seatsTaken: new Map([[eventId, taken]]) });
    const result = operation === 'block' ? await store.block(eventId, seats) : await store.unblock(eventId, seats);
    return result.ok ? result : new Rollback(result);
  });
}
