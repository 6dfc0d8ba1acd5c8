/**
 * The client's own hold tokens: which seats (and general-admission places) each holds and until when. The
 * protocol never says who holds a seat, so this is the only place a UI can
 * learn which held seats are "mine".
 *
 * Entries end when the client releases or books them, when their expiry
 * passes on the local clock, or when the seat stream shows the seat left the
 * held state after the hold was made (expired on the server, e.g. with a
 * skewed clock, or released by another tab of the same holder).
 */

export interface HoldInfo {
  ev: string;
  tok: string;
  /** the seats this token holds, ascending */
  seats: number[];
  /** the general-admission places it holds, `[area, qty]` ascending by area (as this client held and released them); absent for none */
  ga?: [number, number][];
  /** ms since the Unix epoch, server clock */
  expiresAt: number;
}

interface HoldEntry {
  ev: string;
  tok: string;
  /** seat → the event seq at which the hold covered it (the `ok`'s seq) */
  seats: Map<number, number>;
  /** area → places held */
  places: Map<number, number>;
  /** the event's epoch when the seats were held (-1 when the client did not watch it) */
  epoch: number;
  expiresAt: number;
}

export interface HoldTrackerHooks {
  /** the set of holds changed */
  changed(): void;
  /** a token passed its expiry with seats still in it */
  expired(hold: HoldInfo): void;
  now?: () => number;
}

const HELD = 1;
const MAX_TIMER_MS = 2 ** 31 - 1;

export class HoldTracker {
  private readonly entries = new Map<string, HoldEntry>();
  private timer: ReturnType<typeof setTimeout> | null = null;
  private readonly now: () => number;

  constructor(private readonly hooks: HoldTrackerHooks) {
    this.now = hooks.now ?? Date.now;
  }

  /** After a hold's `ok`: the seats and places join the token (new or existing), expiry as given. */
  held(ev: string, tok: string, seats: readonly number[], expiresAt: number, seq: number, epoch: number, places: readonly (readonly [number, number])[] = []): void {
    let entry = this.entries.get(tok);
    if (!entry) this.entries.set(tok, (entry = { ev, tok, seats: new Map(), places: new Map(), epoch, expiresAt }));
    for (const seat of seats) entry.seats.set(seat, seq);
    for (const [area, qty] of places) entry.places.set(area, (entry.places.get(area) ?? 0) + qty);
    entry.expiresAt = expiresAt;
    entry.epoch = epoch;
    this.update();
  }

  /**
   * After a release's `ok`: the listed seats and places leave the token; with
   * neither, all of them do (the token itself stays valid).
   */
  released(tok: string, seats?: readonly number[], places?: readonly (readonly [number, number])[]): void {
    const entry = this.entries.get(tok);
    if (!entry) return;
    if (seats) for (const seat of seats) entry.seats.delete(seat);
    for (const [area, qty] of places ?? []) {
      const left = (entry.places.get(area) ?? 0) - qty;
      if (left > 0) entry.places.set(area, left);
      else entry.places.delete(area);
    }
    if (!seats && !places) {
      entry.seats.clear();
      entry.places.clear();
    }
    this.update();
  }

  extended(tok: string, expiresAt: number): void {
    const entry = this.entries.get(tok);
    if (!entry) return;
    entry.expiresAt = expiresAt;
    this.update();
  }

  /**
   * The server's word on a token (a `tok` push, from this connection or
   * another of the holder's): exactly these seats, until `expiresAt`. Seats
   * this tracker did not know leave only by another push or the expiry.
   */
  pushed(ev: string, tok: string, seats: readonly number[], expiresAt: number): void {
    let entry = this.entries.get(tok);
    if (!entry) this.entries.set(tok, (entry = { ev, tok, seats: new Map(), places: new Map(), epoch: -1, expiresAt }));
    const known = entry.seats;
    entry.seats = new Map(seats.map((seat) => [seat, known.get(seat) ?? Number.POSITIVE_INFINITY]));
    entry.expiresAt = expiresAt;
    this.update();
  }

