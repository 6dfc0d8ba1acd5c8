/**
 * The booking flusher: moves booking records from the Redis outbox streams of
 * every event into Postgres, acknowledging an outbox entry only after the
 * transaction that holds it has committed. See docs/bookings.md.
 *
 * - One consumer group (`flusher`) per outbox; any number of flushers, each
 *   with its own consumer name, share the work.
 * - Group commit: every entry read in one round goes into one transaction.
 * - Idempotent: bookings are inserted `ON CONFLICT (id) DO NOTHING`, and seats,
 *   history and seat changes only for rows actually inserted, so an entry
 *   delivered twice (crash after COMMIT, before XACK) inserts nothing.
 * - Entries Postgres refuses (a seat already in another active booking, an
 *   idempotency key reused by another booking id, a malformed entry) are moved
 *   to the dead-letter stream `<outbox>:dead`, and the rest of the batch
 *   commits. Any other error rolls the whole round back; its entries stay
 *   pending and are read again.
 */
import type { Redis } from 'ioredis';
import type pg from 'pg';
import { eventKeys, globalKeys, isValidEventId } from '../store/keys.js';
import { bookingReference, REFERENCE_LEVELS } from './reference.js';
import { inTransaction } from './transaction.js';

export interface CommittedBooking {
  id: string;
  reference: string;
  eventId: string;
  holder: string;
  /** the client's idempotency key */
  key: string;
  seats: number[];
  seq: number;
}

/** An outbox entry moved to the dead-letter stream instead of being committed. */
export class DeadLetterError extends Error {
  constructor(
    message: string,
    readonly stream: string,
    readonly entryId: string,
    readonly code: string | undefined,
    /** the refused booking's id, when the entry had one */
    readonly bookingId?: string,
  ) {
    super(message);
    this.name = 'DeadLetterError';
  }
}

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
}

interface RawEntry {
  stream: string;
  entryId: string;
  /** null when the entry was deleted from the stream while pending */
  fields: string[] | null;
}

interface BookingEntry {
  stream: string;
  entryId: string;
  eventId: string;
  id: string;
  key: string;
  holder: string;
  /** the hold token the booking was made from (kept for rebuilds) */
  token: string | null;
  seats: number[];
  seq: number;
  epoch: number;
  at: number;
}

interface DeadEntry {
  stream: string;
  entryId: string;
  /** the booking's id, when the entry parsed */
  bookingId?: string;
  fields: string[];
  error: string;
  code: string | undefined;
}

type StreamReply = [string, [string, string[] | null][]][] | null;

/** The Postgres channel every flusher notifies, inside its transaction, of the bookings it committed. */
export const COMMIT_CHANNEL = 'seatmap_booking_commits';

/** The dead-letter code of a booking made in Redis before its event was rebuilt from Postgres. */
export const STALE_EPOCH = 'STALE_EPOCH';

const NOTIFY_PAYLOAD_MAX = 7900;

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

const INSERT_SQL = `
WITH input AS (
  SELECT * FROM unnest($1::uuid[], $2::text[], $3::text[], $4::text[], $5::text[], $6::text[], $7::bigint[], $8::bigint[], $9::bigint[], $10::text[], $12::text[])
    AS t(id, reference, event_id, holder, idempotency_key, seats_json, seq, epoch, at_ms, entry_id, hold_token)
), ins AS (
  INSERT INTO bookings (id, reference, event_id, holder, idempotency_key, state, seats, seq, epoch, booked_at, hold_token)
  SELECT id, reference, event_id, holder, idempotency_key, 'confirmed',
         ARRAY(SELECT jsonb_array_elements_text(input.seats_json::jsonb)::int), seq, epoch, to_timestamp(at_ms / 1000.0), hold_token
  FROM input
  ORDER BY id
  ON CONFLICT (id) DO NOTHING
  RETURNING id, reference, event_id, seats, seq, epoch
), booked AS (
  INSERT INTO booked_seats (event_id, seat, booking_id)
  SELECT ins.event_id, s.seat, ins.id FROM ins, unnest(ins.seats) AS s(seat)
), history AS (
  INSERT INTO booking_history (booking_id, from_state, to_state, detail)
  SELECT ins.id, 'none', 'confirmed',
         jsonb_build_object('seq', ins.seq, 'epoch', ins.epoch, 'entry', input.entry_id, 'consumer', $11::text)
  FROM ins JOIN input ON input.id = ins.id
), changes AS (
  INSERT INTO seat_changes (event_id, seat, booking_id, change)
  SELECT ins.event_id, s.seat, ins.id, 'booked' FROM ins, unnest(ins.seats) AS s(seat)
)
SELECT id::text AS id, reference FROM ins`;

