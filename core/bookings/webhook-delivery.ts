/**
 * Sending webhook deliveries: at least once, signed, retried with
 * exponential backoff, parked after the retry window, in order per booking.
 *
 * Any number of gateway processes run this. Each pass claims due deliveries
 * with `FOR UPDATE SKIP LOCKED` and marks them leased to this process
 * (`claimed_by`, `claimed_until` = now + leaseMs): no other process claims a
 * leased delivery, and a send is bounded by timeoutMs, shorter than the
 * lease, so two processes never send the same delivery at once. A process
 * that dies mid-send leaves its lease to lapse; another sends again (the
 * receiver sees the same `Seatmap-Id` twice: at least once). The outcome is
 * written only by the holder of the lease.
 *
 * Order: a delivery is claimable only when no earlier delivery (lower seq) of
 * the same webhook, event and order key (the booking; the event itself for
 * event-level entries; none for expired holds) is still pending. A parked
 * delivery no longer holds the others back.
 *
 * The body is the log entry exactly as the pull log returns it; the
 * signature is `Seatmap-Signature: v1=<hex HMAC-SHA256(secret, id.timestamp.body)>`
 * (signatures.ts). A 2xx answer is success; anything else (a redirect
 * included, never followed), a timeout or a refused connection is a failure.
 */
import type pg from 'pg';
import { toLogEntry, type LogEventType } from './event-log.js';
import { webhookSignature } from './signatures.js';

export interface WebhookDeliveryOptions {
  pool: pg.Pool;
  /** this process, for the lease */
  consumer: string;
  /** how often to look for due deliveries when there was nothing to send */
  pollMs: number;
  /** one attempt's time limit */
  timeoutMs: number;
  /** how long a claimed delivery is this process's; more than timeoutMs */
  leaseMs: number;
  /** the first retry's delay; doubled each attempt up to retryMaxMs */
  retryBaseMs: number;
  retryMaxMs: number;
  /** a delivery still failing this long after it was queued is parked */
  retryForMs: number;
  /** deliveries sent at once */
  concurrency?: number;
  onResult?(result: 'delivered' | 'failed' | 'parked', webhookId: string): void;
  onError?(err: unknown): void;
}

interface Claimed {
  webhook_id: string;
  url: string;
  secret: string;
  attempts: number;
  queued_at: Date;
  id: string;
  event_id: string;
  seq: string;
  type: LogEventType;
  at: Date;
  data: Record<string, unknown>;
}

/** The delay before attempt `attempts + 1` (after `attempts` failures): base × 2^(attempts−1), at most max, ±20 % jitter. */
export function retryDelay(attempts: number, baseMs: number, maxMs: number, random = Math.random): number {
  const exp = Math.min(maxMs, baseMs * 2 ** Math.max(0, attempts - 1));
  return Math.round(exp * (0.8 + 0.4 * random()));
}

export class WebhookDelivery {
  private running = false;
  private loop: Promise<void> | null = null;
  private wake: (() => void) | null = null;

  constructor(private readonly options: WebhookDeliveryOptions) {
    if (options.leaseMs <= options.timeoutMs) throw new RangeError('the lease must outlast one attempt (leaseMs > timeoutMs)');
  }

  start(): void {
    if (this.loop) return;
    this.running = true;
    this.loop = this.run();
  }

  async stop(): Promise<void> {
    this.running = false;
    this.wake?.();
    await this.loop;
    this.loop = null;
  }

  private async run(): Promise<void> {
    while (this.running) {
      let sent = 0;
      try {
        sent = await this.deliverOnce();
      } catch (err) {
        this.options.onError?.(err);
      }
      // a delivery that went out may have let the next one of its booking through: look again at once
      if (sent === 0 && this.running) await this.sleep(this.options.pollMs);
    }
  }

  /** One pass: claims up to `concurrency` due deliveries, sends them, records the outcomes. Resolves to how many were attempted. */
  async deliverOnce(): Promise<number> {
    const claimed = await this.claim(this.options.concurrency ?? 16);
    await Promise.all(claimed.map((d) => this.send(d)));
    return claimed.length;
  }

