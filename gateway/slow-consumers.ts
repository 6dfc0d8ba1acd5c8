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
      const target = limits.outboundBudgetBytes * BUDGET_TARGET;
      backlogged.sort((a, b) => b.bytes - a.bytes);
      for (const { s, bytes } of backlogged) {
        if (!s.open) {
          total -= bytes; // closed as slow above: its data goes with it
          continue;
        }
        if (total <= target) break;
        this.close(s, 'closed_budget');
        outcome.closedOverBudget.push(s);
        total -= bytes;
      }
      this.options.logger.warn(
        { buffered: outcome.buffered, budget: limits.outboundBudgetBytes, closed: outcome.closedOverBudget.length },
        'unsent data past the process budget; closed the heaviest slow connections',
      );
    }
    return outcome;
  }

  private close(s: Subscriber, action: 'closed' | 'closed_budget'): void {
    this.options.metrics.slowConsumers.inc({ action });
    s.cork(() => s.end(CLOSE_CODES.SLOW_CONSUMER.code, action === 'closed' ? 'slow consumer' : 'slow consumer (server budget)'));
  }
}
