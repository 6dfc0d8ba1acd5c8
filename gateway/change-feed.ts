/**
 * The broker side of fan-out: reads the change logs of the events this node
 * has rooms for, from the shared Redis, and hands the entries to the rooms.
 * A change made through any node reaches every node this way.
 *
 * Reads follow change signals (core/store/change-signals.ts): every log
 * append SPUBLISHes `<epoch>:<seq>` on the event's shard channel, this feed
 * subscribes to the channel of each watched event, and a signal marks its
 * event dirty. A read takes the dirty events only: one non-blocking XREAD
 * naming their logs (on a Cluster one per slot, sent together). So a change
 * costs O(1) in the number of watched events, and a
 * watched event that never changes costs nothing on a timer.
 *
 * Nothing is lost: a newly watched event is read once its subscription is
 * confirmed; after a lost subscriber connection every watched log is read
 * once; a signal of a new epoch or a deletion goes to the hub (`onMoved`);
 * and the hub's bounded room check (a window of rooms per ROOM_CHECK_MS)
 * pokes a room whose event is ahead of it (`refresh`). docs/gateway.md,
 * The change feed.
 */
import type { Redis, Cluster } from 'ioredis';
import calculateSlot from 'cluster-key-slot';
import { ChangeSignals, decodeChangeEntry, isCluster, type ChangeEntry, type ChangeSignal } from '../core/store/index.js';

type RawStreams = [Buffer, [Buffer, Buffer[]][]][] | null;

export interface FeedTarget {
  eventId: string;
  logKey: string;
  /** entries after this seq are wanted */
  afterSeq(): number;
  /** the epoch the room holds; a signal of another epoch goes to onMoved */
  epoch?(): number;
  /** true while the room repairs itself: its log is not read meanwhile */
  paused(): boolean;
}

export interface ChangeFeedOptions {
  /** the connection the logs are read on (non-blocking XREADs), without auto-pipelining: a batch cut by a lost connection must not hold up the next */
  reader: Redis | Cluster;
  /** a connection of its own in subscriber mode, for the change signals (a Cluster client with shardedSubscribers) */
  subscriber: Redis | Cluster;
  onEntries(eventId: string, entries: ChangeEntry[]): void;
  /** a signal says the event was recreated (another epoch) or deleted (epoch 0): its room must check the store */
  onMoved?(eventId: string): void;
  onError(err: unknown): void;
  /** entries per log per read */
  count?: number;
  /**
   * The least time between the starts of two reads. At 2,000 changes a
   * second an unpaced feed reads one entry at a time (a command, a reply and a
   * wake-up each); paced, a busy log is read a batch at a time. The first
   * change after a quiet spell is not delayed. 0: no pacing.
   */
  paceMs?: number;
}

/** pause after a failed read before the dirty logs are read again */
const RETRY_MS = 250;

export class ChangeFeed {
  private readonly targets = new Map<string, FeedTarget>();
  /** log key (= signal channel) -> event id */
  private readonly byChannel = new Map<string, string>();
  /** events signalled (or poked) since their last read */
  private dirty = new Set<string>();
  private running = false;
  private loop: Promise<void> | null = null;
  private readerId: number | null = null;
  private wake: (() => void) | null = null;
  /** cuts a pace short (stop only) */
  private endPace: (() => void) | null = null;
  private readonly signals: ChangeSignals;
  private readonly count: number;
  /** reads sent (tests and the bench count them) */
  reads = 0;

  constructor(private readonly options: ChangeFeedOptions) {
    this.count = options.count ?? 1000;
    this.signals = new ChangeSignals({
      subscriber: options.subscriber,
      onSignal: (channel, signal) => this.onSignal(channel, signal),
      onResubscribed: () => this.markAll(),
      onError: (err) => options.onError(err),
    });
    if (!isCluster(options.reader)) {
      // tests cut the reader's connection by its client id; a reconnected reader has a new one
      const reader = options.reader;
      reader.on('close', () => (this.readerId = null));
      reader.on('ready', () => this.lookUpId());
    }
  }

  start(): void {
    if (this.running) return;
    this.running = true;
    this.lookUpId();
    this.loop = this.run();
  }

  async stop(): Promise<void> {
    this.running = false;
    this.signals.close();
    this.endPace?.();
    this.kick();
    await this.loop;
  }

  /** The Redis client id of the reader's current connection (null before it is known, after a reconnect, and on a Cluster). */
  get clientId(): number | null {
    return this.readerId;
  }

  watch(target: FeedTarget): void {
    this.targets.set(target.eventId, target);
    this.byChannel.set(target.logKey, target.eventId);
    // read once the subscription is in place: changes between the room's snapshot and now are in the log
    this.signals.add([target.logKey]).then(
      () => this.mark(target.eventId),
      (err: unknown) => {
        this.options.onError(err);
        this.mark(target.eventId);
      },
    );
  }

  unwatch(eventId: string): void {
    const target = this.targets.get(eventId);
    if (!target) return;
    this.targets.delete(eventId);
    this.byChannel.delete(target.logKey);
    this.dirty.delete(eventId);
    this.signals.remove(target.logKey);
  }