const UPSERT_EVENT_SQL = `
INSERT INTO events (id, epoch, layout, settings, seat_count) VALUES ($1, $2, $3::jsonb, $4::jsonb, $5)
ON CONFLICT (id) DO UPDATE
  SET epoch = excluded.epoch,
      layout = COALESCE(excluded.layout, events.layout),
      settings = COALESCE(excluded.settings, events.settings),
      seat_count = COALESCE(excluded.seat_count, events.seat_count),
      deleted_at = NULL
  WHERE events.epoch IS NULL OR events.epoch < excluded.epoch`;

export class BookingFlusher {
  readonly stats: FlusherStats = { rounds: 0, transactions: 0, inserted: 0, duplicates: 0, dead: 0, acked: 0, claimed: 0 };

  private readonly redis: Redis;
  private readonly pool: pg.Pool;
  private readonly prefix: string;
  private readonly consumer: string;
  private readonly group: string;
  private readonly batchSize: number;
  private readonly blockMs: number;
  private readonly claimIdleMs: number;
  private readonly refreshMs: number;
  private readonly onCommitted: ((bookings: CommittedBooking[]) => void) | undefined;
  private readonly onErrorFn: ((err: unknown) => void) | undefined;

  /** outbox key -> event id, for the outboxes whose group exists */
  private outboxes = new Map<string, string>();
  /** outboxes whose entries pending with this consumer have all been read again */
  private readonly ownPendingRead = new Set<string>();
  /** XAUTOCLAIM cursor per outbox */
  private readonly claimCursor = new Map<string, string>();
  /** event id -> the epoch last written to the events table by this flusher */
  private readonly knownEpochs = new Map<string, number>();
  private lastRefresh = -Infinity;
  private lastClaim = -Infinity;

  private running = false;
  private loop: Promise<void> | undefined;
  private blocking: Redis | undefined;
  private wake: (() => void) | undefined;

