/**
 * Repairs events whose Redis state went back: a failover to a replica that
 * missed the last writes, or a Redis restarted from an older snapshot. See
 * docs/scaling.md, "Failover".
 *
 * Detection, every pass:
 * - Redis's identity: each master's `run_id` is written into Redis itself
 *   (`<prefix>redis-identity`, a hash of node → run_id). A promoted replica, or
 *   a server restarted from a snapshot, has a new run_id but the old value in
 *   the hash (replicated, or in the snapshot): this Redis may have lost
 *   writes, so every event is checked. It survives a restart of this process,
 *   since the evidence is in Redis.
 * - A reconcile window: one event per pass, in turn, is checked anyway, so a
 *   divergence no identity change shows is still found (within a pass per
 *   event). A pass costs Redis INFO, one HGETALL and one event's snapshot
 *   (and the registry every 60 passes), whatever the number of events.
 *
 * Checking an event against Postgres: Redis went back when a seat Postgres
 * holds booked is not BOOKED in Redis, or when Postgres has committed a
 * booking at the event's epoch with a seq above the event's seq in Redis.
 *
 * Repair: an event that lost bookings is deleted in Redis and rebuilt from
 * Postgres (core/bookings/rebuild.ts): its booked seats back, holds lost, a
 * new epoch. After an identity change, every other event gets a new epoch in
 * place (bumpEpoch, holds kept): a client may have seen changes the promoted
 * replica lacks, and the writes since reuse their seq numbers, so every
 * client re-snapshots instead of applying diffs that would not fit.
 */
import type pg from 'pg';
import { SCRIPTS } from '../store/scripts.js';
import { isCluster } from '../store/redis-client.js';
import type { SeatStore } from '../store/seat-store.js';
import { rebuildEvent } from './rebuild.js';

const BOOKED = 2;
/** events checked against Postgres per pass without an identity change: idle cost is a constant per node */
const WINDOW = 1;
/** passes between two reads of the event registry for the reconcile window */
const REGISTRY_EVERY = 60;

export interface FailoverRepairOptions {
  pool: pg.Pool;
  store: SeatStore;
  /** how often a pass runs (0: never on a timer) */
  intervalMs: number;
  onRepaired?(eventId: string, repair: Repair): void;
  onIdentityChanged?(nodes: string[]): void;
  onError?(err: unknown, eventId?: string): void;
}

export type Repair =
  /** lost bookings: rebuilt from Postgres */
  | { kind: 'rebuilt'; epoch: number; missingSeats: number; redisSeq: number; committedSeq: number }
  /** nothing lost that Postgres knows of, but Redis may have gone back: a new epoch */
  | { kind: 'epoch'; epoch: number };

export interface PassResult {
  identityChanged: boolean;
  checked: number;
  repaired: { eventId: string; repair: Repair }[];
}

export class FailoverRepair {
  private timer: NodeJS.Timeout | null = null;
  private running: Promise<unknown> | null = null;
  private windowStart = 0;
  private registry: string[] = [];
  private passes = 0;

  constructor(private readonly options: FailoverRepairOptions) {}

  private get identityKey(): string {
    return this.options.store.global.redisIdentity;
  }

  start(): void {
    if (this.timer || this.options.intervalMs <= 0) return;
    this.timer = setInterval(() => {
      if (!this.running) this.running = this.pass().catch((err: unknown) => this.options.onError?.(err)).finally(() => (this.running = null));
    }, this.options.intervalMs);
    this.timer.unref();
  }

  async stop(): Promise<void> {
    if (this.timer) clearInterval(this.timer);
    this.timer = null;
    await this.running;
  }

  /** One pass: the identity check, then the events it calls for (all, or the window). */
  async pass(): Promise<PassResult> {
    const changed = await this.identityChanged();
    if (changed.length > 0) this.options.onIdentityChanged?.(changed);
    if (changed.length > 0 || this.passes++ % REGISTRY_EVERY === 0) this.registry = (await this.options.store.registeredEvents()).sort();
    const ids = this.registry;
    let targets = ids;
    if (changed.length === 0) {
      const start = this.windowStart % Math.max(1, ids.length);
      targets = [...ids.slice(start, start + WINDOW), ...ids.slice(0, Math.max(0, start + WINDOW - ids.length))];
      this.windowStart = start + WINDOW;
    }
    const repaired: PassResult['repaired'] = [];
    for (const eventId of targets) {
      try {
        const repair = await this.checkEvent(eventId, changed.length > 0);
        if (repair) {
          repaired.push({ eventId, repair });
          this.options.onRepaired?.(eventId, repair);
        }
      } catch (err) {
        this.options.onError?.(err, eventId);
      }
    }
    // only once every event is repaired: a pass cut short by an error is done again from the start
    if (changed.length > 0) await this.recordIdentity();
    return { identityChanged: changed.length > 0, checked: targets.length, repaired };
  }

