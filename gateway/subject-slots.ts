/**
 * This node's share of the per-subject connection limit
 * (MAX_CONNECTIONS_PER_SUBJECT, docs/onsale.md): takes a slot in Redis for
 * each authenticated connection before its `hello` (core/store/subject-
 * connections.ts), gives it back when the connection closes, and renews the
 * slots of every open connection every third of the lease, so a node that
 * crashes leaks nobody's slots for longer than one lease.
 */
import { randomUUID } from 'node:crypto';
import type { Logger } from 'pino';
import { SubjectConnections, type SeatStore } from '../core/store/index.js';

export interface SubjectSlotsOptions {
  store: SeatStore;
  most: number;
  leaseMs: number;
  logger: Logger;
}

export class SubjectSlots {
  /** this node's connections holding a slot, by subject */
  private readonly local = new Map<string, Set<number>>();
  private readonly slots: SubjectConnections;
  private timer: NodeJS.Timeout | null = null;

  constructor(private readonly options: SubjectSlotsOptions) {
    this.slots = new SubjectConnections({
      scripts: options.store.scripts,
      prefix: options.store.prefix,
      nodeId: randomUUID(),
      most: options.most,
      leaseMs: options.leaseMs,
    });
  }

  get limit(): number {
    return this.options.most;
  }

  /** Takes a slot for connection `id`; false when the subject has every slot open (on any node). */
  async acquire(subject: string, id: number): Promise<boolean> {
    const { taken } = await this.slots.acquire(subject, id);
    if (taken) {
      let ids = this.local.get(subject);
      if (!ids) this.local.set(subject, (ids = new Set()));
      ids.add(id);
    }
    return taken;
  }

  release(subject: string, id: number): void {
    const ids = this.local.get(subject);
    if (!ids?.delete(id)) return;
    if (ids.size === 0) this.local.delete(subject);
    this.slots.release(subject, id).catch((err: unknown) => this.options.logger.warn({ err, subject }, 'connection slot not given back; it lapses with its lease'));
  }

  start(): void {
    if (this.timer) return;
    this.timer = setInterval(() => this.renewAll(), Math.floor(this.options.leaseMs / 3));
    this.timer.unref();
  }

  stop(): void {
    if (this.timer) clearInterval(this.timer);
    this.timer = null;
  }

  private renewAll(): void {
    for (const [subject, ids] of this.local) {
      this.slots.renew(subject, ids).catch((err: unknown) => this.options.logger.warn({ err, subject }, 'connection slots not renewed'));
    }
  }
}
