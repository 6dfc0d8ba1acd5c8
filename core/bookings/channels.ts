/**
 * Sales channels recorded in Postgres (005_channels.sql), so that a rebuild of
 * the event restores them (rebuild.ts). The admin API's writes: one Postgres
 * transaction around the Redis script, under one advisory lock per event, so
 * the channel calls of an event reach Redis and Postgres in the same order.
 *
 * A put runs the script first (it decides which seats the channel gets: the
 * free ones) and the row records what it did; a delete removes the row and
 * releases the channel in Redis. Should a commit fail after the script ran,
 * Redis is ahead until the call is repeated: both calls are idempotent, so a
 * repeat puts Postgres level again.
 */
import type pg from 'pg';
import { Channels, type PutChannelResult } from '../store/channels.js';
import { refuse, type OpResult } from '../store/results.js';
import type { SeatStore } from '../store/seat-store.js';
import { Rollback, inTransaction } from './transaction.js';

function lockEventChannels(client: pg.PoolClient, eventId: string): Promise<unknown> {
  return client.query("SELECT pg_advisory_xact_lock(hashtextextended('sales-channels:' || $1, 0))", [eventId]);
}

export async function putSalesChannel(
  pool: pg.Pool,
  store: SeatStore,
  eventId: string,
  key: string,
  seats: readonly number[],
  releaseAt: number | null,
): Promise<OpResult<PutChannelResult>> {
  return inTransaction<OpResult<PutChannelResult>>(pool, async (client) => {
    await lockEventChannels(client, eventId);
    const result = await new Channels(store).put(eventId, key, seats, releaseAt);
    if (!result.ok) return new Rollback(result);
    await client.query(
      `INSERT INTO sales_channels (event_id, key, seats, release_at) VALUES ($1, $2, $3::int[], $4)
       ON CONFLICT (event_id, key) DO UPDATE SET seats = excluded.seats, release_at = excluded.release_at, updated_at = now()`,
      [eventId, key, result.seats, releaseAt === null ? null : new Date(releaseAt)],
    );
    return result;
  });
}

/** Deletes a channel: its reserved seats go on sale now. NOT_FOUND when neither Redis nor Postgres has it. */
export async function deleteSalesChannel(pool: pg.Pool, store: SeatStore, eventId: string, key: string): Promise<OpResult<{ seq: number | null; released: number }>> {
  return inTransaction<OpResult<{ seq: number | null; released: number }>>(pool, async (client) => {
    await lockEventChannels(client, eventId);
    const row = await client.query('DELETE FROM sales_channels WHERE event_id = $1 AND key = $2', [eventId, key]);
    const result = await new Channels(store).release(eventId, key);
    if (result.ok) return result;
    // released at its releaseAt already (the row stayed as the record): deleting the row is all there is to do
    if (result.code === 'NOT_FOUND' && (row.rowCount ?? 0) > 0) return { ok: true, seq: null, released: 0 };
    return new Rollback(result.code === 'NO_EVENT' && (row.rowCount ?? 0) > 0 ? refuse('NO_EVENT') : result);
  });
}

/** The channels a rebuild restores: those whose release_at has not passed at `now` (ms). */
export async function channelsToRestore(client: pg.PoolClient, eventId: string, now: number): Promise<{ key: string; seats: number[]; releaseAt: number | null }[]> {
  const rows = await client.query<{ key: string; seats: number[]; release_ms: string | null }>(
    `SELECT key, seats, floor(extract(epoch FROM release_at) * 1000)::bigint AS release_ms
       FROM sales_channels WHERE event_id = $1 AND (release_at IS NULL OR release_at > to_timestamp($2::double precision / 1000))
      ORDER BY updated_at, key`,
    [eventId, now],
  );
  return rows.rows.map((r) => ({ key: r.key, seats: r.seats, releaseAt: r.release_ms === null ? null : Number(r.release_ms) }));
}