  private async claim(limit: number): Promise<Claimed[]> {
    const { pool, consumer, leaseMs } = this.options;
    const res = await pool.query<Claimed>(
      `WITH due AS (
         SELECT d.webhook_id, d.event_id, d.seq FROM webhook_deliveries d
          WHERE d.state = 'pending' AND d.next_attempt_at <= now()
            AND (d.claimed_until IS NULL OR d.claimed_until < now())
            AND NOT EXISTS (
              SELECT 1 FROM webhook_deliveries e
               WHERE e.webhook_id = d.webhook_id AND e.event_id = d.event_id AND e.order_key = d.order_key
                 AND e.state = 'pending' AND e.seq < d.seq)
          ORDER BY d.next_attempt_at, d.event_id, d.seq
          LIMIT $2
          FOR UPDATE SKIP LOCKED
       )
       UPDATE webhook_deliveries w SET claimed_by = $1, claimed_until = now() + make_interval(secs => $3::float8 / 1000)
         FROM due, webhooks h, event_log l
        WHERE w.webhook_id = due.webhook_id AND w.event_id = due.event_id AND w.seq = due.seq
          AND h.id = w.webhook_id AND l.event_id = w.event_id AND l.seq = w.seq
       RETURNING w.webhook_id::text AS webhook_id, h.url, h.secret, w.attempts, w.queued_at,
                 l.id::text AS id, l.event_id, l.seq, l.type, l.at, l.data`,
      [consumer, limit, leaseMs],
    );
    return res.rows;
  }

  private async send(d: Claimed): Promise<void> {
    const entry = toLogEntry(d);
    const body = JSON.stringify(entry);
    const timestamp = Math.floor(Date.now() / 1000);
    let status: number | null = null;
    let error: string | null = null;
    try {
      const response = await fetch(d.url, {
        method: 'POST',
        headers: {
          'Content-Type': 'application/json',
          'User-Agent': 'seatmap-gateway',
          'Seatmap-Id': entry.id,
          'Seatmap-Timestamp': String(timestamp),
          'Seatmap-Signature': webhookSignature(d.secret, entry.id, timestamp, body),
          'Seatmap-Attempt': String(d.attempts + 1),
        },
        body,
        redirect: 'manual',
        signal: AbortSignal.timeout(this.options.timeoutMs),
      });
      status = response.status;
      await response.body?.cancel().catch(() => undefined);
      if (status < 200 || status > 299) error = `HTTP ${status}`;
    } catch (err) {
      error = describe(err);
    }
    try {
      await this.record(d, status, error);
    } catch (err) {
      this.options.onError?.(err);
    }
  }

  private async record(d: Claimed, status: number | null, error: string | null): Promise<void> {
    const { pool, consumer, retryBaseMs, retryMaxMs, retryForMs } = this.options;
    const key = [d.webhook_id, d.event_id, d.seq, consumer];
    const where = 'webhook_id = $1::uuid AND event_id = $2 AND seq = $3 AND claimed_by = $4';
    if (error === null) {
      await pool.query(
        `UPDATE webhook_deliveries SET state = 'delivered', delivered_at = now(), attempts = attempts + 1, last_status = $5, last_error = NULL,
                claimed_by = NULL, claimed_until = NULL WHERE ${where}`,
        [...key, status],
      );
      this.options.onResult?.('delivered', d.webhook_id);
      return;
    }
    const attempts = d.attempts + 1;
    const park = Date.now() - d.queued_at.getTime() >= retryForMs;
    if (park) {
      await pool.query(
        `UPDATE webhook_deliveries SET state = 'parked', parked_at = now(), attempts = $5, last_status = $6, last_error = $7,
                claimed_by = NULL, claimed_until = NULL WHERE ${where}`,
        [...key, attempts, status, error],
      );
    } else {
      await pool.query(
        `UPDATE webhook_deliveries SET attempts = $5, last_status = $6, last_error = $7,
                next_attempt_at = now() + make_interval(secs => $8::float8 / 1000), claimed_by = NULL, claimed_until = NULL WHERE ${where}`,
        [...key, attempts, status, error, retryDelay(attempts, retryBaseMs, retryMaxMs)],
      );
    }
    this.options.onResult?.(park ? 'parked' : 'failed', d.webhook_id);
  }

  private sleep(ms: number): Promise<void> {
    return new Promise((resolve) => {
      const timer = setTimeout(done, ms);
      const self = this;
      function done() {
        clearTimeout(timer);
        self.wake = null;
        resolve();
      }
      this.wake = done;
    });
  }
}

/** A failed attempt, in a few words, for last_error (no URL: it may carry credentials). */
function describe(err: unknown): string {
  if (err instanceof Error) {
    if (err.name === 'TimeoutError' || err.name === 'AbortError') return 'timed out';
    const cause = (err as { cause?: { code?: string; message?: string } }).cause;
    return (cause?.code ?? cause?.message ?? err.message).slice(0, 200);
  }
  return String(err).slice(0, 200);
}
