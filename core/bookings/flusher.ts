/**
 * The booking flusher: moves booking records (and expired-hold records, into
 * the event log) from the Redis outbox streams of every event into Postgres,
 * acknowledging an outbox entry only after the transaction that holds it has
 * committed. See docs/bookings.md.
 *
 * - One consumer group (`flusher`) per outbox; any number of flushers, each
 *   with its own consumer name, share the work.
 * - Group commit: every entry read in one round goes into one transaction.
 * - Idempotent: an entry delivered twice (crash after COMMIT, before XACK)
 *   inserts nothing.
 * - Entries Postgres refuses for good go to the dead-letter stream and their
 *   bookings are voided in Redis; the rest of the batch commits. Any other
 *   error rolls the whole round back; its entries stay pending and are read
 *   again.
 *
 * This file runs the rounds; the parts live beside it: outbox-reader.ts and
 * outbox-claims.ts (reading), event-rows.ts and commit-round.ts (committing),
 * dead-letters.ts (refusals), codes.ts (channel names and payloads).
 */
import type { Redis } from 'ioredis';
import type pg from 'pg';
import { commitRound, type CommittedBooking } from './commit-round.js';
import { DeadLetters, malformedEntry, type DeadEntry } from './dead-letters.js';
import { EventRows } from './event-rows.js';
import { OutboxClaims } from './outbox-claims.js';
import { dedupe, entryKind, parseBooking, parseHoldExpiry, type BookingEntry, type HoldExpiryEntry, type RawEntry } from './outbox-entries.js';
import { OutboxReader } from './outbox-reader.js';
import { inTransaction } from './transaction.js';

export type { CommittedBooking } from './commit-round.js';
export { DeadLetterError } from './dead-letters.js';

export interface BookingFlusherOptions {
  redis: Redis;
  pool: pg.Pool;
  /** the seat store's key prefix */
  prefix: string;
  /** this flusher's consumer name; unique per running flusher */
  consumer: string;
  /** consumer group name (default `flusher`) */
  group?: string;
  /** most entries read per outbox per round (default 500) */
  batchSize?: number;
  /** how long a blocking read waits for new entries (default 1000 ms) */
  blockMs?: number;
  /** entries pending this long with another consumer are taken over (default 5000 ms) */
  claimIdleMs?: number;
  /** how often the event registry is read again (default 1000 ms) */
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

  private readonly redis: Redis;
  private readonly pool: pg.Pool;
  private readonly consumer: string;
  private readonly group: string;
  private readonly blockMs: number;
  private readonly refreshMs: number;
  private readonly onCommitted: ((bookings: CommittedBooking[]) => void) | undefined;
  private readonly onErrorFn: ((err: unknown) => void) | undefined;
  private readonly reader: OutboxReader;
  private readonly claims: OutboxClaims;
  private readonly eventRows: EventRows;
  private readonly deadLetters: DeadLetters;

  private running = false;
  private loop: Promise<void> | undefined;
  private blocking: Redis | undefined;
  private wake: (() => void) | undefined;

  constructor(options: BookingFlusherOptions) {
    this.redis = options.redis;
    this.pool = options.pool;
    this.consumer = options.consumer;
    this.group = options.group ?? 'flusher';
    this.blockMs = options.blockMs ?? 1000;
    this.refreshMs = options.refreshMs ?? 1000;
    this.onCommitted = options.onCommitted;
    this.onErrorFn = options.onError;
    const batchSize = options.batchSize ?? 500;
    const { redis, prefix, consumer } = options;
    const group = this.group;
    this.eventRows = new EventRows(redis, this.pool, prefix);
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
    this.deadLetters = new DeadLetters({ redis, pool: this.pool, prefix, group, consumer, report: (err) => this.report(err) });
  }

  /** Starts the background loop (blocking reads on a dedicated connection). */
  start(): void {
    if (this.loop) return;
    this.running = true;
    this.blocking = this.redis.duplicate();
    this.blocking.on('error', () => undefined); // errors surface on the read itself
    this.loop = this.run();
  }

  /** Stops the loop; a round in progress finishes (commits and acks) first. */
  async stop(): Promise<void> {
    this.running = false;
    this.wake?.();
    this.blocking?.disconnect();
    await this.loop;
    this.loop = undefined;
    this.blocking = undefined;
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

  private async round(block: boolean): Promise<number> {
    this.stats.rounds++;
    await this.reader.refreshIfDue();
    if (this.reader.size === 0) {
      if (block) await this.sleep(Math.min(this.blockMs, this.refreshMs));
      return 0;
    }
    let entries: RawEntry[];
    try {
      const claimed = await this.claims.claimIfDue(this.reader.streams());
      this.stats.claimed += claimed.length;
      entries = [...claimed, ...(await this.reader.readOwnPending())];
      if (entries.length === 0 && block && this.blocking) {
        entries = await this.reader.readNew(this.blocking, this.blockMs);
      } else {
        entries.push(...(await this.reader.readNew(this.redis, null)));
      }
    } catch (err) {
      // a stream or its group vanished (event deleted or recreated, Redis flushed): set every group up again at once
      if (err instanceof Error && /NOGROUP|no longer exists/.test(err.message)) {
        this.reader.reset();
        this.eventRows.reset();
      }
      throw err;
    }
    if (entries.length === 0) return 0;
    try {
      return await this.commit(dedupe(entries));
    } catch (err) {
      // the round's entries stay pending with this consumer: read them again next round
      this.reader.rereadOwnPending();
      throw err;
    }
  }

  /** Commits the entries in one transaction, acknowledges them, then settles the refused ones. */
  private async commit(entries: RawEntry[]): Promise<number> {
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
      const round = await inTransaction(this.pool, (client) => commitRound(client, bookings, this.consumer, expiries));
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

    const acked = await this.acknowledge(committed, bookings, [...gone, ...expiries]);
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
      const results = await this.redis.multi().xack(stream, this.group, ...ids).xdel(stream, ...ids).exec();
      const failed = results?.find(([err]) => err);
      if (!results || failed) throw failed?.[0] ?? new Error(`acknowledging ${stream}: transaction discarded`);
      settled += ids.length;
    }
    this.stats.acked += settled;
    return settled;
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