  /** Reads an event's log again (after a resync, or when the hub saw the store ahead); without an id, every watched log. */
  refresh(eventId?: string): void {
    if (eventId === undefined) this.markAll();
    else this.mark(eventId);
  }

  private onSignal(channel: string, signal: ChangeSignal | null): void {
    const eventId = this.byChannel.get(channel);
    if (eventId === undefined) return;
    // a payload without a position (not sent on log channels): the read finds out
    if (!signal) return this.mark(eventId);
    const target = this.targets.get(eventId)!;
    if (target.epoch && signal.epoch !== target.epoch()) {
      this.options.onMoved?.(eventId);
      return;
    }
    if (signal.seq > target.afterSeq()) this.mark(eventId);
  }

  private mark(eventId: string): void {
    if (!this.targets.has(eventId)) return;
    this.dirty.add(eventId);
    this.kick();
  }

  private markAll(): void {
    for (const eventId of this.targets.keys()) this.dirty.add(eventId);
    this.kick();
  }

  private kick(): void {
    if (this.wake) {
      this.wake();
      this.wake = null;
    }
  }

  private lookUpId(): void {
    const reader = this.options.reader;
    if (isCluster(reader) || reader.status !== 'ready') return;
    reader.client('ID').then(
      (id) => (this.readerId = Number(id)),
      () => undefined,
    );
  }

  private sleep(ms: number | null): Promise<void> {
    return new Promise<void>((resolve) => {
      const timer = ms === null ? null : setTimeout(done, ms);
      const self = this;
      function done() {
        if (timer) clearTimeout(timer);
        if (self.wake === done) self.wake = null;
        resolve();
      }
      this.wake = done;
    });
  }

  private async run(): Promise<void> {
    let lastReadAt = -Infinity;
    while (this.running) {
      if (this.dirty.size === 0) {
        await this.sleep(null);
        continue;
      }
      const wait = lastReadAt + (this.options.paceMs ?? 0) - performance.now();
      if (wait > 0) {
        // signals during the pace join this read; a stop does not wait for it
        await new Promise<void>((resolve) => {
          const timer = setTimeout(resolve, wait);
          this.endPace = () => {
            clearTimeout(timer);
            resolve();
          };
        });
        this.endPace = null;
        if (!this.running) break;
      }
      const startedAt = performance.now();
      const batch: FeedTarget[] = [];
      for (const eventId of this.dirty) {
        const target = this.targets.get(eventId);
        // a paused room is read again when its repair ends (refresh)
        if (target && !target.paused()) batch.push(target);
      }
      this.dirty = new Set();
      if (batch.length === 0) continue;
      try {
        // a read that found nothing (a newly watched log, a safety poke) starts no pace: the next change is not delayed
        if (await this.read(batch)) lastReadAt = startedAt;
      } catch (err) {
        if (!this.running) break;
        for (const t of batch) this.dirty.add(t.eventId);
        this.options.onError(err);
        await new Promise((resolve) => setTimeout(resolve, RETRY_MS));
      }
    }
  }

  /**
   * The reader does not re-send commands after a reconnect, and ioredis then
   * never settles them: so a read races the connection's loss.
   */
  private untilClosed<T>(command: Promise<T>): Promise<T> {
    const reader = this.options.reader;
    if (isCluster(reader)) return command;
    let onClose: () => void = () => {};
    const lost = new Promise<never>((_, reject) => {
      onClose = () => reject(new Error('change feed connection lost'));
      reader.once('close', onClose);
    });
    return Promise.race([command, lost]).finally(() => reader.off('close', onClose));
  }

  /**
   * One XREAD naming the dirty logs only; on a Cluster, one per slot (a
   * multi-key XREAD must stay in one slot), sent together. A log that
   * returned a full batch stays dirty.
   */
  private async read(batch: FeedTarget[]): Promise<boolean> {
    const { reader } = this.options;
    const groups = isCluster(reader) ? [...groupBy(batch, (t) => calculateSlot(t.logKey)).values()] : [batch];
    this.reads += groups.length;
    const replies = await this.untilClosed(
      Promise.all(
        groups.map(
          (group) =>
            reader.xreadBuffer('COUNT', this.count, 'STREAMS', ...group.map((t) => t.logKey), ...group.map((t) => `${t.afterSeq()}-0`)) as unknown as Promise<RawStreams>,
        ),
      ),
    );
    let got = false;
    replies.forEach((reply, i) => {
      if (!reply) return;
      const group = groups[i]!;
      const byKey = group.length === 1 ? null : new Map(group.map((t) => [t.logKey, t]));
      for (const [key, raw] of reply) {
        const target = byKey ? byKey.get(key.toString()) : group[0];
        if (!target || raw.length === 0 || this.targets.get(target.eventId) !== target) continue;
        got = true;
        this.options.onEntries(target.eventId, raw.map(decodeChangeEntry));
        if (raw.length >= this.count) this.mark(target.eventId);
      }
    });
    return got;
  }
}

function groupBy<T, K>(items: readonly T[], key: (item: T) => K): Map<K, T[]> {
  const out = new Map<K, T[]>();
  for (const item of items) {
    const k = key(item);
    const list = out.get(k);
    if (list) list.push(item);
    else out.set(k, [item]);
  }
  return out;
}