  /**
   * Checks one event against Postgres and repairs it; `wentBack`: Redis may
   * have lost writes (its identity changed), so the epoch changes even when
   * Postgres shows nothing lost.
   */
  async checkEvent(eventId: string, wentBack: boolean): Promise<Repair | null> {
    const { pool, store } = this.options;
    // Postgres first, Redis after: a booking is in Redis (BOOKED, at its seq) before it commits, so
    // whatever Postgres had committed when it was asked a later snapshot must show, unless Redis went
    // back. Read the other way round, a booking made and committed between the two reads looks lost.
    const booked = await pool.query<{ seat: number }>('SELECT seat FROM booked_seats WHERE event_id = $1', [eventId]);
    const committed = await pool.query<{ epoch: string; seq: string | null }>('SELECT epoch, max(seq) AS seq FROM bookings WHERE event_id = $1 GROUP BY epoch', [eventId]);
    const snap = await store.snapshot(eventId);
    if (!snap) return null; // lost entirely: the lost-event check rebuilds it
    const committedSeq = Number(committed.rows.find((row) => Number(row.epoch) === snap.epoch)?.seq ?? 0);
    let missing = booked.rows.filter(({ seat }) => snap.status[seat] !== BOOKED).length;
    if (missing > 0) {
      // a release commits in Postgres before Redis frees the seat: ask again, a seat released meanwhile is gone from booked_seats
      const again = await pool.query<{ seat: number }>('SELECT seat FROM booked_seats WHERE event_id = $1', [eventId]);
      const now = await store.snapshot(eventId);
      if (!now) return null;
      missing = again.rows.filter(({ seat }) => now.status[seat] !== BOOKED).length;
    }
    if (missing > 0 || committedSeq > snap.seq) {
      await store.deleteEvent(eventId);
      const outcome = await rebuildEvent(pool, store, eventId);
      if (outcome.status !== 'rebuilt') return null; // another process rebuilt it first
      return { kind: 'rebuilt', epoch: outcome.epoch, missingSeats: missing, redisSeq: snap.seq, committedSeq };
    }
    if (!wentBack) return null;
    const epoch = Math.max(Date.now(), snap.epoch + 1);
    await store.scripts.run(SCRIPTS.bumpEpoch, store.keys(eventId), { epoch });
    return { kind: 'epoch', epoch };
  }

  /** The masters whose run_id differs from the one recorded in Redis (empty on first sight, when it is recorded). */
  private async identityChanged(): Promise<string[]> {
    const seen = await this.runIds();
    const recorded = await this.options.store.redis.hgetall(this.identityKey);
    if (Object.keys(recorded).length === 0) {
      await this.recordIdentity(seen);
      return [];
    }
    // a run_id that differs, or a master at an address not recorded (a replica promoted in its place)
    return Object.entries(seen)
      .filter(([node, id]) => recorded[node] !== id)
      .map(([node]) => node);
  }

  private async recordIdentity(seen?: Record<string, string>): Promise<void> {
    const ids = seen ?? (await this.runIds());
    const redis = this.options.store.redis;
    await redis.del(this.identityKey);
    await redis.hset(this.identityKey, ids);
  }

  /** run_id of each master, by its address (one entry on a single Redis). */
  private async runIds(): Promise<Record<string, string>> {
    const redis = this.options.store.redis;
    const nodes = isCluster(redis) ? redis.nodes('master') : [redis];
    const entries = await Promise.all(
      nodes.map(async (node) => {
        const info = await node.info('server');
        const id = /run_id:(\w+)/.exec(info)?.[1] ?? '';
        return [isCluster(redis) ? `${node.options.host}:${node.options.port}` : 'redis', id] as const;
      }),
    );
    return Object.fromEntries(entries);
  }
}
