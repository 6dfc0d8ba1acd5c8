/**
 * Taking over a dead consumer's entries: entries pending with another
 * consumer of the group for longer than claimIdleMs are claimed with
 * XAUTOCLAIM (every claimIdleMs / 2), so a flusher that died leaves nothing
 * behind for long. The commit rule makes a takeover safe: the claimed entry
 * inserts nothing when its booking was committed before.
 */
import type { Redis } from 'ioredis';
import type { RawEntry } from './outbox-entries.js';

export interface OutboxClaimsOptions {
  redis: Redis;
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

  constructor(options: OutboxClaimsOptions) {
    this.options = options;
  }

  /** Claims idle entries of other consumers in `outboxes`, when a claim is due. */
  async claimIfDue(outboxes: readonly string[]): Promise<RawEntry[]> {
    const { redis, group, consumer, claimIdleMs, batchSize } = this.options;
    const now = Date.now();
    if (now - this.lastClaim < Math.max(50, claimIdleMs / 2)) return [];
    this.lastClaim = now;
    const watched = new Set(outboxes);
    for (const outbox of this.cursors.keys()) if (!watched.has(outbox)) this.cursors.delete(outbox);
    const out: RawEntry[] = [];
    for (const outbox of outboxes) {
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
