/**
 * Reconnect delays: exponential backoff with full jitter, as docs/protocol.md
 * asks. When a server goes away, thousands of clients lose it at once; a
 * uniformly random delay in [0, bound) spreads their return instead of
 * bringing them back in waves.
 */

export interface BackoffPolicy {
  /** the bound of the first attempt, ms */
  baseMs: number;
  /** the bound never grows past this, ms */
  capMs: number;
}

export const DEFAULT_BACKOFF: Readonly<BackoffPolicy> = Object.freeze({ baseMs: 500, capMs: 30_000 });

/** The upper bound of the delay before attempt `attempt` (0-based): min(cap, base × 2^attempt). */
export function backoffBound(attempt: number, policy: BackoffPolicy = DEFAULT_BACKOFF): number {
  // 2^attempt overflows to Infinity long after it passed any sane cap; min() handles both
  return Math.min(policy.capMs, policy.baseMs * 2 ** Math.max(0, attempt));
}

/** A delay drawn uniformly from [0, bound): `random` returns values in [0, 1) like Math.random. */
export function backoffDelay(attempt: number, policy: BackoffPolicy = DEFAULT_BACKOFF, random: () => number = Math.random): number {
  return random() * backoffBound(attempt, policy);
}

/** Counts failed attempts; reset once a connection has proved stable. */
export class Backoff {
  attempt = 0;

  constructor(
    private readonly policy: BackoffPolicy = DEFAULT_BACKOFF,
    private readonly random: () => number = Math.random,
  ) {}

  /** The delay before the next attempt, and the attempt number it was drawn for. */
  next(): { delayMs: number; attempt: number; boundMs: number } {
    const attempt = this.attempt++;
    const boundMs = backoffBound(attempt, this.policy);
    return { delayMs: this.random() * boundMs, attempt, boundMs };
  }

  reset(): void {
    this.attempt = 0;
  }
}
