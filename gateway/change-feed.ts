/**
 * The broker side of fan-out: reads the change logs of every event this node
 * has a room for, from the shared Redis, and hands the entries to the rooms.
 * A change made through any node reaches every node this way.
 *
 * On one Redis, a single blocking XREAD covers all watched logs; when the set
 * of logs changes, the read is interrupted with CLIENT UNBLOCK. On a Redis
 * Cluster a multi-key XREAD must stay in one slot, so the feed reads each
 * event's log on its own, without blocking, and sleeps briefly when all are
 * quiet.
 */
import type { Redis, Cluster } from 'ioredis';
import { decodeChangeEntry, isCluster, type ChangeEntry } from '../core/store/index.js';

type RawStreams = [Buffer, [Buffer, Buffer[]][]][] | null;

export interface FeedTarget {
  eventId: string;
  logKey: string;
  /** entries after this seq are wanted */
  afterSeq(): number;
  /** true while the room repairs itself: its log is not read meanwhile */
  paused(): boolean;
}

export interface ChangeFeedOptions {
  /** a connection of its own: it spends its time blocked in XREAD */
  reader: Redis | Cluster;
  /** another connection, used to interrupt the reader */
  control: Redis | Cluster;
  onEntries(eventId: string, entries: ChangeEntry[]): void;
  onError(err: unknown): void;
  /** entries per log per read */
  count?: number;
  blockMs?: number;
  /** cluster polling pause when nothing came back */
  pollMs?: number;
  /**
   * The least time between the starts of two reads. A read returns as soon as
   * one entry is there, so at 2,000 changes a second an unpaced feed reads one
   * entry at a time (a command, a reply and a wake-up each); paced, a busy log
   * is read a batch at a time. The first change after a quiet spell is not
   * delayed: the read is already waiting for it. 0: no pacing.
   */
  paceMs?: number;
}

export class ChangeFeed {
  private readonly targets = new Map<string, FeedTarget>();
  private running = false;
  private loop: Promise<void> | null = null;
  private readerId: number | null = null;
  private blocked = false;
  /** counts blocking reads, so that a late retry of UNBLOCK cannot hit a later read */
  private readNo = 0;
  private wake: (() => void) | null = null;
  private readonly isCluster: boolean;

  constructor(private readonly options: ChangeFeedOptions) {
    this.isCluster = isCluster(options.reader);
    // a reconnected reader has a new client id: look it up again before the next blocking read
    options.reader.on('close', () => (this.readerId = null));
  }

  start(): void {
    if (this.running) return;
    this.running = true;
    this.loop = this.run();
  }

  async stop(): Promise<void> {
    this.running = false;
    this.interrupt();
    await this.loop;
  }

  /** The Redis client id of the reader's current connection (null before the first read or after a reconnect). */
  get clientId(): number | null {
    return this.readerId;
  }

  watch(target: FeedTarget): void {
    this.targets.set(target.eventId, target);
    this.interrupt();
  }

  unwatch(eventId: string): void {
    if (this.targets.delete(eventId)) this.interrupt();
  }

  /** Makes the reader start over with the current targets and positions (after a resync). */
  refresh(): void {
    this.interrupt();
  }

  private active(): FeedTarget[] {
    const targets: FeedTarget[] = [];
    for (const t of this.targets.values()) if (!t.paused()) targets.push(t);
    return targets;
  }

  private interrupt(): void {
    if (this.wake) {
      this.wake();
      this.wake = null;
    }
    if (this.blocked && this.readerId !== null && !this.isCluster) this.unblock(this.readNo);
  }

  /**
   * Interrupts read number `readNo`. The UNBLOCK travels on another connection
   * and may reach Redis before the XREAD it targets; so it is repeated until
   * that read has returned.
   */
  private unblock(readNo: number): void {
    (this.options.control as Redis).client('UNBLOCK', this.readerId!).catch(() => {});
    setTimeout(() => {
      if (this.blocked && this.readNo === readNo) this.unblock(readNo);
    }, 10).unref();
  }

  private async run(): Promise<void> {
    let lastReadAt = -Infinity;
    while (this.running) {
      if (this.active().length === 0) {
        await new Promise<void>((resolve) => (this.wake = resolve));
        continue;
      }
      const wait = lastReadAt + (this.options.paceMs ?? 0) - performance.now();
      if (wait > 0) {
        // interruptible like the read itself: a new watch or a stop does not wait for the pace
        await new Promise<void>((resolve) => {
          this.wake = resolve;
          setTimeout(resolve, wait);
        });
        this.wake = null;
        if (!this.running) break;
      }
      lastReadAt = performance.now();
      try {
        const got = this.isCluster ? await this.pollEach() : await this.readAll();
        if (!got && this.isCluster) await new Promise<void>((resolve) => {
          this.wake = resolve;
          setTimeout(resolve, this.options.pollMs ?? 20);
        });
      } catch (err) {
        if (!this.running) break;
        this.options.onError(err);
        await new Promise((resolve) => setTimeout(resolve, 250));
      }
    }
  }

  /** One blocking XREAD over every watched log. */
  /**
   * The reader does not re-send commands after a reconnect (a re-sent XREAD
   * would block the new connection with a stale position), and ioredis then
   * never settles them: so every read races the connection's loss.
   */
  private untilClosed<T>(command: Promise<T>): Promise<T> {
    const reader = this.options.reader;
    let onClose: () => void = () => {};
    const lost = new Promise<never>((_, reject) => {
      onClose = () => reject(new Error('change feed connection lost'));
      reader.once('close', onClose);
    });
    return Promise.race([command, lost]).finally(() => reader.off('close', onClose));
  }

  private async readAll(): Promise<boolean> {
    if (this.readerId === null) this.readerId = Number(await this.untilClosed((this.options.reader as Redis).client('ID')));
    const targets = this.active();
    const keys = targets.map((t) => t.logKey);
    const ids = targets.map((t) => `${t.afterSeq()}-0`);
    this.blocked = true;
    this.readNo++;
    let reply: RawStreams;
    try {
      reply = (await this.untilClosed(
        (this.options.reader as Redis).xreadBuffer('COUNT', this.options.count ?? 1000, 'BLOCK', this.options.blockMs ?? 5000, 'STREAMS', ...keys, ...ids),
      )) as unknown as RawStreams;
    } finally {
      this.blocked = false;
    }
    return this.deliver(targets, reply);
  }

  /** Cluster: one non-blocking XREAD per log (each in its own slot). */
  private async pollEach(): Promise<boolean> {
    const targets = this.active();
    const replies = await this.untilClosed(
      Promise.all(
        targets.map(
          (t) => this.options.reader.xreadBuffer('COUNT', this.options.count ?? 1000, 'STREAMS', t.logKey, `${t.afterSeq()}-0`) as unknown as Promise<RawStreams>,
        ),
      ),
    );
    let got = false;
    replies.forEach((reply) => {
      if (this.deliver(targets, reply)) got = true;
    });
    return got;
  }

  private deliver(targets: FeedTarget[], reply: RawStreams): boolean {
    if (!reply) return false;
    const byKey = new Map(targets.map((t) => [t.logKey, t]));
    for (const [key, rawEntries] of reply) {
      const target = byKey.get(key.toString());
      if (!target || !this.targets.has(target.eventId)) continue;
      this.options.onEntries(target.eventId, rawEntries.map(decodeChangeEntry));
    }
    return reply.length > 0;
  }
}
