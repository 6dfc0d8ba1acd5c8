/**
 * The reference model of one event's waiting room (docs/onsale.md), in the
 * order fifo from onSaleAt 0, for the model-based property test: what
 * joining, an admission step and the gate inside the hold script must do.
 * Admission rates are chosen so that every credit is an exact binary
 * fraction, which the script stores with six decimals without rounding.
 */
import type { ErrorCode } from '../../core/errors.js';

export interface QueueModelSettings {
  admitPerMinute: number;
  maxActive: number;
  admissionTtlMs: number;
  closeWhenSoldOut: boolean;
}

export class QueueModel {
  on = false;
  settings: QueueModelSettings | null = null;
  waiting: string[] = [];
  admitted = new Map<string, number>();
  closed: '' | 'SOLD_OUT' = '';
  private credit = 0;
  private lastAdvance = 0;

  configure(now: number, settings: QueueModelSettings): void {
    if (!this.on) {
      this.on = true;
      this.lastAdvance = now;
    }
    this.settings = settings;
  }

  remove(): void {
    this.on = false;
    this.settings = null;
    this.waiting = [];
    this.admitted.clear();
    this.closed = '';
    this.credit = 0;
    this.lastAdvance = 0;
  }

  /** The gate of the hold script: the refusal, or null to go on. */
  gate(now: number, holder: string): ErrorCode | null {
    if (!this.on) return null;
    if ((this.admitted.get(holder) ?? 0) > now) return null;
    return this.closed ? 'QUEUE_CLOSED' : 'NOT_ADMITTED';
  }

  join(now: number, holder: string): { state: string; ahead?: number; until?: number; reason?: string } {
    if (!this.on) return { state: 'none' };
    const until = this.admitted.get(holder) ?? 0;
    if (until > now) return { state: 'admitted', until };
    if (!this.waiting.includes(holder)) this.waiting.push(holder);
    if (this.closed) return { state: 'closed', reason: this.closed };
    return { state: 'waiting', ahead: this.waiting.indexOf(holder) };
  }

  /** One admission step; `status` is the event's seat states now. */
  advance(now: number, status: readonly number[]): { admitted: number; closed: string; waiting: number; active: number } | null {
    if (!this.on) return null;
    const s = this.settings!;
    for (const [holder, until] of this.admitted) if (until <= now) this.admitted.delete(holder);
    this.closed = s.closeWhenSoldOut && !status.includes(0) ? 'SOLD_OUT' : '';
    const perMs = s.admitPerMinute / 60000;
    this.credit = Math.min(this.credit + Math.max(0, now - this.lastAdvance) * perMs, Math.max(1, 2000 * perMs));
    let admitted = 0;
    if (this.closed === '') {
      let n = Math.floor(this.credit);
      if (s.maxActive > 0) n = Math.min(n, Math.max(0, s.maxActive - this.admitted.size));
      for (const holder of this.waiting.splice(0, Math.max(0, n))) {
        this.admitted.set(holder, now + s.admissionTtlMs);
        admitted++;
      }
    }
    this.credit -= admitted;
    this.lastAdvance = now;
    return { admitted, closed: this.closed, waiting: this.waiting.length, active: this.admitted.size };
  }
}
