/**
 * Advances every waiting room (docs/onsale.md): each ADMIT_INTERVAL_MS this
 * node runs one admission step per event that has a room
 * (core/store/waiting-room.ts). A step takes the room's lease first, so one
 * node at a time admits; the others' steps do nothing until its lease lapses
 * (a node that dies), and each step is atomic, so no place is lost.
 */
import { randomUUID } from 'node:crypto';
import type { Logger } from 'pino';
import type { WaitingRooms } from '../core/store/index.js';
import type { GatewayMetrics } from './metrics.js';

export interface QueueAdmitterOptions {
  rooms: WaitingRooms;
  metrics: GatewayMetrics;
  logger: Logger;
  intervalMs: number;
}

export class QueueAdmitter {
  readonly nodeId = randomUUID();
  private timer: NodeJS.Timeout | null = null;
  private running = false;

  constructor(private readonly options: QueueAdmitterOptions) {}

  /** Three missed steps and another node takes over. */
  get leaseMs(): number {
    return Math.max(1000, this.options.intervalMs * 3);
  }

  start(): void {
    if (this.timer) return;
    this.timer = setInterval(() => void this.step(), this.options.intervalMs);
    this.timer.unref();
  }

  stop(): void {
    if (this.timer) clearInterval(this.timer);
    this.timer = null;
  }

  /** One step for every room. */
  async step(): Promise<void> {
    if (this.running) return;
    this.running = true;
    const { rooms, metrics, logger } = this.options;
    try {
      const events = await rooms.events();
      await Promise.all(
        events.map(async (ev) => {
          const r = await rooms.advance(ev, this.nodeId, this.leaseMs);
          if (!r.ok) {
            // the event is gone: so is its room
            if (r.code === 'NO_EVENT') await rooms.remove(ev);
            return;
          }
          if (r.result.ran && r.result.admitted > 0) metrics.queueAdmitted.inc(r.result.admitted);
        }),
      );
    } catch (err) {
      logger.warn({ err }, 'waiting-room step failed; retrying');
    } finally {
      this.running = false;
    }
  }
}
