/**
 * A reference model of the seat store's semantics, in plain TypeScript, for
 * model-based property tests: every operation is applied to the model and to
 * the real Redis, and results and states must agree. It mirrors the contract
 * in docs/store.md, not the Lua code.
 */
import type { ErrorCode } from '../../core/errors.js';
import type { HoldRules } from '../../core/store/index.js';

export const FREE = 0, HELD = 1, BOOKED = 2, BLOCKED = 3;

export interface ModelToken { h: string; s: number[]; c: number; e: number }
export interface ModelBooking { tok: string; h: string; s: number[]; seq: number }
export type ModelRefusal = { ok: false; code: ErrorCode; seats?: number[] };
export type ModelResult = { ok: true; [k: string]: unknown } | ModelRefusal;

const refuse = (code: ErrorCode, seats?: number[]): ModelRefusal =>
  seats && seats.length > 0 ? { ok: false, code, seats } : { ok: false, code };

export class SeatModel {
  status: number[];
  seatHolds = new Map<number, string>();
  tokens = new Map<string, ModelToken>();
  holders = new Map<string, number>();
  bookings = new Map<string, ModelBooking>();
  seq = 0;
  /** net effect of each log entry: seat -> final state */
  log: Map<number, number>[] = [];
  /** the event's score in the sweep index: no later than its earliest token expiry */
  sweepIndex: number | null = null;

  /**
   * The selection rules (test/support/selection-model.ts) a hold, swap or
   * partial release must pass after the limits: a refusal, or undefined.
   * `fresh`: seats taken, `freed`: seats freed, `final`: the token's seats after.
   */
  selection?: (fresh: readonly number[], freed: readonly number[], final: readonly number[]) => ModelRefusal | undefined;

  constructor(readonly seatCount: number, readonly rules: HoldRules) {
    this.status = new Array<number>(seatCount).fill(FREE);
  }

  /** The store's input checks and the script's seat-list parsing. */
  private parseSeats(seats: readonly number[], allowEmpty: boolean): number[] | ModelRefusal {
    if (seats.length === 0 && !allowEmpty) return refuse('BAD_REQUEST');
    // every offending index at once, negative ones too, in the order given
    const seen = new Set<number>();
    const bad: number[] = [];
    for (const s of seats) {
      if (s < 0 || s >= this.seatCount || seen.has(s)) bad.push(s);
      else seen.add(s);
    }
    return bad.length > 0 ? refuse('BAD_SEAT', bad) : [...seats];
  }

  private append(changes: Map<number, number>): number {
    this.seq++;
    this.log.push(changes);
    return this.seq;
  }

  private setHolder(holder: string, delta: number) {
    const n = (this.holders.get(holder) ?? 0) + delta;
    if (n <= 0) this.holders.delete(holder);
    else this.holders.set(holder, n);
  }

  private freeToken(token: string, changes: Map<number, number>) {
    const t = this.tokens.get(token)!;
    for (const s of t.s) {
      if (this.seatHolds.get(s) === token) {
        this.seatHolds.delete(s);
        this.status[s] = FREE;
        changes.set(s, FREE);
      }
    }
    this.setHolder(t.h, -t.s.length);
    this.tokens.delete(token);
  }

  private dueTokens(now: number, limit: number): string[] {
    return [...this.tokens.entries()]
      .filter(([, t]) => t.e <= now)
      .sort(([a, x], [b, y]) => x.e - y.e || (a < b ? -1 : a > b ? 1 : 0))
      .slice(0, limit)
      .map(([tok]) => tok);
  }

  private liveToken(token: string, holder: string, now: number): ModelToken | ModelRefusal {
    const t = this.tokens.get(token);
    if (!t || t.e <= now) return refuse('EXPIRED');
    if (t.h !== holder) return refuse('NOT_HOLDER');
    return t;
  }

  private expiryFor(t: ModelToken, now: number): number {
    return Math.min(now + this.rules.holdTtlMs, t.c + this.rules.maxHoldLifetimeMs);
  }

