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
const CHECKED_PER_PASS = 64;

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
   * One pass over every event Postgres has a layout for. An event missing from
   * the registry set (what a flushed or new Redis looks like) is rebuilt; of
   * the others, a rotating window of CHECKED_PER_PASS is checked key by key
   * (what an evicted event looks like). So a pass costs Redis 1 + at most
   * CHECKED_PER_PASS commands, however many events there are.
   */
  async checkAll(): Promise<void> {
    const { pool, store } = this.options;
    try {
      const res = await pool.query<{ id: string }>('SELECT id FROM events WHERE layout IS NOT NULL AND deleted_at IS NULL ORDER BY id');
      const ids = res.rows.map((r) => r.id);
      if (ids.length === 0) return;
      const registered = new Set(await store.registeredEvents());
      const missing = ids.filter((id) => !registered.has(id));
      const window = ids.filter((id) => registered.has(id));
      const start = this.windowStart % Math.max(1, window.length);
      const sample = [...window.slice(start, start + CHECKED_PER_PASS), ...window.slice(0, Math.max(0, start + CHECKED_PER_PASS - window.length))];
      this.windowStart = start + CHECKED_PER_PASS;
      const present = await store.eventsExist(sample);
      missing.push(...sample.filter((_, i) => !present[i]));
      await Promise.all(missing.map((id) => this.ensure(id)));
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
