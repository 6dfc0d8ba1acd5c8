/**
 * Finds events Redis has lost and rebuilds them from Postgres: a periodic
 * check of every event Postgres knows, and `ensure()` for a caller that has
 * just met a missing event (an operation or a subscription answered NO_EVENT).
 * Several processes may run it at once: a rebuild creates the event only if
 * it does not exist, so one of them wins and the others find it present.
 */
import type pg from 'pg';
import type { SeatStore } from '../store/seat-store.js';
import { rebuildEvent, type RebuildOutcome } from './rebuild.js';

/** events checked key by key per pass (the rest are checked through the registry set) */
export const CHECKED_PER_PASS = 64;

export interface EventRecoveryOptions {
  pool: pg.Pool;
  store: SeatStore;
  /** how often every known event is checked (0 = only on demand) */
  intervalMs: number;
  onRebuilt?(eventId: string, outcome: Extract<RebuildOutcome, { status: 'rebuilt' }>): void;
  onError?(err: unknown, eventId?: string): void;
}

export class EventRecovery {
  private readonly inFlight = new Map<string, Promise<boolean>>();
  private timer: NodeJS.Timeout | null = null;
  private checking: Promise<void> | null = null;
  /** where the next pass's window of key-by-key checks starts */
  private windowStart = 0;

  constructor(private readonly options: EventRecoveryOptions) {}

  start(): void {
    if (this.timer || this.options.intervalMs <= 0) return;
    this.timer = setInterval(() => {
      if (!this.checking) this.checking = this.checkAll().finally(() => (this.checking = null));
    }, this.options.intervalMs);
    this.timer.unref();
  }

  async stop(): Promise<void> {
    if (this.timer) clearInterval(this.timer);
    this.timer = null;
    await this.checking;
    await Promise.allSettled(this.inFlight.values());
  }

  /** Rebuilds the event if Redis lost it; true when Redis has it afterwards. Never throws. */
  ensure(eventId: string): Promise<boolean> {
    let running = this.inFlight.get(eventId);
    if (!running) {
      running = this.rebuild(eventId).finally(() => this.inFlight.delete(eventId));
      this.inFlight.set(eventId, running);
    }
    return running;
  }

  /**
   * Whether Postgres has the event (its layout, not deleted): such an event is
   * rebuilt from there, never created afresh, or its bookings would clash with
   * the new seat map. Throws when Postgres cannot be asked.
   */
  async isRecorded(eventId: string): Promise<boolean> {
    const res = await this.options.pool.query('SELECT 1 FROM events WHERE id = $1 AND layout IS NOT NULL AND deleted_at IS NULL', [eventId]);
    return (res.rowCount ?? 0) > 0;
  }

  /**
   * One pass. Usually a window: the next CHECKED_PER_PASS events Postgres has
   * a layout for are looked up in the registry (one SMISMEMBER) and key by key
   * (what an evicted event looks like), so a pass costs Redis 2 + at most
   * CHECKED_PER_PASS commands, however many events there are. When the
   * registry holds fewer events than Postgres knows (what a flushed or new
   * Redis looks like), the pass compares every id at once and rebuilds the
   * missing events.
   */
  async checkAll(): Promise<void> {
    const { pool, store } = this.options;
    try {
      const counted = await pool.query<{ n: string }>('SELECT count(*) AS n FROM events WHERE layout IS NOT NULL AND deleted_at IS NULL');
      const known = Number(counted.rows[0]?.n ?? 0);
      if (known === 0) return;
      if ((await store.redis.scard(store.global.events)) < known) {
        const res = await pool.query<{ id: string }>('SELECT id FROM events WHERE layout IS NOT NULL AND deleted_at IS NULL ORDER BY id');
        const registered = new Set(await store.registeredEvents());
        await Promise.all(res.rows.map((r) => r.id).filter((id) => !registered.has(id)).map((id) => this.ensure(id)));
        return;
      }
      const start = this.windowStart % known;
      this.windowStart = start + CHECKED_PER_PASS;
      const res = await pool.query<{ id: string }>(
        `(SELECT id FROM events WHERE layout IS NOT NULL AND deleted_at IS NULL ORDER BY id OFFSET $1 LIMIT $2)
         UNION ALL
         (SELECT id FROM events WHERE layout IS NOT NULL AND deleted_at IS NULL ORDER BY id LIMIT $3)`,
        [start, CHECKED_PER_PASS, Math.max(0, Math.min(start, start + CHECKED_PER_PASS - known))],
      );
      const sample = [...new Set(res.rows.map((r) => r.id))];
      if (sample.length === 0) return;
      const inRegistry = (await store.redis.smismember(store.global.events, ...sample)) as number[];
      const present = await store.eventsExist(sample);
      await Promise.all(sample.filter((_, i) => !inRegistry[i] || !present[i]).map((id) => this.ensure(id)));
    } catch (err) {
      this.options.onError?.(err);
    }
  }

  private async rebuild(eventId: string): Promise<boolean> {
    try {
      const outcome = await rebuildEvent(this.options.pool, this.options.store, eventId);
      if (outcome.status === 'rebuilt') this.options.onRebuilt?.(eventId, outcome);
      return outcome.status !== 'unknown';
    } catch (err) {
      this.options.onError?.(err, eventId);
      return false;
    }
  }
}
