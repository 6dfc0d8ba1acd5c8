/**
 * The booking flusher: moves booking records (and expired-hold records, into
 * the event log) from the Redis outbox streams of every event into Postgres,
 * acknowledging an outbox entry only after the transaction that holds it has
 * committed. See docs/bookings.md.
 *
 * - One consumer group (`flusher`) per outbox; any number of flushers, each
 *   with its own consumer name, share the work.
 * - Group commit: every entry read in one round goes into one transaction.
 *   Running, a round's XACK/XDEL is sent after its COMMIT and goes on while
 *   the next round reads; that round waits for it before it commits.
 * - Idempotent: an entry delivered twice (crash after COMMIT, before XACK)
 *   inserts nothing.
 * - Entries Postgres refuses for good go to the dead-letter stream and their
 *   bookings are voided in Redis; the rest of the batch commits. Any other
 *   error rolls the whole round back; its entries stay pending and are read
 *   again.
 *
 * - Driven by outbox signals (core/store/change-signals.ts,
 *   includes/appendOutbox.lua): every outbox write is signalled in the same script
 *   and marks its outbox dirty; a round reads the dirty outboxes only, and a
 *   change without an outbox entry (a hold, a release) does not wake it. At rest a
 *   flusher costs Redis a constant, however many events exist: a SCARD of the
 *   registry per refreshMs and a claim window (outbox-claims.ts) per
 *   claimIdleMs / 2, whose outboxes are also read (a lost signal is caught
 *   there), and after a lost subscriber connection every outbox is read once.
 *
 * This file runs the rounds; the parts live beside it: outbox-reader.ts and
 * outbox-claims.ts (reading), event-rows.ts and commit-round.ts (committing),
 * dead-letters.ts (refusals), codes.ts (channel names and payloads).
 */
import type { Cluster, Redis } from 'ioredis';
import type pg from 'pg';
import { ChangeSignals, outboxChannel } from '../store/change-signals.js';
import { globalKeys } from '../store/keys.js';
import type { RedisClient } from '../store/redis-client.js';
import { commitRound, type CommittedBooking } from './commit-round.js';
import { DeadLetters, malformedEntry, type DeadEntry } from './dead-letters.js';
import { EventRows } from './event-rows.js';
import { OutboxClaims } from './outbox-claims.js';
import { dedupe, entryKind, parseBooking, parseHoldExpiry, type BookingEntry, type HoldExpiryEntry, type RawEntry } from './outbox-entries.js';
import { OutboxReader } from './outbox-reader.js';

export type { CommittedBooking } from './commit-round.js';
export { DeadLetterError } from './dead-letters.js';

export interface BookingFlusherOptions {
  redis: RedisClient;
  pool: pg.Pool;
  /** the seat store's key prefix */
  prefix: string;
  /** this flusher's consumer name; unique per running flusher */
  consumer: string;
  /** consumer group name (default `flusher`) */
  group?: string;
  /** most entries read per outbox per round (default 500) */
  batchSize?: number;
  /** how long a quiet round waits for a change signal before it looks again (default 1000 ms) */
  blockMs?: number;
  /** entries pending this long with another consumer are taken over (default 5000 ms) */
  claimIdleMs?: number;
  /** how often the event registry's size is looked at (default 1000 ms; it is read in full when it changed) */
  refreshMs?: number;
  /** called after each commit with the bookings that are now durable in Postgres */
  onCommitted?(bookings: CommittedBooking[]): void;
  onError?(err: unknown): void;
}

export interface FlusherStats {
  rounds: number;
  /** transactions committed that held at least one entry */
  transactions: number;
  /** bookings inserted */
  inserted: number;
  /** entries whose booking was already in Postgres (delivered again) */
  duplicates: number;
  /** entries moved to the dead-letter stream */
  dead: number;
  /** entries acknowledged (all of the above) */
  acked: number;
  /** entries taken over from other consumers */
  claimed: number;
  /** expired-hold records committed to the event log (delivered again included) */
  holdExpiries: number;
}