  constructor(options: BookingFlusherOptions) {
    this.redis = options.redis;
    this.pool = options.pool;
    this.prefix = options.prefix;
    this.consumer = options.consumer;
    this.group = options.group ?? 'flusher';
    this.batchSize = options.batchSize ?? 500;
    this.blockMs = options.blockMs ?? 1000;
    this.claimIdleMs = options.claimIdleMs ?? 5000;
    this.refreshMs = options.refreshMs ?? 1000;
    this.onCommitted = options.onCommitted;
    this.onErrorFn = options.onError;
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
  async backlog(): Promise<number> {
    const lengths = await Promise.all([...this.outboxes.keys()].map((outbox) => this.redis.xlen(outbox)));
    return lengths.reduce((a, b) => a + b, 0);
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
    await this.refreshIfDue();
    if (this.outboxes.size === 0) {
      if (block) await this.sleep(Math.min(this.blockMs, this.refreshMs));
      return 0;
    }
    let entries: RawEntry[];
    try {
      entries = [...(await this.claimIfDue()), ...(await this.readOwnPending())];
      if (entries.length === 0 && block && this.blocking) {
        entries = await this.readNew(this.blocking, this.blockMs);
      } else {
        entries.push(...(await this.readNew(this.redis, null)));
      }
    } catch (err) {
      // a stream or its group vanished (event deleted or recreated, Redis flushed): set every group up again at once
      if (err instanceof Error && /NOGROUP|no longer exists/.test(err.message)) {
        this.lastRefresh = -Infinity;
        this.outboxes = new Map();
        this.knownEpochs.clear();
      }
      throw err;
    }
    if (entries.length === 0) return 0;
    try {
      return await this.commit(dedupe(entries));
    } catch (err) {
      // the round's entries stay pending with this consumer: read them again next round
      this.ownPendingRead.clear();
      throw err;
    }
  }

  /** Reads the event registry; creates the consumer group of each new outbox. */
  private async refreshIfDue(): Promise<void> {
    const now = Date.now();
    if (now - this.lastRefresh < this.refreshMs) return;
    this.lastRefresh = now;
    const ids = (await this.redis.smembers(globalKeys(this.prefix).events)).filter(isValidEventId).sort();
    const next = new Map<string, string>();
    for (const eventId of ids) {
      const outbox = eventKeys(this.prefix, eventId).outbox;
      next.set(outbox, eventId);
      if (this.outboxes.has(outbox)) continue;
      try {
        await this.redis.xgroup('CREATE', outbox, this.group, '0', 'MKSTREAM');
      } catch (err) {
        if (!(err instanceof Error && err.message.includes('BUSYGROUP'))) throw err;
      }
      await this.recordEvent(eventId, 0);
    }
    for (const outbox of this.outboxes.keys()) {
      if (!next.has(outbox)) {
        this.ownPendingRead.delete(outbox);
        this.claimCursor.delete(outbox);
      }
    }
    this.outboxes = next;
  }

  /** Takes over entries left pending too long by other (presumably dead) consumers. */
  private async claimIfDue(): Promise<RawEntry[]> {
    const now = Date.now();
    if (now - this.lastClaim < Math.max(50, this.claimIdleMs / 2)) return [];
    this.lastClaim = now;
    const out: RawEntry[] = [];
    for (const outbox of this.outboxes.keys()) {
      const reply = (await this.redis.xautoclaim(outbox, this.group, this.consumer, this.claimIdleMs, this.claimCursor.get(outbox) ?? '0-0', 'COUNT', this.batchSize)) as [
        string,
        [string, string[] | null][],
        string[]?,
      ];
      this.claimCursor.set(outbox, reply[0]);
      for (const [entryId, fields] of reply[1]) out.push({ stream: outbox, entryId, fields });
      this.stats.claimed += reply[1].length;
    }
    return out;
  }

  /** Entries delivered to this consumer earlier but not acknowledged (a restart, a failed round). */
  private async readOwnPending(): Promise<RawEntry[]> {
    const streams = [...this.outboxes.keys()].filter((o) => !this.ownPendingRead.has(o));
    if (streams.length === 0) return [];
    const reply = (await (this.redis.xreadgroup as (...args: unknown[]) => Promise<unknown>).call(
      this.redis,
      'GROUP', this.group, this.consumer, 'COUNT', this.batchSize, 'STREAMS', ...streams, ...streams.map(() => '0'),
    )) as StreamReply;
    const out = flatten(reply);
    const seen = new Set(out.map((e) => e.stream));
    for (const s of streams) if (!seen.has(s)) this.ownPendingRead.add(s);
    return out;
  }

  private async readNew(client: Redis, blockMs: number | null): Promise<RawEntry[]> {
    const streams = [...this.outboxes.keys()];
    const block = blockMs === null ? [] : ['BLOCK', blockMs];
    const reply = (await (client.xreadgroup as (...args: unknown[]) => Promise<unknown>).call(
      client,
      'GROUP', this.group, this.consumer, 'COUNT', this.batchSize, ...block, 'STREAMS', ...streams, ...streams.map(() => '>'),
    )) as StreamReply;
    return flatten(reply);
  }

  /** Commits the entries in one transaction, then acknowledges them. */
  private async commit(entries: RawEntry[]): Promise<number> {
    const bookings: BookingEntry[] = [];
    const dead: DeadEntry[] = [];
    const gone: RawEntry[] = [];
    for (const entry of entries) {
      if (entry.fields === null) {
        gone.push(entry);
        continue;
      }
      const parsed = parseBooking(entry, this.outboxes.get(entry.stream));
      if (typeof parsed === 'string') dead.push({ stream: entry.stream, entryId: entry.entryId, fields: entry.fields, error: parsed, code: undefined });
      else bookings.push(parsed);
    }
    bookings.sort((a, b) => (a.id < b.id ? -1 : a.id > b.id ? 1 : 0));

    await this.recordEvents(bookings);

    let committed: CommittedBooking[] = [];
    if (bookings.length > 0) {
      const round = await inTransaction(this.pool, (client) => this.insertRound(client, bookings, entries, dead));
      committed = round.committed;
      this.stats.transactions++;
      this.stats.inserted += round.inserted;
      this.stats.duplicates += committed.length - round.inserted;
    }

    if (committed.length > 0 && this.onCommitted) {
      try {
        this.onCommitted(committed);
      } catch (err) {
        this.report(err);
      }
    }

    const settled = await this.acknowledge(committed, bookings, dead, gone);
    for (const d of dead) {
      this.report(new DeadLetterError(`outbox entry ${d.entryId} of ${d.stream} moved to ${d.stream}:dead: ${d.error}`, d.stream, d.entryId, d.code, d.bookingId));
    }
    return settled;
  }

  /**
   * The body of a round's transaction: stale entries refused, the batch
   * inserted (entry by entry when Postgres refuses part of it), duplicates
   * recognised, and the commit notification queued.
   */
  private async insertRound(
    client: pg.PoolClient,
    bookings: BookingEntry[],
    entries: RawEntry[],
    dead: DeadEntry[],
  ): Promise<{ committed: CommittedBooking[]; inserted: number }> {
    const committed: CommittedBooking[] = [];
    const live = await this.refuseStale(client, bookings, entries, dead);
    const references = new Map<string, string>();
    await client.query('SAVEPOINT batch');
    try {
      for (const row of await this.insert(client, live, 0)) references.set(row.id, row.reference);
      await client.query('RELEASE SAVEPOINT batch');
    } catch (err) {
      if (!isRefusal(err)) throw err;
      // someone in the batch is refused: go entry by entry so the rest commits
      await client.query('ROLLBACK TO SAVEPOINT batch');
      for (const b of live) {
        const outcome = await this.insertOne(client, b);
        if (outcome.inserted) references.set(b.id, outcome.inserted);
        else if (outcome.refused) dead.push(deadEntry(b, entries, outcome.refused.message, outcome.refused.code));
      }
    }
    const deadIds = new Set(dead.map((d) => d.entryId));
    const missing = live.filter((b) => !references.has(b.id) && !deadIds.has(b.entryId));
    const existing = new Map<string, string>();
    if (missing.length > 0) {
      // delivered again: the booking was committed before (by this or another flusher)
      const res = await client.query<{ id: string; reference: string }>(
        'SELECT id::text AS id, reference FROM bookings WHERE id = ANY($1::uuid[])',
        [missing.map((b) => b.id)],
      );
      for (const r of res.rows) existing.set(r.id, r.reference);
    }
    let inserted = 0;
    for (const b of live) {
      if (deadIds.has(b.entryId)) continue;
      const reference = references.get(b.id) ?? existing.get(b.id);
      if (reference === undefined) continue; // never expected: neither inserted nor present
      if (references.has(b.id)) inserted++;
      committed.push({ id: b.id, reference, eventId: b.eventId, holder: b.holder, key: b.key, seats: b.seats, seq: b.seq });
    }
    // delivered with the commit, never before it: a listener that hears of a booking can tell its client it is durable
    for (const payload of notificationPayloads(committed)) {
      await client.query('SELECT pg_notify($1, $2)', [COMMIT_CHANNEL, payload]);
    }
    return { committed, inserted };
  }

  /**
   * Refuses (dead-letters) the bookings of an epoch older than the event's
   * epoch in Postgres: the event was rebuilt from Postgres after they were made
   * in Redis, so the rebuilt seat map does not have them and their seats may be
   * sold again. They were never acknowledged (acks wait for the commit). The
   * events rows stay share-locked to the commit, so a rebuild, which locks its
   * row for update, sees either all of this batch or none of it.
   */
  private async refuseStale(client: pg.PoolClient, bookings: BookingEntry[], entries: RawEntry[], dead: DeadEntry[]): Promise<BookingEntry[]> {
    const eventIds = [...new Set(bookings.map((b) => b.eventId))].sort();
    const res = await client.query<{ id: string; epoch: string | null }>(
      'SELECT id, epoch FROM events WHERE id = ANY($1::text[]) ORDER BY id FOR SHARE',
      [eventIds],
    );
    const epochs = new Map(res.rows.map((r) => [r.id, r.epoch === null ? null : Number(r.epoch)]));
    const isStale = (b: BookingEntry) => {
      const epoch = epochs.get(b.eventId);
      return epoch !== undefined && epoch !== null && b.epoch < epoch;
    };
    const stale = bookings.filter(isStale);
    if (stale.length === 0) return bookings;
    // an entry delivered again after its booking committed is a duplicate, not a stale booking
    const known = await client.query<{ id: string }>('SELECT id::text AS id FROM bookings WHERE id = ANY($1::uuid[])', [stale.map((b) => b.id)]);
    const committed = new Set(known.rows.map((r) => r.id));
    return bookings.filter((b) => {
      if (!isStale(b) || committed.has(b.id)) return true;
      const epoch = epochs.get(b.eventId)!;
      dead.push(deadEntry(b, entries, `event ${b.eventId} was rebuilt at epoch ${epoch} after this booking (epoch ${b.epoch}) was made`, STALE_EPOCH));
      return false;
    });
  }

  private async insert(client: pg.PoolClient, rows: BookingEntry[], level: number): Promise<{ id: string; reference: string }[]> {
    const res = await client.query<{ id: string; reference: string }>(INSERT_SQL, [
      rows.map((b) => b.id),
      rows.map((b) => bookingReference(b.id, level)),
      rows.map((b) => b.eventId),
      rows.map((b) => b.holder),
      rows.map((b) => b.key),
      rows.map((b) => JSON.stringify(b.seats)),
      rows.map((b) => b.seq),
      rows.map((b) => b.epoch),
      rows.map((b) => b.at),
      rows.map((b) => `${b.stream}/${b.entryId}`),
      this.consumer,
      rows.map((b) => b.token),
    ]);
    return res.rows;
  }

  /** One entry under its own savepoint; a reference collision retries with the longer form. */
  private async insertOne(
    client: pg.PoolClient,
    b: BookingEntry,
  ): Promise<{ inserted?: string; refused?: { message: string; code: string | undefined } }> {
    for (let level = 0; level < REFERENCE_LEVELS; level++) {
      await client.query('SAVEPOINT entry');
      try {
        const rows = await this.insert(client, [b], level);
        await client.query('RELEASE SAVEPOINT entry');
        return rows[0] ? { inserted: rows[0].reference } : {};
      } catch (err) {
        if (!isRefusal(err)) throw err;
        await client.query('ROLLBACK TO SAVEPOINT entry');
        const e = err as { message: string; code?: string; constraint?: string; detail?: string };
        if (e.constraint === 'bookings_reference_key' && level < REFERENCE_LEVELS - 1) continue;
        return { refused: { message: e.detail ? `${e.message} (${e.detail})` : e.message, code: e.code } };
      }
    }
    return {};
  }

  /** Writes the events table row of each event the first time (or a new epoch) this flusher sees it. */
  private async recordEvents(bookings: BookingEntry[]): Promise<void> {
    const epochs = new Map<string, number>();
    for (const b of bookings) epochs.set(b.eventId, Math.max(b.epoch, epochs.get(b.eventId) ?? 0));
    for (const [eventId, epoch] of [...epochs].sort()) await this.recordEvent(eventId, epoch);
  }

  /**
   * Writes an event's row (layout, settings, epoch) from Redis, unless this
   * flusher already wrote it for `epoch` or later. A rebuild needs the layout
   * in Postgres, so refresh() records every event of the registry once, even
   * one nobody has booked yet.
   */
  private async recordEvent(eventId: string, epoch: number): Promise<void> {
    if ((this.knownEpochs.get(eventId) ?? -Infinity) >= epoch) return;
    const keys = eventKeys(this.prefix, eventId);
    const [meta, layout] = await Promise.all([this.redis.hgetall(keys.meta), this.redis.get(keys.layout)]);
    const current = meta.epoch !== undefined && Number(meta.epoch) >= epoch;
    if (!current && epoch <= 0) return; // nothing known to record: the event is gone from Redis
    const settings = current
      ? {
          holdTtlMs: Number(meta.holdTtlMs),
          maxHoldLifetimeMs: Number(meta.maxHoldLifetimeMs),
          maxSeatsPerToken: Number(meta.maxSeatsPerToken),
          maxSeatsPerHolder: Number(meta.maxSeatsPerHolder),
        }
      : null;
    await this.pool.query(UPSERT_EVENT_SQL, [
      eventId,
      current ? Number(meta.epoch) : epoch,
      current && layout !== null ? layout : null,
      settings === null ? null : JSON.stringify(settings),
      current ? Number(meta.seats) : null,
    ]);
    this.knownEpochs.set(eventId, current ? Number(meta.epoch) : epoch);
  }


  /** After COMMIT: dead letters, XACK and XDEL, one MULTI per outbox. */
  private async acknowledge(committed: CommittedBooking[], bookings: BookingEntry[], dead: DeadEntry[], gone: RawEntry[]): Promise<number> {
    const done = new Set(committed.map((c) => c.id));
    const byStream = new Map<string, { ids: string[]; dead: DeadEntry[] }>();
    const slot = (stream: string) => {
      let s = byStream.get(stream);
      if (!s) byStream.set(stream, (s = { ids: [], dead: [] }));
      return s;
    };
    for (const b of bookings) if (done.has(b.id)) slot(b.stream).ids.push(b.entryId);
    for (const g of gone) slot(g.stream).ids.push(g.entryId);
    for (const d of dead) {
      const s = slot(d.stream);
      s.ids.push(d.entryId);
      s.dead.push(d);
    }
    let settled = 0;
    for (const [stream, s] of byStream) {
      if (s.ids.length === 0) continue;
      const multi = this.redis.multi();
      for (const d of s.dead) {
        multi.xadd(`${stream}:dead`, '*', ...d.fields, 'entry', d.entryId, 'error', d.error, 'code', d.code ?? '', 'consumer', this.consumer);
      }
      multi.xack(stream, this.group, ...s.ids);
      multi.xdel(stream, ...s.ids);
      const results = await multi.exec();
      const failed = results?.find(([err]) => err);
      if (!results || failed) throw failed?.[0] ?? new Error(`acknowledging ${stream}: transaction discarded`);
      settled += s.ids.length;
    }
    this.stats.dead += dead.length;
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

/** Postgres refused the data itself (integrity or data error), as opposed to a failure to run. */
function isRefusal(err: unknown): boolean {
  const code = (err as { code?: unknown } | null)?.code;
  return typeof code === 'string' && (code.startsWith('23') || code.startsWith('22'));
}

function flatten(reply: StreamReply): RawEntry[] {
  const out: RawEntry[] = [];
  for (const [stream, items] of reply ?? []) {
    for (const [entryId, fields] of items) out.push({ stream, entryId, fields });
  }
  return out;
}

function dedupe(entries: RawEntry[]): RawEntry[] {
  const seen = new Set<string>();
  return entries.filter((e) => {
    const k = `${e.stream}\n${e.entryId}`;
    if (seen.has(k)) return false;
    seen.add(k);
    return true;
  });
}

function deadEntry(b: BookingEntry, entries: RawEntry[], error: string, code: string | undefined): DeadEntry {
  const fields = entries.find((e) => e.stream === b.stream && e.entryId === b.entryId)?.fields ?? [];
  return { stream: b.stream, entryId: b.entryId, bookingId: b.id, fields, error, code };
}

/** `id reference` pairs joined by commas, cut to stay under Postgres's 8000-byte NOTIFY payload limit. */
export function notificationPayloads(committed: readonly CommittedBooking[]): string[] {
  const payloads: string[] = [];
  let current = '';
  for (const c of committed) {
    const item = `${c.id} ${c.reference}`;
    if (current.length > 0 && current.length + 1 + item.length > NOTIFY_PAYLOAD_MAX) {
      payloads.push(current);
      current = '';
    }
    current = current.length > 0 ? `${current},${item}` : item;
  }
  if (current.length > 0) payloads.push(current);
  return payloads;
}

/** Parses one payload of notificationPayloads(): booking id -> reference. */
export function parseNotification(payload: string): Map<string, string> {
  const out = new Map<string, string>();
  for (const item of payload.split(',')) {
    const space = item.indexOf(' ');
    if (space > 0) out.set(item.slice(0, space), item.slice(space + 1));
  }
  return out;
}

/** The booking of an outbox entry, or why it is not one. */
function parseBooking(entry: RawEntry, eventId: string | undefined): BookingEntry | string {
  if (eventId === undefined) return 'unknown outbox';
  const f = new Map<string, string>();
  const fields = entry.fields ?? [];
  for (let i = 0; i + 1 < fields.length; i += 2) f.set(fields[i]!, fields[i + 1]!);
  const id = f.get('id');
  const key = f.get('key');
  const holder = f.get('holder');
  if (!id || !UUID.test(id)) return 'bad or missing id';
  if (!key) return 'missing key';
  if (!holder) return 'missing holder';
  let seats: number[];
  try {
    const raw: unknown = JSON.parse(f.get('seats') ?? '');
    if (!Array.isArray(raw) || raw.length === 0) return 'seats is not a non-empty array';
    seats = raw.map(Number);
  } catch {
    return 'seats is not JSON';
  }
  if (!seats.every((s) => Number.isSafeInteger(s) && s >= 0 && s <= 0x7fffffff)) return 'bad seat number';
  const seq = Number(f.get('seq'));
  const epoch = Number(f.get('epoch'));
  const at = Number(f.get('at'));
  if (![seq, epoch, at].every(Number.isSafeInteger)) return 'bad seq, epoch or at';
  return { stream: entry.stream, entryId: entry.entryId, eventId, id: id.toLowerCase(), key, holder, token: f.get('token') || null, seats, seq, epoch, at };
}
