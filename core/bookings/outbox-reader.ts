/**
 * Reading the outboxes: which outboxes there are (the event registry), their
 * consumer group, which of them changed (change signals mark them dirty), and
 * the two reads of a round: entries pending with this consumer (after a
 * restart or a failed round) and new entries. Taking over another consumer's
 * entries is outbox-claims.ts.
 *
 * Nothing here costs per outbox on a timer: the registry is re-read only when
 * its size changed or a new event was announced; new entries are read from
 * the dirty outboxes only; and every read names the outboxes of one slot (a
 * Redis Cluster refuses a multi-key command across slots), the groups sent
 * together.
 */
import calculateSlot from 'cluster-key-slot';
import type { Redis } from 'ioredis';
import { eventKeys, globalKeys, isValidEventId } from '../store/keys.js';
import type { RedisClient } from '../store/redis-client.js';
import { flatten, type RawEntry, type StreamReply } from './outbox-entries.js';

/** new outboxes set up (consumer group, event row) at once when the registry grew */
const NEW_OUTBOXES_AT_ONCE = 100;

export interface OutboxReaderOptions {
  redis: RedisClient;
  prefix: string;
  group: string;
  consumer: string;
  batchSize: number;
  /** least time between two looks at the registry's size */
  refreshMs: number;
  /** called for each event newly seen in the registry, after its group exists */
  onNewEvent(eventId: string): Promise<void>;
}

export class OutboxReader {
  private readonly options: OutboxReaderOptions;
  /** outbox key -> event id, for the outboxes whose group exists */
  private outboxes = new Map<string, string>();
  /** event id -> outbox key */
  private byEvent = new Map<string, string>();
  /** outboxes whose entries pending with this consumer are still to be read again (new ones, or all after a failed round) */
  private ownPendingUnread = new Set<string>();
  /** outboxes signalled since their last read of new entries */
  private dirty = new Set<string>();
  /** outboxes that returned entries since the last backlog(): their length is looked up again */
  private touched = new Set<string>();
  private readonly lengths = new Map<string, number>();
  private lastRefresh = -Infinity;
  /** the registry's size at the last full read (-1: read it in full next time) */
  private registrySize = -1;

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

  /** The outbox of an event, if it is watched. */
  outboxOf(eventId: string): string | undefined {
    return this.byEvent.get(eventId);
  }

  /** Forgets every outbox and reads the registry again at once (a stream or its group vanished). */
  reset(): void {
    this.lastRefresh = -Infinity;
    this.registrySize = -1;
    this.outboxes = new Map();
    this.byEvent = new Map();
  }

  /** The next refresh reads the registry in full (a new event was announced, or signals may have been missed). */
  invalidateRegistry(): void {
    this.lastRefresh = -Infinity;
    this.registrySize = -1;
  }

  /** The next round reads this consumer's pending entries again (the last round failed: they are still pending). */
  rereadOwnPending(): void {
    this.ownPendingUnread = new Set(this.outboxes.keys());
  }

  markDirty(outbox: string): void {
    if (this.outboxes.has(outbox)) this.dirty.add(outbox);
  }

  markAllDirty(): void {
    for (const outbox of this.outboxes.keys()) this.dirty.add(outbox);
  }

  get dirtyCount(): number {
    return this.dirty.size;
  }

  /** Takes the dirty outboxes (they are clean until signalled again). */
  takeDirty(): string[] {
    const out = [...this.dirty].filter((o) => this.outboxes.has(o));
    this.dirty = new Set();
    return out;
  }

  /**
   * Entries waiting in the watched outboxes (committed entries are deleted):
   * the backlog. Looks up the length of the outboxes that returned entries
   * since the last call, or had some then; the others hold none.
   */
  async backlog(): Promise<number> {
    for (const [outbox, n] of this.lengths) if (n > 0) this.touched.add(outbox);
    const touched = [...this.touched].filter((o) => this.outboxes.has(o));
    this.touched = new Set();
    const lengths = await Promise.all(touched.map((outbox) => this.options.redis.xlen(outbox)));
    touched.forEach((outbox, i) => this.lengths.set(outbox, lengths[i]!));
    let total = 0;
    for (const [outbox, n] of this.lengths) {
      if (this.outboxes.has(outbox)) total += n;
      else this.lengths.delete(outbox);
    }
    return total;
  }

