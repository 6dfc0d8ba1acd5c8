/**
 * The events table rows the flusher writes: an event's layout, hold rules and
 * epoch, copied from Redis the first time the flusher sees the event (a
 * rebuild needs the layout in Postgres, even for an event nobody booked yet)
 * and again for a newer epoch, before any booking of that epoch commits.
 */
import type { Redis } from 'ioredis';
import type pg from 'pg';
import { eventKeys } from '../store/keys.js';
import type { BookingEntry } from './outbox-entries.js';

const UPSERT_EVENT_SQL = `
INSERT INTO events (id, epoch, layout, settings, seat_count) VALUES ($1, $2, $3::jsonb, $4::jsonb, $5)
ON CONFLICT (id) DO UPDATE
  SET epoch = excluded.epoch,
      layout = COALESCE(excluded.layout, events.layout),
      settings = COALESCE(excluded.settings, events.settings),
      seat_count = COALESCE(excluded.seat_count, events.seat_count),
      deleted_at = NULL
  WHERE events.epoch IS NULL OR events.epoch < excluded.epoch`;

export class EventRows {
  /** event id -> the epoch last written to the events table by this flusher */
  private readonly knownEpochs = new Map<string, number>();

  constructor(
    private readonly redis: Redis,
    private readonly pool: pg.Pool,
    private readonly prefix: string,
  ) {}

  /** Forgets what was written (the events may have been made again). */
  reset(): void {
    this.knownEpochs.clear();
  }

  /** Writes the row of each event of `bookings` for the newest epoch among them, when not written yet. */
  async recordEvents(bookings: readonly BookingEntry[]): Promise<void> {
    const epochs = new Map<string, number>();
    for (const b of bookings) epochs.set(b.eventId, Math.max(b.epoch, epochs.get(b.eventId) ?? 0));
    for (const [eventId, epoch] of [...epochs].sort()) await this.recordEvent(eventId, epoch);
  }

  /**
   * Writes an event's row (layout, settings, epoch) from Redis, unless this
   * flusher already wrote it for `epoch` or later.
   */
  async recordEvent(eventId: string, epoch: number): Promise<void> {
    if ((this.knownEpochs.get(eventId) ?? -Infinity) >= epoch) return;
    const keys = eventKeys(this.prefix, eventId);
    const [meta, layout] = await Promise.all([this.redis.hgetall(keys.meta), this.redis.get(keys.layout)]);
    const current = meta.epoch !== undefined && Number(meta.epoch) >= epoch;
    if (!current && epoch <= 0) return; // nothing known to record: the event is gone from Redis
    const settings = current
      ? {
          holdTtlMs: Number(meta.holdTtlMs),
          maxHoldLifetimeMs: Number(meta.maxHoldLifetimeMs),
          maxSeatsPerToken: Number(meta.maxSeatsPerToken),
          maxSeatsPerHolder: Number(meta.maxSeatsPerHolder),
          ...(meta.paymentWindowMs !== undefined && { paymentWindowMs: Number(meta.paymentWindowMs) }),
        }
      : null;
    await this.pool.query(UPSERT_EVENT_SQL, [
      eventId,
      // the epoch the event was created or rebuilt at: one given in place after a failover (bumpEpoch) keeps the
      // state, and the bookings made before it, which the epoch guard would otherwise refuse while Redis keeps them
      current ? Number(meta.baseEpoch ?? meta.epoch) : epoch,
      current && layout !== null ? layout : null,
      settings === null ? null : JSON.stringify(settings),
      current ? Number(meta.seats) : null,
    ]);
    this.knownEpochs.set(eventId, current ? Number(meta.epoch) : epoch);
  }
}
