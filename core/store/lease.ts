/**
 * A lease in Redis that elects one process of many to run background work
 * (the booking flusher, the expiry sweeper, the lifecycle timers): each
 * process tries to take or renew it every `ttlMs / 3`; the holder runs the
 * work, the others wait. A holder that stops gives it back, one that dies
 * loses it after `ttlMs`; a holder that cannot renew in time (Redis
 * unreachable) stops its work before its lease could have passed to another.
 *
 * The work it guards must be safe to run twice for a moment anyway (it is:
 * the flusher reads through consumer groups, the sweeper claims events with
 * leases of their own, the lifecycle passes claim their rows): the election
 * saves the duplicated polling of N processes, it is not what keeps them
 * correct.
 */
import type { SeatStore } from './seat-store.js';
import { SCRIPTS } from './scripts.js';

export interface LeaseOptions {
  /** unique per process */
  holder: string;
  ttlMs?: number;
  /** this process holds the lease now: start the work */
  onGained(): void;
  /** this process no longer holds it (or may not): stop the work */
  onLost(): void | Promise<void>;
  onError?(err: unknown): void;
}

export class Lease {
  private readonly ttlMs: number;
  private timer: NodeJS.Timeout | null = null;
  private held = false;
  /** when the lease held last was last renewed (ms, wall clock) */
  private renewedAt = 0;
  private running = false;
  private attempt: Promise<void> | null = null;

  constructor(
    private readonly store: SeatStore,
    private readonly options: LeaseOptions,
  ) {
    this.ttlMs = options.ttlMs ?? 3000;
  }

  get isHeld(): boolean {
    return this.held;
  }

  start(): void {
    if (this.running) return;
    this.running = true;
    this.tick();
  }

  /** Stops trying; gives the lease back when held (after onLost, so the work has stopped first). */
  async stop(): Promise<void> {
    this.running = false;
    if (this.timer) clearTimeout(this.timer);
    this.timer = null;
    await this.attempt;
    if (!this.held) return;
    this.held = false;
    await this.options.onLost();
    await this.store.scripts.run(SCRIPTS.dropLease, this.store.global, { holder: this.options.holder }).catch((err: unknown) => this.options.onError?.(err));
  }

  private tick(): void {
    if (!this.running) return;
    this.attempt = this.tryTake().finally(() => {
      this.attempt = null;
      if (!this.running) return;
      this.timer = setTimeout(() => this.tick(), this.ttlMs / 3);
      this.timer.unref();
    });
  }

  private async tryTake(): Promise<void> {
    const asked = Date.now();
    let got: boolean;
    try {
      got = Number(await this.store.scripts.run(SCRIPTS.takeLease, this.store.global, { holder: this.options.holder, ttlMs: this.ttlMs })) === 1;
    } catch (err) {
      this.options.onError?.(err);
      // unrenewed for most of its time to live: another process may take it soon, so stop first
      if (this.held && Date.now() - this.renewedAt > (this.ttlMs * 2) / 3) await this.lose();
      return;
    }
    if (!this.running) return;
    if (got) {
      this.renewedAt = asked;
      if (!this.held) {
        this.held = true;
        this.options.onGained();
      }
    } else if (this.held) {
      await this.lose();
    }
  }

  private async lose(): Promise<void> {
    this.held = false;
    await this.options.onLost();
  }
}
