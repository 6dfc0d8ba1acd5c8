/**
 * Deleting an event on purpose: Postgres marks it deleted first (so the
 * lost-event recovery does not bring it back), then every Redis key of the
 * event goes. Its bookings stay in Postgres, the durable record; creating the
 * event again (a new epoch) clears the mark. Its sales channels' rows go.
 */
import type pg from 'pg';
import type { SeatStore } from '../store/seat-store.js';

/** Resolves to whether the event existed in Redis or Postgres. */
export async function deleteEvent(pool: pg.Pool, store: SeatStore, eventId: string): Promise<boolean> {
  const marked = await pool.query('UPDATE events SET deleted_at = now() WHERE id = $1 AND deleted_at IS NULL', [eventId]);
  // its sales channels end with it: an event made again under the id starts without them
  await pool.query('DELETE FROM sales_channels WHERE event_id = $1', [eventId]);
  const inRedis = (await store.meta(eventId)) !== null;
  await store.deleteEvent(eventId);
  return inRedis || (marked.rowCount ?? 0) > 0;
}
