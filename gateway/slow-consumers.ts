/**
 * The slow-consumer policy: when a connection that does not read is paused,
 * resumed or closed, and the process-wide budget for unsent bytes.
 *
 * - Past `slowConsumerBytes` of unsent data a connection is paused (taken off
 *   its rooms' topics; see gateway/subscriptions.ts), and resumed once it has
 *   drained to a quarter of that. One still not drained after
 *   `slowConsumerGraceMs` is closed with 4008.
 * - Every connection's unsent bytes are bounded by uWS (maxBackpressure), and
 *   all of them together by `outboundBudgetBytes`: past the budget the
 *   connections holding the most unsent data are closed with 4008, heaviest
 *   first, until the total is back under the budget. So many clients that stop
 *   reading at once cannot take the process's memory, whatever MAX_CONNECTIONS
 *   allows.
 *
 * A connection's unsent data is known only by asking uWS, so the check walks
 * the open connections every BACKPRESSURE_CHECK_MS (one native call each).
 */
import type { Logger } from 'pino';
import { CLOSE_CODES } from '../core/protocol/index.js';
import type { GatewayMetrics } from './metrics.js';
import type { Subscriber, Subscriptions } from './subscriptions.js';

export const BACKPRESSURE_CHECK_MS = 500;
/** a paused connection is resumed once its unsent data is down to this share of slowConsumerBytes */
export const RESUME_FRACTION = 1 / 4;
/** past the budget, a connection with more unsent data than this is dropped (1006) rather than closed behind it (4008) */
export const DROP_ABOVE_BYTES = 256 * 1024;
/** past the budget, connections are closed until the total is at most this share of it */
const BUDGET_TARGET = 0.9;

export interface SlowConsumerLimits {
  slowConsumerBytes: number;
  slowConsumerGraceMs: number;
  outboundBudgetBytes: number;
}

export interface SlowConsumersOptions {
  connections: Iterable<Subscriber>;
  subscriptions: Pick<Subscriptions, 'pause' | 'resume'>;
  limits: SlowConsumerLimits;
  metrics: GatewayMetrics;
  logger: Logger;
  now?: () => number;
}

/** What one check decided, for each connection it acted on (returned for tests). */
export interface CheckOutcome {
  paused: Subscriber[];
  resumed: Subscriber[];
  closedSlow: Subscriber[];
  closedOverBudget: Subscriber[];
  /** unsent bytes of every connection at the check, before any close */
  buffered: number;
}

export class SlowConsumers {
  private timer: NodeJS.Timeout | null = null;
  private readonly now: () => number;
  /** unsent bytes of all connections: measured at each check, plus what admitted frames added since */
  private estimate = 0;

  constructor(private readonly options: SlowConsumersOptions) {
    this.now = options.now ?? Date.now;
  }

  start(): void {
    if (this.timer) return;
    this.timer = setInterval(() => this.check(), BACKPRESSURE_CHECK_MS);
    this.timer.unref();
  }

  stop(): void {
    if (this.timer) clearInterval(this.timer);
    this.timer = null;
  }

  /** uWS's drain callback: a paused connection that has caught up is resumed at once. */
  drained(s: Subscriber): void {
    if (s.pausedAt !== null && s.bufferedAmount() <= this.resumeBelow) this.options.subscriptions.resume(s);
  }

  private get resumeBelow(): number {
    return this.options.limits.slowConsumerBytes * RESUME_FRACTION;
  }

