/**
 * Frees expired holds soon after their expiry, across any number of events,
 * without scanning the keyspace: holds index their event in one sorted set
 * (the sweep index) and each tick claims the events that are due.
 *
 * Several processes may sweep at once: a claim is atomic and leased, so an
 * event is swept by one process at a time, and a process that dies mid-sweep
 * only delays its events until the lease lapses. See docs/store.md.
 *
 * At rest a sweeper costs Redis a constant: one claim per interval, whatever
 * the number of events. The index repair (reconcile) is needed on a Cluster
 * only, where a hold and its index update are two steps (on one Redis
 * holdIndexed-13.lua does both atomically); there it walks the registry a
 * step of RECONCILE_STEP events per reconcileEveryMs, never all at once.
 */
import { isCluster } from './redis-client.js';
import type { SeatStore } from './seat-store.js';
import { SCRIPTS } from './scripts.js';
import { RepeatingTask } from './repeating-task.js';

export interface SweeperOptions {
  /** how often to look for due events (ms) */
  intervalMs?: number;
  /** events claimed per round; a full round is followed by another at once */
  eventsPerRound?: number;
  /** tokens expired per event per script call */
  tokensPerEvent?: number;
  /** how long a claim keeps other sweepers away (ms) */
  leaseMs?: number;
  /** on a Cluster, how often a step of the index repair runs (RECONCILE_STEP events; ms, 0 = never) */
  reconcileEveryMs?: number;
  onSweep?: (stats: SweepStats) => void;
  /** the tokens one event's sweep expired, with their holders (tokend pushes) */
  onExpired?: (eventId: string, expired: { token: string; holder: string }[]) => void;
  onError?: (error: unknown) => void;
}

/** events one step of the index repair looks at */
export const RECONCILE_STEP = 50;

export interface SweepStats {
  events: number;
  tokensExpired: number;
  seatsFreed: number;
}

export class ExpirySweeper {
  private readonly intervalMs: number;
  private readonly eventsPerRound: number;
  private readonly tokensPerEvent: number;
  private readonly leaseMs: number;
  private readonly reconcileEveryMs: number;
  private readonly task = new RepeatingTask(() => this.tick());
  private lastReconcile = 0;
  private reconcileCursor = '0';

  constructor(
    private readonly store: SeatStore,
    private readonly options: SweeperOptions = {},
  ) {
    this.intervalMs = options.intervalMs ?? 200;
    this.eventsPerRound = options.eventsPerRound ?? 200;
    this.tokensPerEvent = options.tokensPerEvent ?? 500;
    this.leaseMs = options.leaseMs ?? 10_000;
    this.reconcileEveryMs = isCluster(store.redis) ? (options.reconcileEveryMs ?? 1000) : 0;
  }

  start(): void {
    if (this.task.active) return;
    this.lastReconcile = Date.now();
    this.task.start();
  }

  /** Stops the timer and waits for a round in progress. */
  stop(): Promise<void> {
    return this.task.stop();
  }

  /** One round; the delay before the next: none while rounds come back full. */
  private async tick(): Promise<number> {
    let again = false;
    try {
      if (this.reconcileEveryMs > 0 && Date.now() - this.lastReconcile >= this.reconcileEveryMs) {
        this.lastReconcile = Date.now();
        await this.reconcileStep();
      }
      const stats = await this.sweepOnce();
      again = stats.events >= this.eventsPerRound;
      if (stats.events > 0) this.options.onSweep?.(stats);
    } catch (error) {
      this.options.onError?.(error);
    }
    return again ? 0 : this.intervalMs;
  }

  /** One round: claim due events, expire their tokens, settle the claims. */
  async sweepOnce(): Promise<SweepStats> {
    const { store } = this;
    const now = await store.now();
    const leaseEnd = now + this.leaseMs;
    const claimed = (await store.scripts.run(SCRIPTS.sweepClaim, store.global, {
      now,
      leaseEnd,
      limit: this.eventsPerRound,
    })) as string[];
    const results = await Promise.all(claimed.map((eventId) => this.sweepEvent(eventId, leaseEnd)));
    const stats: SweepStats = { events: claimed.length, tokensExpired: 0, seatsFreed: 0 };
    for (const r of results) {
      stats.tokensExpired += r.tokensExpired;
      stats.seatsFreed += r.seatsFreed;
    }
    return stats;
  }

  private async sweepEvent(eventId: string, leaseEnd: number): Promise<{ tokensExpired: number; seatsFreed: number }> {
    const result = await this.store.expire(eventId, this.tokensPerEvent);
    // An event that no longer exists has nothing left to expire.
    const nextExpiry = result.ok ? (result.nextExpiry ?? -1) : -1;
    await this.store.scripts.run(SCRIPTS.sweepSettle, this.store.global, { eventId, leaseEnd, nextExpiry });
    if (result.ok && result.expired.length > 0) this.options.onExpired?.(eventId, result.expired);
    return result.ok ? result : { tokensExpired: 0, seatsFreed: 0 };
  }

  /** One step of the index repair: the next RECONCILE_STEP events of the registry (SSCAN), then on from there. */
  async reconcileStep(): Promise<number> {
    const { store } = this;
    const [next, eventIds] = await store.redis.sscan(store.global.events, this.reconcileCursor, 'COUNT', RECONCILE_STEP);
    this.reconcileCursor = next;
    return this.reindex(eventIds);
  }

  private async reindex(eventIds: readonly string[]): Promise<number> {
    const { store } = this;
    let touched = 0;
    await Promise.all(
      eventIds.map(async (eventId) => {
        const first = await store.redis.zrange(store.keys(eventId).expiry, 0, 0, 'WITHSCORES');
        if (first[1] === undefined) return;
        await store.scripts.run(SCRIPTS.sweepTouch, store.global, { eventId, dueAt: Number(first[1]) });
        touched++;
      }),
    );
    return touched;
  }

  /**
   * Re-indexes every registered event that has tokens. Walks the event
   * registry (never the keyspace); repairs an index entry lost when a process
   * died between a hold and its index update.
   */
  async reconcile(): Promise<number> {
    const { store } = this;
    let cursor = '0';
    let touched = 0;
    do {
      const [next, eventIds] = await store.redis.sscan(store.global.events, cursor, 'COUNT', 500);
      cursor = next;
      touched += await this.reindex(eventIds);
    } while (cursor !== '0');
    return touched;
  }
}