  /** `token` is the token the call used: the store's new token when `create`. */
  hold(now: number, holder: string, token: string, create: boolean, seatsIn: readonly number[]): ModelResult {
    const seats = this.parseSeats(seatsIn, false);
    if (!Array.isArray(seats)) return seats;
    let tok: ModelToken;
    if (create) {
      if (this.tokens.has(token)) return refuse('CONFLICT');
      tok = { h: holder, s: [], c: now, e: 0 };
    } else {
      const t = this.liveToken(token, holder, now);
      if ('ok' in t) return t;
      tok = t;
    }
    const overdue = new Set(this.dueTokens(now, 100));
    const taken: number[] = [];
    const fresh: number[] = [];
    for (const s of seats) {
      const state = this.status[s];
      if (state === FREE) fresh.push(s);
      else if (state === HELD) {
        const owner = this.seatHolds.get(s)!;
        if (owner === token && !create) continue;
        if (overdue.has(owner)) fresh.push(s);
        else taken.push(s);
      } else taken.push(s);
    }
    if (taken.length > 0) return refuse('UNAVAILABLE', taken);
    if (tok.s.length + fresh.length > this.rules.maxSeatsPerToken) return refuse('HOLD_LIMIT');
    let holderSeats = this.holders.get(holder) ?? 0;
    for (const o of overdue) {
      const t = this.tokens.get(o)!;
      if (t.h === holder) holderSeats -= t.s.length;
    }
    if (holderSeats + fresh.length > this.rules.maxSeatsPerHolder) return refuse('HOLD_LIMIT');
    const selectionRefusal = this.selection?.(fresh, [], [...tok.s, ...fresh]);
    if (selectionRefusal) return selectionRefusal;

    const changes = new Map<number, number>();
    for (const o of overdue) this.freeToken(o, changes);
    for (const s of fresh) {
      this.status[s] = HELD;
      this.seatHolds.set(s, token);
      tok.s.push(s);
      changes.set(s, HELD);
    }
    tok.e = this.expiryFor(tok, now);
    this.tokens.set(token, tok);
    if (this.sweepIndex === null || tok.e < this.sweepIndex) this.sweepIndex = tok.e;
    this.setHolder(holder, fresh.length);
    const seq = changes.size > 0 ? this.append(changes) : this.seq;
    return { ok: true, token, expiresAt: tok.e, seq };
  }

  release(now: number, holder: string, token: string, seatsIn: readonly number[] | undefined): ModelResult {
    const parsed = this.parseSeats(seatsIn ?? [], true);
    if (!Array.isArray(parsed)) return parsed;
    const t = this.tokens.get(token);
    if (!t || t.e <= now) return refuse('EXPIRED');
    if (t.h !== holder) return refuse('NOT_HOLDER');
    const seats = parsed.length === 0 ? [...t.s] : parsed;
    const notHeld = seats.filter((s) => this.seatHolds.get(s) !== token);
    if (notHeld.length > 0) return refuse('NOT_HOLDER', notHeld);
    if (seats.length === 0) return { ok: true, seq: this.seq, released: 0 };
    if (seats.length < t.s.length) {
      const selectionRefusal = this.selection?.([], seats, t.s.filter((s) => !seats.includes(s)));
      if (selectionRefusal) return selectionRefusal;
    }
    const changes = new Map<number, number>();
    for (const s of seats) {
      this.seatHolds.delete(s);
      this.status[s] = FREE;
      changes.set(s, FREE);
    }
    t.s = t.s.filter((s) => !seats.includes(s));
    this.setHolder(holder, -seats.length);
    return { ok: true, seq: this.append(changes), released: seats.length };
  }

  extend(now: number, holder: string, token: string): ModelResult {
    const t = this.liveToken(token, holder, now);
    if ('ok' in t) return t;
    t.e = Math.max(t.e, this.expiryFor(t, now));
    return { ok: true, expiresAt: t.e, seq: this.seq };
  }