  check(): CheckOutcome {
    const { limits, metrics, subscriptions } = this.options;
    const now = this.now();
    const outcome: CheckOutcome = { paused: [], resumed: [], closedSlow: [], closedOverBudget: [], buffered: 0 };
    const backlogged: { s: Subscriber; bytes: number }[] = [];
    for (const s of this.options.connections) {
      if (!s.open) continue;
      const bytes = s.bufferedAmount();
      if (bytes > 0) {
        outcome.buffered += bytes;
        backlogged.push({ s, bytes });
      }
      if (s.pausedAt === null) {
        if (bytes > limits.slowConsumerBytes) {
          subscriptions.pause(s, 'backlog');
          outcome.paused.push(s);
        }
      } else if (bytes <= this.resumeBelow) {
        subscriptions.resume(s);
        outcome.resumed.push(s);
      } else if (now - s.pausedAt > limits.slowConsumerGraceMs) {
        this.close(s, 'closed');
        outcome.closedSlow.push(s);
      }
    }
    metrics.outboundBuffered.set(outcome.buffered);
    let total = outcome.buffered;
    if (total > limits.outboundBudgetBytes) {
      const { closed, remaining } = this.closeHeaviest(backlogged, total);
      outcome.closedOverBudget.push(...closed);
      total = remaining;
    }
    this.estimate = total;
    return outcome;
  }

  /**
   * Asked before a large frame (a catch-up) is queued for `s`: true when it fits
   * the process budget. When it would not, the budget is enforced at once,
   * counting the frame as `s`'s: the heaviest connections are closed until it
   * fits, and false means `s` itself was one of them. Between two checks the
   * total is estimated from the last check plus what admitted frames added.
   */
  admit(s: Subscriber, bytes: number): boolean {
    const { outboundBudgetBytes } = this.options.limits;
    if (this.estimate + bytes <= outboundBudgetBytes) return true;
    const backlogged: { s: Subscriber; bytes: number }[] = [];
    let total = bytes;
    for (const c of this.options.connections) {
      if (!c.open) continue;
      const queued = c.bufferedAmount() + (c === s ? bytes : 0);
      if (c !== s) total += c.bufferedAmount();
      if (queued > 0) backlogged.push({ s: c, bytes: queued });
    }
    const closed = this.closeHeaviest(backlogged, total);
    this.estimate = closed.remaining;
    return s.open;
  }

  /** What admitted frames added to unsent data (measured by the caller after the send). */
  queued(bytes: number): void {
    if (bytes > 0) this.estimate += bytes;
  }

  private closeHeaviest(backlogged: { s: Subscriber; bytes: number }[], total: number): { closed: Subscriber[]; remaining: number } {
    const { outboundBudgetBytes } = this.options.limits;
    const closed: Subscriber[] = [];
    const target = outboundBudgetBytes * BUDGET_TARGET;
    backlogged.sort((a, b) => b.bytes - a.bytes);
    for (const { s, bytes } of backlogged) {
      if (!s.open) {
        total -= bytes; // closed as slow already: its data goes with it
        continue;
      }
      if (total <= target) break;
      this.closeForBudget(s, bytes);
      closed.push(s);
      total -= bytes;
    }
    if (closed.length > 0) {
      this.options.logger.warn(
        { closed: closed.length, remaining: total, budget: outboundBudgetBytes },
        'unsent data past the process budget; closed the heaviest slow connections',
      );
    }
    return { closed, remaining: total };
  }

  private close(s: Subscriber, action: 'closed'): void {
    this.options.metrics.slowConsumers.inc({ action });
    s.cork(() => s.end(CLOSE_CODES.SLOW_CONSUMER.code, 'slow consumer'));
  }

  /**
   * A close frame waits behind the unsent data, and uWS keeps that data until
   * it is sent (or the socket times out): closing for the budget would free
   * nothing. So a connection with more than DROP_ABOVE_BYTES unsent is dropped
   * without a close frame (the client sees 1006, reconnects and resumes, as
   * after 4008); one with less gets 4008 behind its data.
   */
  private closeForBudget(s: Subscriber, bytes: number): void {
    this.options.metrics.slowConsumers.inc({ action: 'closed_budget' });
    if (bytes > DROP_ABOVE_BYTES) s.drop();
    else s.cork(() => s.end(CLOSE_CODES.SLOW_CONSUMER.code, 'slow consumer (server budget)'));
  }
}
