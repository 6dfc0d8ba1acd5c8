/**
 * Taking over a dead consumer's entries: entries pending with another
 * consumer of the group for longer than claimIdleMs are claimed with
 * XAUTOCLAIM (every claimIdleMs / 2), so a flusher that died leaves nothing
 * behind for long. The commit rule makes a takeover safe: the claimed entry
 * inserts nothing when its booking was committed before.
 *
 * A claim round takes a rotating window of at most CLAIM_WINDOW outboxes, so
 * its cost is a constant per node however many events exist: with E events,
 * a dead consumer's entries wait at most claimIdleMs + (E / CLAIM_WINDOW) ×
 * claimIdleMs / 2 to be taken over. The flusher also reads the window's new
 * entries, the safety net for a change signal that was lost.
 */
import type { RedisClient } from '../store/redis-client.js';
import type { RawEntry } from './outbox-entries.js';

/** outboxes one claim round looks at, at most */
export const CLAIM_WINDOW = 50;

export interface OutboxClaimsOptions {
  redis: RedisClient;
  group: string;
  consumer: string;
  claimIdleMs: number;
  batchSize: number;
}

export class OutboxClaims {
  private readonly options: OutboxClaimsOptions;
  /** XAUTOCLAIM cursor per outbox */
  private readonly cursors = new Map<string, string>();
  private lastClaim = -Infinity;
  /** where the next window starts */
  private windowStart = 0;
  /** the outboxes of the last claim round */
  lastWindow: string[] = [];

  constructor(options: OutboxClaimsOptions) {
    this.options = options;
  }

  /** ms until the next claim round is due */
  dueIn(): number {
    return Math.max(0, this.lastClaim + this.interval() - Date.now());
  }

  private interval(): number {
    return Math.max(50, this.options.claimIdleMs / 2);
  }

  /** Claims idle entries of other consumers in the next window of the outboxes (asked for only when a claim is due), when one is due. */
  async claimIfDue(watched: () => readonly string[]): Promise<RawEntry[]> {
    const { redis, group, consumer, claimIdleMs, batchSize } = this.options;
    const now = Date.now();
    this.lastWindow = [];
    if (now - this.lastClaim < this.interval()) return [];
    this.lastClaim = now;
    const outboxes = watched();
    const known = new Set(outboxes);
    for (const outbox of this.cursors.keys()) if (!known.has(outbox)) this.cursors.delete(outbox);
    let window: readonly string[] = outboxes;
    if (outboxes.length > CLAIM_WINDOW) {
      const start = this.windowStart % outboxes.length;
      this.windowStart = start + CLAIM_WINDOW;
      window = Array.from({ length: CLAIM_WINDOW }, (_, i) => outboxes[(start + i) % outboxes.length]!);
    }
    this.lastWindow = [...window];
    const out: RawEntry[] = [];
    for (const outbox of window) {
      const reply = (await redis.xautoclaim(outbox, group, consumer, claimIdleMs, this.cursors.get(outbox) ?? '0-0', 'COUNT', batchSize)) as [
        string,
        [string, string[] | null][],
        string[]?,
      ];
      this.cursors.set(outbox, reply[0]);
      for (const [entryId, fields] of reply[1]) out.push({ stream: outbox, entryId, fields });
    }
    return out;
  }
}
