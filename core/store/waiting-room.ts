/**
 * The Redis side of the per-event waiting room (docs/onsale.md): its
 * settings, a subject joining (its place kept across sockets and nodes), one
 * admission step under a node's lease, and where a list of subjects stands.
 * The hold scripts check admission themselves (lua/includes/gate.lua), so no
 * gateway node can let anyone past. Every key carries the event's hash tag;
 * the set of events with a waiting room is a global key, updated beside.
 */
import { randomInt } from 'node:crypto';
import { parseReply, refusalFrom, type OpResult } from './results.js';
import type { SeatStore } from './seat-store.js';
import { SCRIPTS } from './scripts.js';

export type QueueOrder = 'random-then-fifo' | 'fifo';

/** A waiting room's settings, complete (the admin API fills in the defaults). */
export interface QueueSettings {
  /** epoch ms: admission starts; before it arrivals are in the pre-queue */
  onSaleAt: number;
  /** epoch ms: joining is possible from then on (0: at once) */
  prequeueFrom: number;
  admitPerMinute: number;
  /** most subjects admitted at once (0: no cap) */
  maxActive: number;
  admissionTtlMs: number;
  order: QueueOrder;
  closeWhenSoldOut: boolean;
  /** epoch ms: the sale ends and the room closes (ENDED) for everyone (0: never) */
  endsAt: number;
}

export const DEFAULT_ADMISSION_TTL_MS = 600_000;

export type QueueClosed = '' | 'SOLD_OUT' | 'ENDED';

export type JoinResult =
  | { state: 'none' }
  | { state: 'admitted'; until: number }
  | { state: 'prequeue'; onSaleAt: number }
  | { state: 'waiting'; ahead: number; waiting: number; admitPerMinute: number }
  | { state: 'closed'; reason: 'SOLD_OUT' | 'ENDED' };

export type AdvanceResult =
  | { ran: false; reason: 'none' | 'busy' }
  | { ran: true; admitted: number; closed: QueueClosed; waiting: number; active: number };

export type Place = { kind: 'waiting'; ahead: number } | { kind: 'admitted'; until: number } | { kind: 'none' };

export interface Places {
  settings: QueueSettings;
  closed: QueueClosed;
  waiting: number;
  places: Place[];
}

export interface QueueState {
  settings: QueueSettings;
  closed: QueueClosed;
  waiting: number;
  /** subjects whose admission runs now */
  active: number;
  admittedTotal: number;
}

const DRAW_RANGE = 2 ** 47;

export class WaitingRooms {
  constructor(
    private readonly store: SeatStore,
    /** a test clock; by default the scripts read the Redis clock */
    private readonly clock?: () => number,
  ) {}

  private now(): number | string {
    return this.clock ? this.clock() : '';
  }

  /** Puts a waiting room on the event or replaces its settings; NO_EVENT for an unknown event. */
  async configure(eventId: string, settings: QueueSettings): Promise<OpResult<{ created: boolean }>> {
    const { status, rest } = parseReply(await this.store.scripts.run(SCRIPTS.queueConfigure, this.store.keys(eventId), { now: this.now(), settings: JSON.stringify(settings) }));
    if (status !== 'OK') return refusalFrom(status, rest);
    await this.store.redis.sadd(this.store.global.queues, eventId);
    return { ok: true, created: Number(rest[0]) === 1 };
  }

  /** Takes the waiting room off the event: places and admissions are gone, everyone may hold. */
  async remove(eventId: string): Promise<boolean> {
    const k = this.store.keys(eventId);
    const removed = await this.store.redis.del(k.queue, k.waiting, k.admitted);
    await this.store.redis.srem(this.store.global.queues, eventId);
    return removed > 0;
  }

  /** The events that have a waiting room. */
  events(): Promise<string[]> {
    return this.store.redis.smembers(this.store.global.queues);
  }

  async state(eventId: string): Promise<QueueState | null> {
    const k = this.store.keys(eventId);
    const [fields, waiting, active] = await Promise.all([
      this.store.redis.hmget(k.queue, 'settings', 'closed', 'admittedTotal'),
      this.store.redis.zcard(k.waiting),
      this.store.redis.zcount(k.admitted, `(${this.clock ? this.clock() : Date.now()}`, '+inf'),
    ]);
    if (fields[0] === null) return null;
    const [settings, closed, total] = fields as [string, string | null, string | null];
    return { settings: JSON.parse(settings) as QueueSettings, closed: (closed ?? '') as QueueClosed, waiting, active, admittedTotal: Number(total ?? 0) };
  }

  /** The subject joins (or asks where it stands); its place is kept across joins. */
  async join(eventId: string, subject: string): Promise<OpResult<{ result: JoinResult }>> {
    const draw = randomInt(DRAW_RANGE) / DRAW_RANGE;
    const { status, rest } = parseReply(
      await this.store.runnerFor(subject).run(SCRIPTS.queueJoin, this.store.keys(eventId), { now: this.now(), subject, draw: draw.toFixed(15) }),
    );
    if (status !== 'OK') return refusalFrom(status, rest);
    const state = String(rest[0]);
    switch (state) {
      case 'admitted':
        return { ok: true, result: { state, until: Number(rest[1]) } };
      case 'prequeue':
        return { ok: true, result: { state, onSaleAt: Number(rest[1]) } };
      case 'waiting':
        return { ok: true, result: { state, ahead: Number(rest[1]), waiting: Number(rest[2]), admitPerMinute: Number(rest[3]) } };
      case 'closed':
        return { ok: true, result: { state, reason: String(rest[1]) as 'SOLD_OUT' | 'ENDED' } };
      default:
        return { ok: true, result: { state: 'none' } };
    }
  }

  /** One admission step for the event, taken only while `node` holds (or can take) the room's lease. */
  async advance(eventId: string, node: string, leaseMs: number): Promise<OpResult<{ result: AdvanceResult }>> {
    const { status, rest } = parseReply(await this.store.scripts.run(SCRIPTS.queueAdvance, this.store.keys(eventId), { now: this.now(), node, leaseMs }));
    if (status !== 'OK') return refusalFrom(status, rest);
    if (rest[0] !== 'ran') return { ok: true, result: { ran: false, reason: rest[0] === 'busy' ? 'busy' : 'none' } };
    return {
      ok: true,
      result: { ran: true, admitted: Number(rest[1]), closed: String(rest[2]) as QueueClosed, waiting: Number(rest[3]), active: Number(rest[4]) },
    };
  }

  /** Where each subject stands; null when the event has no waiting room. */
  async places(eventId: string, subjects: readonly string[]): Promise<Places | null> {
    const { rest } = parseReply(await this.store.scripts.run(SCRIPTS.queuePlaces, this.store.keys(eventId), { now: this.now(), subjects: JSON.stringify(subjects) }));
    if (rest[0] !== 'room') return null;
    const flat = (rest[4] as unknown[]).map(Number);
    const places: Place[] = [];
    for (let i = 0; i < flat.length; i += 2) {
      const kind = flat[i];
      places.push(kind === 0 ? { kind: 'waiting', ahead: flat[i + 1]! } : kind === 1 ? { kind: 'admitted', until: flat[i + 1]! } : { kind: 'none' });
    }
    return { settings: JSON.parse(String(rest[1])) as QueueSettings, closed: String(rest[2]) as QueueClosed, waiting: Number(rest[3]), places };
  }
}