export class BookingFlusher {
  readonly stats: FlusherStats = { rounds: 0, transactions: 0, inserted: 0, duplicates: 0, dead: 0, acked: 0, claimed: 0, holdExpiries: 0 };

  private readonly redis: RedisClient;
  private readonly pool: pg.Pool;
  private readonly consumer: string;
  private readonly group: string;
  private readonly blockMs: number;
  private readonly refreshMs: number;
  private readonly batchSize: number;
  private readonly onCommitted: ((bookings: CommittedBooking[]) => void) | undefined;
  private readonly onErrorFn: ((err: unknown) => void) | undefined;
  private readonly reader: OutboxReader;
  private readonly claims: OutboxClaims;
  private readonly eventRows: EventRows;
  private readonly deadLetters: DeadLetters;

  private running = false;
  private loop: Promise<void> | undefined;
  private subscriber: RedisClient | undefined;
  private signals: ChangeSignals | undefined;
  private readonly prefix: string;
  private wake: (() => void) | undefined;
  /** the running loop's last acknowledgement, sent while the next round reads; awaited before that round commits */
  private acking: Promise<void> | undefined;

  constructor(options: BookingFlusherOptions) {
    this.redis = options.redis;
    this.pool = options.pool;
    this.consumer = options.consumer;
    this.group = options.group ?? 'flusher';
    this.blockMs = options.blockMs ?? 1000;
    this.refreshMs = options.refreshMs ?? 1000;
    this.onCommitted = options.onCommitted;
    this.onErrorFn = options.onError;
    this.prefix = options.prefix;
    const batchSize = options.batchSize ?? 500;
    this.batchSize = batchSize;
    const { redis, prefix, consumer } = options;
    const group = this.group;
    this.eventRows = new EventRows(redis as Redis, this.pool, prefix);
    this.reader = new OutboxReader({
      redis,
      prefix,
      group,
      consumer,
      batchSize,
      refreshMs: this.refreshMs,
      onNewEvent: (eventId) => this.eventRows.recordEvent(eventId, 0),
    });
    this.claims = new OutboxClaims({ redis, group, consumer, claimIdleMs: options.claimIdleMs ?? 5000, batchSize });
    this.deadLetters = new DeadLetters({ redis: redis as Redis, pool: this.pool, prefix, group, consumer, report: (err) => this.report(err) });
  }

  /** Starts the background loop, with a subscriber connection of its own for the change signals. */
  start(): void {
    if (this.loop) return;
    this.running = true;
    const subscriber: RedisClient = this.redis.isCluster
      ? (this.redis as Cluster).duplicate(undefined, { shardedSubscribers: true })
      : // no ready check (INFO): a connection that reconnects in subscriber mode could not answer it
        (this.redis as Redis).duplicate({ enableAutoPipelining: false, enableReadyCheck: false });
    subscriber.on('error', () => undefined); // a lost subscriber shows as a resubscription
    this.subscriber = subscriber;
    this.signals = new ChangeSignals({
      subscriber,
      onSignal: (channel) => {
        const outbox = this.reader.outboxOf(this.eventOfChannel(channel));
        if (!outbox) return;
        this.reader.markDirty(outbox);
        this.wake?.();
      },
      onResubscribed: () => {
        this.reader.markAllDirty();
        this.reader.invalidateRegistry();
        this.wake?.();
      },
      onError: (err) => this.report(err),
    });
    // a new event is announced on the registry's channel (SeatStore.createEvent): the registry is read at once
    const announcements = globalKeys(this.prefix).events;
    subscriber.on('message', (channel: string) => {
      if (channel !== announcements) return;
      this.reader.invalidateRegistry();
      this.wake?.();
    });
    subscriber.subscribe(announcements).catch((err: unknown) => this.report(err));
    this.loop = this.run();
  }

