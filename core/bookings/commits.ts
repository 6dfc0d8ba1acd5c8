/**
 * Waiting for bookings to be committed in Postgres, on any gateway node.
 *
 * A client's `book` is answered only once its booking is durable. The flusher
 * that commits it may run in any process, so this process learns of commits
 * three ways, fastest first:
 *
 * 1. its own flusher's onCommitted callback (same process, no round trip);
 * 2. LISTEN on COMMIT_CHANNEL: every flusher NOTIFYs inside its transaction,
 *    and Postgres delivers notifications only when that transaction commits;
 * 3. a poll of the bookings table for waiters older than `pollMs`, which covers
 *    notifications missed while the listening connection was down.
 *
 * A booking Postgres refused for good (a dead-lettered outbox entry) is
 * reported by the local flusher and, once Redis has voided it, on
 * REFUSAL_CHANNEL to every node. A waiter that misses both times out
 * (PENDING); the client's retry with the same key then reads the refusal
 * from the booking's idempotency record in Redis.
 */
import pg from 'pg';
import { COMMIT_CHANNEL, REFUSAL_CHANNEL, parseNotification, parseRefusals } from './codes.js';
import type { BookingState } from './states.js';

export type { BookingState } from './states.js';

export type CommitOutcome =
  /** `state`: the booking's state, when known (a notification does not say: then it is the state it was made in) */
  | { status: 'committed'; reference: string; state?: BookingState }
  | { status: 'refused'; code: string }
  | { status: 'timeout' };

export interface CommitWatcherOptions {
  /** a connection string for the listening connection (it is held open) */
  databaseUrl: string;
  /** a pool for the fallback poll */
  pool: pg.Pool;
  /** waiters older than this are looked up in the bookings table (default 500 ms) */
  pollMs?: number;
  onError?(err: unknown): void;
}

interface Waiter {
  since: number;
  resolve(outcome: CommitOutcome): void;
}

export class CommitWatcher {
  private readonly waiters = new Map<string, Set<Waiter>>();
  private readonly databaseUrl: string;
  private readonly pool: pg.Pool;
  private readonly pollMs: number;
  private readonly onError: (err: unknown) => void;
  private listener: pg.Client | null = null;
  private running = false;
  private reconnectTimer: NodeJS.Timeout | null = null;
  private pollTimer: NodeJS.Timeout | null = null;
  private polling = false;
  private reconnectDelay = 250;

  constructor(options: CommitWatcherOptions) {
    this.databaseUrl = options.databaseUrl;
    this.pool = options.pool;
    this.pollMs = options.pollMs ?? 500;
    this.onError = options.onError ?? (() => undefined);
  }

  /** Starts listening; never throws: while Postgres is unreachable it keeps trying, and the poll covers the gap. */
  start(): void {
    if (this.running) return;
    this.running = true;
    void this.connect();
    this.pollTimer = setInterval(() => void this.poll(), Math.max(50, Math.floor(this.pollMs / 2)));
    this.pollTimer.unref();
  }

  /** Stops; waiters still waiting are answered `timeout`. */
  async stop(): Promise<void> {
    this.running = false;
    if (this.reconnectTimer) clearTimeout(this.reconnectTimer);
    if (this.pollTimer) clearInterval(this.pollTimer);
    const listener = this.listener;
    this.listener = null;
    await listener?.end().catch(() => undefined);
    for (const [id, set] of this.waiters) {
      this.waiters.delete(id);
      for (const w of set) w.resolve({ status: 'timeout' });
    }
  }

  /** Bookings known to be committed (the local flusher, or a notification). */
  committed(bookings: Iterable<{ id: string; reference: string; state: BookingState }>): void {
    for (const b of bookings) this.settle(b.id, { status: 'committed', reference: b.reference, state: b.state });
  }

  /** A booking Postgres refused for good; `code` says why (SQLSTATE, STALE_EPOCH or MALFORMED). */
  refused(bookingId: string, code: string): void {
    this.settle(bookingId, { status: 'refused', code });
  }