  /** Sets the expiry to now + ms within the lifetime cap; 0 releases every seat and deletes the token. */
  extendMs(now: number, holder: string, token: string, ms: number): ModelResult {
    const t = this.liveToken(token, holder, now);
    if ('ok' in t) return t;
    if (ms > 0) {
      t.e = Math.min(now + ms, t.c + this.rules.maxHoldLifetimeMs);
      // the store lowers the sweep index to the new expiry (sweepTouch)
      if (this.sweepIndex === null || t.e < this.sweepIndex) this.sweepIndex = t.e;
      return { ok: true, expiresAt: t.e, seq: this.seq };
    }
    const changes = new Map<number, number>();
    const released = t.s.length;
    this.freeToken(token, changes);
    return { ok: true, expiresAt: now, seq: changes.size > 0 ? this.append(changes) : this.seq, released };
  }

  /** Releases and holds seats of one token in one step; limits on the result. */
  swap(now: number, holder: string, token: string, releaseIn: readonly number[], holdIn: readonly number[]): ModelResult {
    const release = this.parseSeats(releaseIn, true);
    if (!Array.isArray(release)) return release;
    const hold = this.parseSeats(holdIn, true);
    if (!Array.isArray(hold)) return hold;
    if (release.length + hold.length === 0 || hold.some((s) => release.includes(s))) return refuse('BAD_REQUEST');
    const t = this.tokens.get(token);
    if (!t || t.e <= now) return refuse('EXPIRED');
    if (t.h !== holder) return refuse('NOT_HOLDER');
    const notHeld = release.filter((s) => this.seatHolds.get(s) !== token);
    if (notHeld.length > 0) return refuse('NOT_HOLDER', notHeld);
    const fresh = hold.filter((s) => this.status[s] === FREE);
    const taken = hold.filter((s) => this.status[s] !== FREE && this.seatHolds.get(s) !== token);
    if (taken.length > 0) return refuse('UNAVAILABLE', taken);
    const final = [...t.s.filter((s) => !release.includes(s)), ...fresh];
    if (final.length > this.rules.maxSeatsPerToken) return refuse('HOLD_LIMIT');
    if ((this.holders.get(holder) ?? 0) - release.length + fresh.length > this.rules.maxSeatsPerHolder) return refuse('HOLD_LIMIT');
    const selectionRefusal = this.selection?.(fresh, release, final);
    if (selectionRefusal) return selectionRefusal;
    const changes = new Map<number, number>();
    for (const s of release) {
      this.seatHolds.delete(s);
      this.status[s] = FREE;
      changes.set(s, FREE);
    }
    for (const s of fresh) {
      this.status[s] = HELD;
      this.seatHolds.set(s, token);
      changes.set(s, HELD);
    }
    t.s = final;
    t.e = Math.max(t.e, this.expiryFor(t, now));
    this.setHolder(holder, fresh.length - release.length);
    return { ok: true, expiresAt: t.e, seq: changes.size > 0 ? this.append(changes) : this.seq };
  }

  book(now: number, holder: string, token: string, key: string): ModelResult {
    const earlier = this.bookings.get(key);
    if (earlier) {
      return earlier.tok === token && earlier.h === holder
        ? { ok: true, seq: earlier.seq, seats: earlier.s, replayed: true }
        : refuse('CONFLICT');
    }
    const t = this.liveToken(token, holder, now);
    if ('ok' in t) return t;
    if (t.s.length === 0) return refuse('BAD_REQUEST');
    const changes = new Map<number, number>();
    for (const s of t.s) {
      this.seatHolds.delete(s);
      this.status[s] = BOOKED;
      changes.set(s, BOOKED);
    }
    this.tokens.delete(token);
    this.setHolder(holder, -t.s.length);
    const seq = this.append(changes);
    this.bookings.set(key, { tok: token, h: holder, s: t.s, seq });
    return { ok: true, seq, seats: t.s, replayed: false };
  }