  /**
   * Every refreshMs, looks at the registry's size (SCARD, one O(1) command);
   * reads it in full (SMEMBERS) only when the size changed or a full read was
   * asked for. Creates the consumer group of each new outbox. Returns the
   * events newly watched.
   */
  async refreshIfDue(): Promise<string[]> {
    const { redis, prefix, group, refreshMs } = this.options;
    const now = Date.now();
    if (now - this.lastRefresh < refreshMs) return [];
    this.lastRefresh = now;
    const registry = globalKeys(prefix).events;
    if (this.registrySize >= 0 && (await redis.scard(registry)) === this.registrySize) return [];
    const members = await redis.smembers(registry);
    // the size is kept only once every new outbox is set up: a refresh that fails half-way (a
    // Cluster still moving slots answers MOVED inside a pipeline) is read in full again next time,
    // not skipped because the size has not changed since
    this.registrySize = -1;
    const ids = members.filter(isValidEventId).sort();
    const next = new Map<string, string>();
    const fresh: [string, string][] = [];
    for (const eventId of ids) {
      const outbox = eventKeys(prefix, eventId).outbox;
      next.set(outbox, eventId);
      if (!this.outboxes.has(outbox)) fresh.push([eventId, outbox]);
    }
    // new outboxes a chunk at a time: their groups one by one (on a Cluster, auto-pipelined XGROUPs of
    // several slots come back MOVED: ioredis does not see XGROUP's key), their event rows concurrently,
    // so that a start among 10,000 events takes seconds, not minutes
    const added: string[] = [];
    for (let i = 0; i < fresh.length; i += NEW_OUTBOXES_AT_ONCE) {
      const chunk = fresh.slice(i, i + NEW_OUTBOXES_AT_ONCE);
      for (const [, outbox] of chunk) {
        try {
          await redis.xgroup('CREATE', outbox, group, '0', 'MKSTREAM');
        } catch (err) {
          if (!(err instanceof Error && err.message.includes('BUSYGROUP'))) throw err;
        }
      }
      await Promise.all(chunk.map(([eventId]) => this.options.onNewEvent(eventId)));
      for (const [eventId, outbox] of chunk) {
        added.push(eventId);
        this.dirty.add(outbox);
        this.ownPendingUnread.add(outbox);
      }
    }
    this.registrySize = members.length;
    for (const outbox of this.outboxes.keys()) if (!next.has(outbox)) this.ownPendingUnread.delete(outbox);
    this.outboxes = next;
    this.byEvent = new Map([...next].map(([outbox, eventId]) => [eventId, outbox]));
    return added;
  }

  /**
   * Entries delivered to this consumer earlier but not acknowledged (a
   * restart, a failed round), of the outboxes not read again yet: after the
   * first rounds, none, at no cost.
   */
  async readOwnPending(): Promise<RawEntry[]> {
    if (this.ownPendingUnread.size === 0) return [];
    const streams = [...this.ownPendingUnread].filter((o) => this.outboxes.has(o));
    const out = await this.readGroups(this.options.redis, streams, '0', null);
    const seen = new Set(out.map((e) => e.stream));
    for (const s of streams) if (!seen.has(s)) this.ownPendingUnread.delete(s);
    return out;
  }

  /** New entries of the given outboxes (default: every watched one); `blockMs` null reads without blocking. */
  readNew(client: RedisClient, blockMs: number | null, outboxes: readonly string[] = this.streams()): Promise<RawEntry[]> {
    const watched = outboxes.filter((o) => this.outboxes.has(o));
    return this.readGroups(client, watched, '>', blockMs);
  }

  /** One XREADGROUP per slot of the outboxes (a single one on one Redis), sent together. */
  private async readGroups(client: RedisClient, streams: readonly string[], id: string, blockMs: number | null): Promise<RawEntry[]> {
    if (streams.length === 0) return [];
    const { group, consumer, batchSize } = this.options;
    const block = blockMs === null ? [] : ['BLOCK', blockMs];
    const bySlot = new Map<number, string[]>();
    for (const s of streams) {
      const slot = calculateSlot(s);
      const list = bySlot.get(slot);
      if (list) list.push(s);
      else bySlot.set(slot, [s]);
    }
    // one Redis takes them all in one command; a Cluster one slot per command
    const groups = client.isCluster ? [...bySlot.values()] : [[...streams]];
    const replies = await Promise.all(
      groups.map(
        (keys) =>
          ((client as Redis).xreadgroup as (...args: unknown[]) => Promise<unknown>).call(
            client,
            'GROUP', group, consumer, 'COUNT', batchSize, ...block, 'STREAMS', ...keys, ...keys.map(() => id),
          ) as Promise<StreamReply>,
      ),
    );
    const entries = replies.flatMap((reply) => flatten(reply));
    for (const e of entries) this.touched.add(e.stream);
    return entries;
  }
}
