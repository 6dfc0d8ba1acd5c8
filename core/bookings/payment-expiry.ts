/**
 * The end of the payment window: a `pending_payment` booking whose `pay_by`
 * has passed goes to `expired` and its seats are freed. Exactly once, on one
 * node, however many run this: each pass claims due bookings with
 * `FOR UPDATE SKIP LOCKED` (a row another node is expiring is skipped, not
 * waited for), and the transition is checked against the row's state under
 * that lock, so a booking confirmed, failed or cancelled meanwhile is left
 * alone and an expired one is never expired again. History, log entry and
 * seat release commit together; Redis frees the seats after the commit
 * (seat-releases.ts).
 *
 * `pay_by` was set by the Redis clock at checkout and is compared here with
 * the Postgres clock: the two servers are expected to agree (NTP).
 */
import type pg from 'pg';
import type { SeatStore } from '../store/seat-store.js';
import { BOOKING_COLUMNS, type BookingRow } from './booking-rows.js';
import { addSeatsTaken, appendToLog, type NewLogEntry } from './event-log.js';
import { applyRelease } from './seat-releases.js';
import { applyAction } from './transitions.js';
import { inTransaction } from './transaction.js';

export interface PaymentExpiryOptions {
  pool: pg.Pool;
  store: SeatStore;
  /** how often to look for unpaid bookings past their payBy (0: only when asked) */
  intervalMs: number;
  /** bookings expired per transaction; a full batch is followed by another at once */
  batchSize?: number;
  onExpired?(bookings: { id: string; eventId: string; freed: number | null }[]): void;
  onError?(err: unknown): void;
}

export class PaymentExpiry {
  private timer: NodeJS.Timeout | null = null;
  private running: Promise<unknown> | null = null;

  constructor(private readonly options: PaymentExpiryOptions) {}

  start(): void {
    if (this.timer || this.options.intervalMs <= 0) return;
    this.timer = setInterval(() => {
      if (!this.running) this.running = this.expireDue().catch((err: unknown) => this.options.onError?.(err)).finally(() => (this.running = null));
    }, this.options.intervalMs);
    this.timer.unref();
  }

  async stop(): Promise<void> {
    if (this.timer) clearInterval(this.timer);
    this.timer = null;
    await this.running;
  }

  /** Expires every booking due now, batch after batch; resolves to how many this node expired. */
  async expireDue(): Promise<number> {
    const batchSize = this.options.batchSize ?? 100;
    let total = 0;
    for (;;) {
      const n = await this.expireBatch(batchSize);
      total += n.claimed;
      if (n.claimed < batchSize) return total;
    }
  }

  private async expireBatch(limit: number): Promise<{ claimed: number }> {
    const { pool, store } = this.options;
    const done = await inTransaction(pool, async (client) => {
      const due = await client.query<BookingRow>(
        `SELECT ${BOOKING_COLUMNS} FROM bookings
          WHERE state = 'pending_payment' AND pay_by <= now()
          ORDER BY pay_by LIMIT $1 FOR UPDATE SKIP LOCKED`,
        [limit],
      );
      const entries: NewLogEntry[] = [];
      const expired: { id: string; eventId: string; releaseId: string | null }[] = [];
      const seatsTaken = new Map<string, number>();
      for (const row of due.rows) {
        const outcome = await applyAction(client, row, { action: 'expire', by: null, detail: { reason: 'payment window ended' } });
        if (!outcome.ok || !outcome.changed) continue;
        if (outcome.entry) entries.push(outcome.entry);
        addSeatsTaken(seatsTaken, row.event_id, -outcome.seatsGivenUp);
        expired.push({ id: row.id, eventId: row.event_id, releaseId: outcome.releaseId });
      }
      await appendToLog(client, entries, { seatsTaken });
      return { claimed: due.rows.length, expired };
    });
    if (done.expired.length === 0) return done;
    const report: { id: string; eventId: string; freed: number | null }[] = [];
    for (const e of done.expired) {
      report.push({ id: e.id, eventId: e.eventId, freed: e.releaseId ? await applyRelease(pool, store, e.releaseId, this.options.onError) : 0 });
    }
    this.options.onExpired?.(report);
    return done;
  }
}