  /** The box office: free seats booked directly, without a hold (bookFree-5.lua; docs/store.md). */
  bookFree(holder: string, seatsIn: readonly number[], key: string): ModelResult {
    const seats = this.parseSeats(seatsIn, false);
    if (!Array.isArray(seats)) return seats;
    const earlier = this.bookings.get(key);
    if (earlier) {
      const same = (a: readonly number[], b: readonly number[]) => a.length === b.length && [...a].sort((x, y) => x - y).every((v, i) => v === [...b].sort((x, y) => x - y)[i]);
      return earlier.tok === '' && earlier.h === holder && same(earlier.s, seats)
        ? { ok: true, seq: earlier.seq, seats: earlier.s, replayed: true }
        : refuse('CONFLICT');
    }
    // a seat still held by an overdue token is not free: the sweeper frees it first
    const notFree = seats.filter((s) => this.status[s] !== FREE);
    if (notFree.length > 0) return refuse('UNAVAILABLE', notFree);
    const changes = new Map<number, number>();
    for (const s of seats) {
      this.status[s] = BOOKED;
      changes.set(s, BOOKED);
    }
    const seq = this.append(changes);
    this.bookings.set(key, { tok: '', h: holder, s: seats, seq });
    return { ok: true, seq, seats, replayed: false };
  }

  /** Bulk block/unblock: the seats are a set; those in `from` move to `to`, the others are reported and stay (blockBulk-3.lua). */
  setStatesBulk(from: number, to: number, seatsIn: readonly number[]): ModelResult {
    if (seatsIn.length === 0) return refuse('BAD_REQUEST');
    const seats = [...new Set(seatsIn)].sort((a, b) => a - b);
    const bad = seats.filter((s) => s < 0 || s >= this.seatCount);
    if (bad.length > 0) return refuse('BAD_SEAT', bad);
    const changed = seats.filter((s) => this.status[s] === from);
    const result = {
      ok: true as const,
      changed,
      unchanged: seats.filter((s) => this.status[s] === to),
      held: seats.filter((s) => this.status[s] === HELD),
      booked: seats.filter((s) => this.status[s] === BOOKED),
    };
    if (changed.length === 0) return { ...result, seq: this.seq };
    const changes = new Map<number, number>();
    for (const s of changed) {
      this.status[s] = to;
      changes.set(s, to);
    }
    return { ...result, seq: this.append(changes) };
  }

  setStates(from: number, to: number, refusal: ErrorCode, seatsIn: readonly number[]): ModelResult {
    const seats = this.parseSeats(seatsIn, false);
    if (!Array.isArray(seats)) return seats;
    const wrong = seats.filter((s) => this.status[s] !== from);
    if (wrong.length > 0) return refuse(refusal, wrong);
    const changes = new Map<number, number>();
    for (const s of seats) {
      this.status[s] = to;
      changes.set(s, to);
    }
    return { ok: true, seq: this.append(changes) };
  }

  expire(now: number, limit: number): { ok: true; tokensExpired: number; seatsFreed: number; nextExpiry: number | null; seq: number } {
    const due = this.dueTokens(now, limit);
    const changes = new Map<number, number>();
    let freed = 0;
    for (const tok of due) {
      const before = changes.size;
      this.freeToken(tok, changes);
      freed += changes.size - before;
    }
    const seq = changes.size > 0 ? this.append(changes) : this.seq;
    const remaining = [...this.tokens.values()].map((t) => t.e);
    return { ok: true, tokensExpired: due.length, seatsFreed: freed, nextExpiry: remaining.length ? Math.min(...remaining) : null, seq };
  }

  /** One sweeper round: the event is swept when its index entry is due, and re-indexed at its next expiry. */
  sweep(now: number, tokensPerEvent: number): { events: number; tokensExpired: number; seatsFreed: number } {
    if (this.sweepIndex === null || this.sweepIndex > now) return { events: 0, tokensExpired: 0, seatsFreed: 0 };
    const r = this.expire(now, tokensPerEvent);
    this.sweepIndex = r.nextExpiry;
    return { events: 1, tokensExpired: r.tokensExpired, seatsFreed: r.seatsFreed };
  }
}