  /** outbox channel -> event id (the channel is the event's outbox key, `<prefix>{<event>}:outbox`) */
  private eventOfChannel(channel: string): string {
    return channel.slice(this.prefix.length + 1, channel.length - '}:outbox'.length);
  }

  /** Stops the loop; a round in progress finishes (commits and acks) first. */
  async stop(): Promise<void> {
    this.running = false;
    this.wake?.();
    await this.loop;
    await this.acking;
    this.acking = undefined;
    this.signals?.close();
    this.subscriber?.disconnect();
    this.loop = undefined;
    this.subscriber = undefined;
    this.signals = undefined;
  }

  /** Entries waiting in the outboxes this flusher watches (committed entries are deleted): the backlog, e.g. during a Postgres outage. */
  backlog(): Promise<number> {
    return this.reader.backlog();
  }

  /** One round without blocking: reads what is there, commits it, acks it. Returns the entries acknowledged. */
  flushOnce(): Promise<number> {
    return this.round(false);
  }

  private async run(): Promise<void> {
    let backoff = 100;
    while (this.running) {
      try {
        await this.round(true);
        backoff = 100;
      } catch (err) {
        if (!this.running) break;
        this.report(err);
        await this.sleep(backoff);
        backoff = Math.min(backoff * 2, 5000);
      }
    }
  }

  /**
   * One round. Running (`signalled`), it reads the outboxes signalled since
   * the last round and the claim window's; flushOnce() reads every outbox.
   */
  private async round(signalled: boolean): Promise<number> {
    this.stats.rounds++;
    const added = await this.reader.refreshIfDue();
    // subscribed before the new outboxes (dirty) are read: a later entry is signalled
    if (this.signals && added.length > 0) await this.signals.add(added.map((eventId) => outboxChannel(this.prefix, eventId)));
    if (this.reader.size === 0) {
      if (signalled) await this.sleep(Math.min(this.blockMs, this.refreshMs));
      return 0;
    }
    let entries: RawEntry[];
    let taken: string[] = [];
    try {
      const claimed = await this.claims.claimIfDue(() => this.reader.streams());
      this.stats.claimed += claimed.length;
      for (const outbox of this.claims.lastWindow) this.reader.markDirty(outbox);
      entries = [...claimed, ...(await this.reader.readOwnPending())];
      if (signalled) {
        taken = this.reader.takeDirty();
        const fresh = await this.reader.readNew(this.redis, null, taken);
        entries.push(...fresh);
        // an outbox that filled the batch has more: it stays dirty
        const perStream = new Map<string, number>();
        for (const e of fresh) perStream.set(e.stream, (perStream.get(e.stream) ?? 0) + 1);
        for (const [stream, n] of perStream) if (n >= this.batchSize) this.reader.markDirty(stream);
        if (entries.length === 0) {
          if (this.reader.dirtyCount === 0) await this.sleep(Math.min(this.blockMs, this.refreshMs, Math.max(1, this.claims.dueIn())));
          return 0;
        }
      } else {
        entries.push(...(await this.reader.readNew(this.redis, null)));
      }
    } catch (err) {
      for (const outbox of taken) this.reader.markDirty(outbox);
      // a stream or its group vanished (event deleted or recreated, Redis flushed): set every group up again at once
      if (err instanceof Error && /NOGROUP|no longer exists/.test(err.message)) {
        this.reader.reset();
        this.eventRows.reset();
      }
      throw err;
    }
    // the last round's acknowledgement has gone with this round's read; it is settled before this round commits
    await this.settleAcking();
    if (entries.length === 0) return 0;
    try {
      return await this.commit(dedupe(entries), signalled);
    } catch (err) {
      // the round's entries stay pending with this consumer: read them again next round
      this.reader.rereadOwnPending();
      throw err;
    }
  }