  /**
   * Resolves when the booking is committed (or refused), or `timeout` after
   * `timeoutMs`. `lookNow` checks the bookings table at once: for a booking
   * that may have been committed before this call (a replayed `book`), whose
   * state may have changed since; such a booking is answered with its state
   * read from the table.
   */
  async waitFor(bookingId: string, timeoutMs: number, lookNow = false): Promise<CommitOutcome> {
    const outcome = await this.wait(bookingId, timeoutMs, lookNow);
    if (!lookNow || outcome.status !== 'committed' || outcome.state) return outcome;
    try {
      const res = await this.pool.query<{ state: BookingState }>('SELECT state FROM bookings WHERE id = $1::uuid', [bookingId.toLowerCase()]);
      return res.rows[0] ? { ...outcome, state: res.rows[0].state } : outcome;
    } catch (err) {
      this.onError(err);
      return outcome;
    }
  }

  private wait(bookingId: string, timeoutMs: number, lookNow: boolean): Promise<CommitOutcome> {
    const id = bookingId.toLowerCase();
    return new Promise<CommitOutcome>((resolve) => {
      let set = this.waiters.get(id);
      if (!set) this.waiters.set(id, (set = new Set()));
      const waiter: Waiter = {
        since: lookNow ? -Infinity : Date.now(),
        resolve: (outcome) => {
          clearTimeout(timer);
          resolve(outcome);
        },
      };
      set.add(waiter);
      const timer = setTimeout(() => {
        const current = this.waiters.get(id);
        current?.delete(waiter);
        if (current?.size === 0) this.waiters.delete(id);
        resolve({ status: 'timeout' });
      }, timeoutMs);
      if (lookNow) void this.poll();
    });
  }

  private settle(bookingId: string, outcome: CommitOutcome): void {
    const id = bookingId.toLowerCase();
    const set = this.waiters.get(id);
    if (!set) return;
    this.waiters.delete(id);
    for (const w of set) w.resolve(outcome);
  }

  private async connect(): Promise<void> {
    if (!this.running) return;
    const client = new pg.Client({ connectionString: this.databaseUrl, connectionTimeoutMillis: 3000, keepAlive: true });
    const lost = (err?: unknown) => {
      if (err) this.onError(err);
      if (this.listener !== client) return;
      this.listener = null;
      client.end().catch(() => undefined);
      this.scheduleReconnect();
    };
    client.on('error', lost);
    client.on('end', () => lost());
    client.on('notification', (msg) => {
      if (!msg.payload) return;
      if (msg.channel === COMMIT_CHANNEL) {
        for (const [id, reference] of parseNotification(msg.payload)) this.settle(id, { status: 'committed', reference });
      } else if (msg.channel === REFUSAL_CHANNEL) {
        for (const [id, code] of parseRefusals(msg.payload)) this.settle(id, { status: 'refused', code });
      }
    });
    this.listener = client;
    try {
      await client.connect();
      await client.query(`LISTEN ${COMMIT_CHANNEL}`);
      await client.query(`LISTEN ${REFUSAL_CHANNEL}`);
      if (this.listener !== client) return;
      this.reconnectDelay = 250;
      // commits made while the connection was down are found by the poll
      void this.poll(true);
    } catch (err) {
      lost(err);
    }
  }

  private scheduleReconnect(): void {
    if (!this.running || this.reconnectTimer) return;
    const delay = this.reconnectDelay;
    this.reconnectDelay = Math.min(this.reconnectDelay * 2, 5000);
    this.reconnectTimer = setTimeout(() => {
      this.reconnectTimer = null;
      void this.connect();
    }, delay);
    this.reconnectTimer.unref();
  }

  /** Looks up waiters older than pollMs (all of them when `everyone`) in the bookings table. */
  private async poll(everyone = false): Promise<void> {
    if (this.polling || this.waiters.size === 0) return;
    const cutoff = everyone ? Infinity : Date.now() - this.pollMs;
    const ids: string[] = [];
    for (const [id, set] of this.waiters) {
      for (const w of set) {
        if (w.since <= cutoff) {
          ids.push(id);
          break;
        }
      }
    }
    if (ids.length === 0) return;
    this.polling = true;
    try {
      const res = await this.pool.query<{ id: string; reference: string; state: BookingState }>(
        'SELECT id::text AS id, reference, state FROM bookings WHERE id = ANY($1::uuid[])',
        [ids],
      );
      for (const row of res.rows) this.settle(row.id, { status: 'committed', reference: row.reference, state: row.state });
      // a waiter that looked now and found nothing waits like the others
      for (const id of ids) for (const w of this.waiters.get(id) ?? []) if (w.since === -Infinity) w.since = Date.now();
    } catch (err) {
      this.onError(err);
    } finally {
      this.polling = false;
    }
  }
}
