/**
 * The gate in front of rebuilding an event from Postgres. A request that
 * meets an event Redis does not have may mean Redis lost it (then it is
 * rebuilt from Postgres, core/bookings/recovery.ts) or that there is no such
 * event. Asking Postgres costs a transaction, so:
 *
 * - an event Postgres did not know is remembered for `unknownTtlMs`: asking
 *   again within that time is answered from memory;
 * - an anonymous viewer never makes the gateway ask Postgres about an event
 *   this node has not seen (it can vary the event id at will); an event this
 *   node has served, created or rebuilt may be rebuilt for anyone, once per
 *   loss (one Postgres did not know is forgotten). Lost events nobody with a
 *   token touches are brought back by the recovery's own check.
 *
 * Both memories are bounded (`maxEntries`); past the bound they start over.
 */
import type { Principal } from './auth.js';
import type { GatewayMetrics } from './metrics.js';

export interface RecoveryGateOptions {
  /** rebuilds the event if Redis lost it; true when Redis has it afterwards (never throws) */
  ensure(eventId: string): Promise<boolean>;
  metrics: Pick<GatewayMetrics, 'eventLookups'>;
  /** how long an event Postgres did not know is answered from memory (default 5 s) */
  unknownTtlMs?: number;
  maxEntries?: number;
  now?: () => number;
}

export class RecoveryGate {
  private readonly unknownUntil = new Map<string, number>();
  private readonly recorded = new Set<string>();
  private readonly ttl: number;
  private readonly max: number;
  private readonly now: () => number;

  constructor(private readonly options: RecoveryGateOptions) {
    this.ttl = options.unknownTtlMs ?? 5000;
    this.max = options.maxEntries ?? 10_000;
    this.now = options.now ?? Date.now;
  }

  /** Whether Redis has the event after asking (or not asking) Postgres for it. */
  async recover(eventId: string, who: Pick<Principal, 'sub'>): Promise<boolean> {
    const { metrics } = this.options;
    if (who.sub === null && !this.recorded.has(eventId)) {
      metrics.eventLookups.inc({ result: 'anonymous_not_asked' });
      return false;
    }
    const until = this.unknownUntil.get(eventId);
    if (until !== undefined) {
      if (until > this.now()) {
        metrics.eventLookups.inc({ result: 'unknown_cached' });
        return false;
      }
      this.unknownUntil.delete(eventId);
    }
    const present = await this.options.ensure(eventId);
    metrics.eventLookups.inc({ result: present ? 'present' : 'unknown' });
    if (present) this.remember(eventId);
    else {
      this.recorded.delete(eventId);
      if (this.unknownUntil.size >= this.max) this.unknownUntil.clear();
      this.unknownUntil.set(eventId, this.now() + this.ttl);
    }
    return present;
  }

  /** An event this node has served, created or rebuilt (so most likely recorded in Postgres). */
  remember(eventId: string): void {
    this.unknownUntil.delete(eventId);
    if (this.recorded.size >= this.max) this.recorded.clear();
    this.recorded.add(eventId);
  }
}