  /**
   * Commits the entries in one transaction, acknowledges them, then settles
   * the refused ones. With `overlap` (the running loop) and nothing refused,
   * the acknowledgement is not waited for: it is under way while the next
   * round reads (settleAcking).
   */
  private async commit(entries: RawEntry[], overlap = false): Promise<number> {
    const bookings: BookingEntry[] = [];
    const expiries: HoldExpiryEntry[] = [];
    const dead: DeadEntry[] = [];
    const gone: RawEntry[] = [];
    for (const entry of entries) {
      if (entry.fields === null) {
        gone.push(entry);
        continue;
      }
      const eventId = this.reader.eventOf(entry.stream);
      const kind = entryKind(entry);
      if (kind === 'hold.expired') {
        const expiry = parseHoldExpiry(entry, eventId);
        if (typeof expiry === 'string') dead.push(malformedEntry(entry, eventId, expiry));
        else expiries.push(expiry);
        continue;
      }
      const booking = kind === 'booking' ? parseBooking(entry, eventId) : 'unknown kind of outbox entry';
      if (typeof booking === 'string') dead.push(malformedEntry(entry, eventId, booking));
      else bookings.push(booking);
    }
    bookings.sort((a, b) => (a.id < b.id ? -1 : a.id > b.id ? 1 : 0));

    await this.eventRows.recordEvents(bookings);

    let committed: CommittedBooking[] = [];
    if (bookings.length > 0 || expiries.length > 0) {
      const round = await commitRound(this.pool, bookings, this.consumer, expiries);
      committed = round.committed;
      dead.push(...round.refused);
      this.stats.transactions++;
      this.stats.inserted += round.inserted;
      this.stats.duplicates += committed.length - round.inserted;
      this.stats.holdExpiries += expiries.length;
    }

    if (committed.length > 0 && this.onCommitted) {
      try {
        this.onCommitted(committed);
      } catch (err) {
        this.report(err);
      }
    }

    const done = [...gone, ...expiries];
    if (overlap && dead.length === 0) {
      this.acking = this.acknowledge(committed, bookings, done).then(
        () => undefined,
        (err: unknown) => {
          // still pending with this consumer: read them again (they insert nothing) and acknowledge them then
          this.reader.rereadOwnPending();
          this.report(err);
        },
      );
      return committed.length + done.length;
    }
    const acked = await this.acknowledge(committed, bookings, done);
    const settled = await this.deadLetters.settle(dead);
    this.stats.dead += settled.length;
    this.stats.acked += settled.length;
    return acked + settled.length;
  }

  /** After COMMIT: XACK and XDEL of the committed (and vanished, and expired-hold) entries, one MULTI per outbox. */
  private async acknowledge(committed: CommittedBooking[], bookings: BookingEntry[], gone: readonly { stream: string; entryId: string }[]): Promise<number> {
    const done = new Set(committed.map((c) => c.id));
    const byStream = new Map<string, string[]>();
    const add = (stream: string, entryId: string) => {
      const ids = byStream.get(stream);
      if (ids) ids.push(entryId);
      else byStream.set(stream, [entryId]);
    };
    for (const b of bookings) if (done.has(b.id)) add(b.stream, b.entryId);
    for (const g of gone) add(g.stream, g.entryId);
    let settled = 0;
    for (const [stream, ids] of byStream) {
      const results = await (this.redis as Redis).multi().xack(stream, this.group, ...ids).xdel(stream, ...ids).exec();
      const failed = results?.find(([err]) => err);
      if (!results || failed) throw failed?.[0] ?? new Error(`acknowledging ${stream}: transaction discarded`);
      settled += ids.length;
    }
    this.stats.acked += settled;
    return settled;
  }

  private async settleAcking(): Promise<void> {
    const acking = this.acking;
    this.acking = undefined;
    await acking;
  }

  private report(err: unknown): void {
    if (this.onErrorFn) this.onErrorFn(err);
  }

  private sleep(ms: number): Promise<void> {
    return new Promise((resolve) => {
      const timer = setTimeout(done, ms);
      function done() {
        clearTimeout(timer);
        resolve();
      }
      this.wake = done;
    });
  }
}
