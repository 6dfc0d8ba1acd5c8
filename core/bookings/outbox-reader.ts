/**
 * Reading the outboxes: which outboxes there are (the event registry), their
 * consumer group, and the two reads of a round: entries pending with this
 * consumer (after a restart or a failed round) and new entries, blocking
 * when asked. Taking over another consumer's entries is outbox-claims.ts.
 */
import type { Redis } from 'ioredis';
import { eventKeys, globalKeys, isValidEventId } from '../store/keys.js';
import { flatten, type RawEntry, type StreamReply } from './outbox-entries.js';

export interface OutboxReaderOptions {
  redis: Redis;
  prefix: string;
  group: string;
  consumer: string;
  batchSize: number;
  refreshMs: number;
  /** called for each event newly seen in the registry, after its group exists */
  onNewEvent(eventId: string): Promise<void>;
}

export class OutboxReader {
  private readonly options: OutboxReaderOptions;
  /** outbox key -> event id, for the outboxes whose group exists */
  private outboxes = new Map<string, string>();
  /** outboxes whose entries pending with this consumer have all been read again */
  private readonly ownPendingRead = new Set<string>();
  private lastRefresh = -Infinity;

  constructor(options: OutboxReaderOptions) {
    this.options = options;
  }

  /** The outboxes watched now. */
  streams(): string[] {
    return [...this.outboxes.keys()];
  }

  get size(): number {
    return this.outboxes.size;
  }

  /** The event an outbox belongs to, if it is watched. */
  eventOf(stream: string): string | undefined {
    return this.outboxes.get(stream);
  }

  /** Forgets every outbox and reads the registry again at once (a stream or its group vanished). */
  reset(): void {
    this.lastRefresh = -Infinity;
    this.outboxes = new Map();
  }

  /** The next round reads this consumer's pending entries again (the last round failed: they are still pending). */
  rereadOwnPending(): void {
    this.ownPendingRead.clear();
  }

  /** Entries waiting in the watched outboxes (committed entries are deleted): the backlog. */
  async backlog(): Promise<number> {
    const lengths = await Promise.all(this.streams().map((outbox) => this.options.redis.xlen(outbox)));
    return lengths.reduce((a, b) => a + b, 0);
  }

  /** Reads the event registry every refreshMs; creates the consumer group of each new outbox. */
  async refreshIfDue(): Promise<void> {
    const { redis, prefix, group, refreshMs } = this.options;
    const now = Date.now();
    if (now - this.lastRefresh < refreshMs) return;
    this.lastRefresh = now;
    const ids = (await redis.smembers(globalKeys(prefix).events)).filter(isValidEventId).sort();
    const next = new Map<string, string>();
    for (const eventId of ids) {
      const outbox = eventKeys(prefix, eventId).outbox;
      next.set(outbox, eventId);
      if (this.outboxes.has(outbox)) continue;
      try {
        await redis.xgroup('CREATE', outbox, group, '0', 'MKSTREAM');
      } catch (err) {
        if (!(err instanceof Error && err.message.includes('BUSYGROUP'))) throw err;
      }
      await this.options.onNewEvent(eventId);
    }
    for (const outbox of this.outboxes.keys()) if (!next.has(outbox)) this.ownPendingRead.delete(outbox);
    this.outboxes = next;
  }

  /** Entries delivered to this consumer earlier but not acknowledged (a restart, a failed round). */
  async readOwnPending(): Promise<RawEntry[]> {
    const { redis, group, consumer, batchSize } = this.options;
    const streams = this.streams().filter((o) => !this.ownPendingRead.has(o));
    if (streams.length === 0) return [];
    const reply = (await (redis.xreadgroup as (...args: unknown[]) => Promise<unknown>).call(
      redis,
      'GROUP', group, consumer, 'COUNT', batchSize, 'STREAMS', ...streams, ...streams.map(() => '0'),
    )) as StreamReply;
    const out = flatten(reply);
    const seen = new Set(out.map((e) => e.stream));
    for (const s of streams) if (!seen.has(s)) this.ownPendingRead.add(s);
    return out;
  }

  /** New entries of every watched outbox; `blockMs` null reads without blocking. */
  async readNew(client: Redis, blockMs: number | null): Promise<RawEntry[]> {
    const { group, consumer, batchSize } = this.options;
    const streams = this.streams();
    const block = blockMs === null ? [] : ['BLOCK', blockMs];
    const reply = (await (client.xreadgroup as (...args: unknown[]) => Promise<unknown>).call(
      client,
      'GROUP', group, consumer, 'COUNT', batchSize, ...block, 'STREAMS', ...streams, ...streams.map(() => '>'),
    )) as StreamReply;
    return flatten(reply);
  }
}