  /** Booked, or refused as unknown/expired by the server: the token is used up. */
  forget(tok: string): void {
    if (this.entries.delete(tok)) this.update();
  }

  /**
   * A seat's state as seen in the event's stream at `seq`. A seat of ours that
   * is no longer held at a seq after our hold was made has left our hold.
   * Only meaningful within the epoch the hold was made in; a new epoch (the
   * event was rebuilt) ends every hold of the event.
   */
  observe(ev: string, epoch: number, seq: number, seat: number, state: number): void {
    if (state === HELD) return;
    let changed = false;
    for (const entry of this.entries.values()) {
      if (entry.ev !== ev || entry.epoch !== epoch) continue;
      const since = entry.seats.get(seat);
      if (since !== undefined && seq >= since) {
        entry.seats.delete(seat);
        changed = true;
      }
    }
    if (changed) this.update();
  }

  /** A snapshot of another epoch replaced the event's seats: holds made in an earlier epoch are gone. */
  epochChanged(ev: string, epoch: number): void {
    let changed = false;
    for (const [tok, entry] of this.entries) {
      if (entry.ev === ev && entry.epoch !== -1 && entry.epoch !== epoch) {
        this.entries.delete(tok);
        changed = true;
      }
    }
    if (changed) this.update();
  }

  list(ev?: string): HoldInfo[] {
    return [...this.entries.values()].filter((e) => ev === undefined || e.ev === ev).map(info);
  }

  /** Places of `ev` held by our tokens, per area. */
  myPlaces(ev: string): Map<number, number> {
    const places = new Map<number, number>();
    for (const entry of this.entries.values()) if (entry.ev === ev) for (const [area, qty] of entry.places) places.set(area, (places.get(area) ?? 0) + qty);
    return places;
  }

  /** Seats of `ev` held by any of our tokens. */
  mySeats(ev: string): Set<number> {
    const seats = new Set<number>();
    for (const entry of this.entries.values()) if (entry.ev === ev) for (const seat of entry.seats.keys()) seats.add(seat);
    return seats;
  }

  /** The token of `ev` to add seats to: the one expiring last that has not expired. */
  tokenFor(ev: string): string | undefined {
    let best: HoldEntry | undefined;
    for (const entry of this.entries.values()) {
      if (entry.ev === ev && entry.expiresAt > this.now() && (!best || entry.expiresAt > best.expiresAt)) best = entry;
    }
    return best?.tok;
  }

  dispose(): void {
    if (this.timer) clearTimeout(this.timer);
    this.timer = null;
  }

  /** Drops expired tokens, re-arms the expiry timer for the next one, and reports the change. */
  private update(): void {
    this.dropExpired();
    this.hooks.changed();
  }

  private dropExpired(): void {
    if (this.timer) clearTimeout(this.timer);
    this.timer = null;
    const now = this.now();
    let next = Infinity;
    for (const [tok, entry] of this.entries) {
      if (entry.expiresAt <= now) {
        this.entries.delete(tok);
        if (entry.seats.size > 0 || entry.places.size > 0) this.hooks.expired(info(entry));
      } else {
        next = Math.min(next, entry.expiresAt);
      }
    }
    if (next !== Infinity) {
      this.timer = setTimeout(() => this.update(), Math.min(next - now, MAX_TIMER_MS));
      // a pending expiry must not keep a Node process alive
      (this.timer as { unref?: () => void }).unref?.();
    }
  }
}

function info(entry: HoldEntry): HoldInfo {
  const seats = [...entry.seats.keys()].sort((a, b) => a - b);
  if (entry.places.size === 0) return { ev: entry.ev, tok: entry.tok, seats, expiresAt: entry.expiresAt };
  return { ev: entry.ev, tok: entry.tok, seats, ga: [...entry.places].sort((a, b) => a[0] - b[0]), expiresAt: entry.expiresAt };
}
