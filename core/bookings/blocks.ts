/**
 * Taking seats off sale (blocking) and putting them back, recorded in
 * Postgres so that a rebuild of the event restores them.
 *
 * Seat by seat (`setSeatsBlocked`, a body of `seats` only): all or nothing.
 * One Postgres transaction around the Redis script: the rows are written, the
 * script runs (refused seats change nothing anywhere), and only then the
 * transaction commits. Should the commit fail after the script succeeded,
 * Redis is ahead of Postgres until the call is repeated; the script refuses a
 * repeat (UNAVAILABLE / CONFLICT), so the answer says so.
 *
 * In bulk (`setSeatsBlockedBulk`, by section or category): the script decides
 * which seats move (held and booked seats are left and reported), so it runs
 * first and the rows follow what it did, in the same transaction: the seats
 * it moved and those already in the target state, so that repeating a call
 * whose commit failed puts Postgres level with Redis again.
 *
 * Both take one advisory lock per event for the whole transaction, so block
 * and unblock calls of an event reach Redis and Postgres in the same order.
 *
 * Blocking the last seats on sale sells the event out as far as the log is
 * concerned (`event.soldout`); unblocking puts seats on sale again.
 *
 * Places of general-admission areas (`places`, seat by seat only) go with
 * the seats, all or nothing, in the same transaction and script call: their
 * counts per area are rows of `blocked_places` (006_ga_blocks.sql), which a
 * rebuild restores as it restores `blocked_seats`.
 */
import type pg from 'pg';
import type { OpResult } from '../store/results.js';
import type { BulkStatesResult, SeatStore } from '../store/seat-store.js';
import { appendToLog } from './event-log.js';
import { Rollback, inTransaction } from './transaction.js';

export type BlockOperation = 'block' | 'unblock';

/** Serialises the block and unblock calls of one event across gateway nodes, to the commit. */
function lockEventBlocks(client: pg.PoolClient, eventId: string): Promise<unknown> {
  return client.query("SELECT pg_advisory_xact_lock(hashtextextended('seat-blocks:' || $1, 0))", [eventId]);
}

export async function setSeatsBlocked(
  pool: pg.Pool,
  store: SeatStore,
  operation: BlockOperation,
  eventId: string,
  seats: readonly number[],
  places?: readonly (readonly [number, number])[],
): Promise<OpResult<{ seq: number }>> {
  return inTransaction<OpResult<{ seq: number }>>(pool, async (client) => {
    await lockEventBlocks(client, eventId);
    const taken = await writeRows(client, operation, eventId, seats);
    if (places && places.length > 0) await writePlaces(client, operation, eventId, places);
    // before Redis, so that nothing can fail between the script and the commit but the commit itself
    await appendToLog(client, [], { seatsTaken: new Map([[eventId, taken]]) });
    const result = operation === 'block' ? await store.block(eventId, seats, places) : await store.unblock(eventId, seats, places);
    return result.ok ? result : new Rollback(result);
  });
}

/** Bulk: the seats of the list in the right state move, the others are reported (BulkStatesResult). */
export async function setSeatsBlockedBulk(
  pool: pg.Pool,
  store: SeatStore,
  operation: BlockOperation,
  eventId: string,
  seats: readonly number[],
): Promise<OpResult<BulkStatesResult>> {
  return inTransaction<OpResult<BulkStatesResult>>(pool, async (client) => {
    await lockEventBlocks(client, eventId);
    const result = await store.setStatesBulk(operation, eventId, seats);
    if (!result.ok) return new Rollback(result);
    const taken = await writeRows(client, operation, eventId, [...result.changed, ...result.unchanged]);
    await appendToLog(client, [], { seatsTaken: new Map([[eventId, taken]]) });
    return result;
  });
}

/**
 * Postgres's `int` of `blocked_seats.seat` and `blocked_places.area`: an index
 * past it is out of range for every event, so it gets no row; the script then
 * refuses it (BAD_SEAT, or BAD_REQUEST reason `ga`) and the transaction rolls
 * back. Without this the cast of the whole list fails first: a 500 for bad input.
 */
const PG_INT_MAX = 2 ** 31 - 1;
const storable = (index: number): boolean => index >= 0 && index <= PG_INT_MAX;

/**
 * Adds (block) or takes away (unblock) places per area in `blocked_places`.
 * The script judges them (an unblock of more than is blocked is refused
 * there and rolls this back); a row whose count reaches 0 goes.
 */
async function writePlaces(client: pg.PoolClient, operation: BlockOperation, eventId: string, places: readonly (readonly [number, number])[]): Promise<void> {
  const rows = places.filter(([area]) => storable(area));
  if (rows.length === 0) return;
  const areas = rows.map(([area]) => area);
  const qtys = rows.map(([, qty]) => qty);
  if (operation === 'block') {
    await client.query(
      `INSERT INTO blocked_places (event_id, area, qty) SELECT $1, a, q FROM unnest($2::int[], $3::int[]) AS p(a, q)
       ON CONFLICT (event_id, area) DO UPDATE SET qty = blocked_places.qty + excluded.qty`,
      [eventId, areas, qtys],
    );
    return;
  }
  // the rows that reach 0 first, then the others (an unblock of more than a row has is refused by the script, which rolls this back)
  await client.query(
    `DELETE FROM blocked_places b USING unnest($2::int[], $3::int[]) AS p(a, q) WHERE b.event_id = $1 AND b.area = p.a AND b.qty <= p.q`,
    [eventId, areas, qtys],
  );
  await client.query(
    `UPDATE blocked_places b SET qty = b.qty - p.q FROM unnest($2::int[], $3::int[]) AS p(a, q)
      WHERE b.event_id = $1 AND b.area = p.a AND b.qty > p.q`,
    [eventId, areas, qtys],
  );
}

/** Inserts (block) or deletes (unblock) the rows of `seats`; the seats taken (negative: given up). */
async function writeRows(client: pg.PoolClient, operation: BlockOperation, eventId: string, all: readonly number[]): Promise<number> {
  const seats = all.filter(storable);
  if (seats.length === 0) return 0;
  const changed =
    operation === 'block'
      ? await client.query('INSERT INTO blocked_seats (event_id, seat) SELECT $1, s FROM unnest($2::int[]) AS s ON CONFLICT DO NOTHING', [eventId, seats])
      : await client.query('DELETE FROM blocked_seats WHERE event_id = $1 AND seat = ANY($2::int[])', [eventId, seats]);
  return (changed.rowCount ?? 0) * (operation === 'block' ? 1 : -1);
}
