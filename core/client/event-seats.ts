/**
 * One watched event on the client: its seats (a SeatView kept from snapshots
 * and diffs), counts per state in total and per category kept up to date
 * change by change, the counters of its general-admission areas (the `ga`
 * of snapshots and diffs), whether a subscription is in flight, and the seats of
 * this client's sales channels (the `chan` overlay: reserved reads as free on them).
 */
import { SeatView, type ChanMessage, type DiffMessage, type DiffOutcome, type SnapMessage } from '../protocol/index.js';

export interface StateCounts {
  free: number;
  held: number;
  booked: number;
  blocked: number;
  /** reserved for a sales channel this client is no member of */
  reserved: number;
}

export interface SeatCounts {
  total: StateCounts;
  /** per category, in the order of the layout's categories; empty when categories were not given */
  byCategory: StateCounts[];
}

/** A general-admission area's counters (docs/protocol.md#general-admission-areas): places free, held and booked. */
export interface AreaCounts {
  /** the area index (the order of the layout's `areas`) */
  area: number;
  /** places still on sale: capacity − held − booked − blocked */
  free: number;
  held: number;
  booked: number;
}

/** One seat that changed: `state` now, `previous` before. */
export interface SeatChange {
  seat: number;
  state: number;
  previous: number;
}

/** Seat categories of an event: `seatCategory[i]` is seat i's index into the layout's categories. */
export interface SeatCategories {
  seatCategory: ArrayLike<number>;
  categoryCount: number;
}

const STATES = 5;
/** a sales channel's seat (docs/protocol.md#sales-channels): free for its members only */
const RESERVED = 4;

export class EventSeats {
  readonly view = new SeatView();
  /** a `sub` for this event is in flight: at most one at a time (gap diffs are ignored meanwhile) */
  subscribing = false;
  /** counts[0..4]: totals per state; counts[5 + 5c + s]: category c, state s */
  private counts = new Int32Array(STATES);
  private categories: SeatCategories | null = null;
  /** area index → counters, from the last snapshot and the diffs after it */
  private areaCounters = new Map<number, AreaCounts>();
  /** the seats of this client's sales channels (the last `chan` overlay) */
  private channelSeats = new Set<number>();

  constructor(readonly ev: string) {}

  setCategories(categories: SeatCategories | null): void {
    this.categories = categories;
    this.recount();
  }

  applySnap(snap: Pick<SnapMessage, 'epoch' | 'seq' | 'st' | 'ga'>): void {
    this.view.applySnap(snap);
    this.openChannelSeats();
    this.recount();
    // a snapshot lists every area: the counters are replaced wholesale
    this.areaCounters = new Map();
    this.applyAreas(snap.ga);
  }

  /**
   * The sales-channel overlay (a `chan` message): this client's channels'
   * seats, as flat runs. On them reserved (4) reads as free (0), now and in
   * every snapshot and diff after, until the next overlay replaces it. Returns
   * the seats that now read as free.
   */
  applyChannels(chan: Pick<ChanMessage, 'seats'>): SeatChange[] {
    const seats = new Set<number>();
    for (let i = 0; i + 1 < chan.seats.length; i += 2) for (let s = chan.seats[i]!; s <= chan.seats[i + 1]!; s++) seats.add(s);
    this.channelSeats = seats;
    const opened = this.openChannelSeats();
    if (opened.length > 0) this.recount();
    return opened;
  }

  /** Whether `seat` is one of this client's channels' (the last overlay). */
  isChannelSeat(seat: number): boolean {
    return this.channelSeats.has(seat);
  }

  /** Reserved seats of the overlay read as free in the view. */
  private openChannelSeats(): SeatChange[] {
    const status = this.view.status;
    const opened: SeatChange[] = [];
    for (const seat of this.channelSeats) {
      if (status[seat] === RESERVED) {
        status[seat] = 0;
        opened.push({ seat, state: 0, previous: RESERVED });
      }
    }
    return opened;
  }

  /**
   * Applies a diff by the protocol's rules; `changes` lists the seats whose
   * state really changed, `areas` the areas whose counters did (only for an
   * applied diff: the counters of a gap or another epoch are not ours to take).
   */
  applyDiff(diff: Pick<DiffMessage, 'epoch' | 'from' | 'to' | 'ch' | 'ga'>): { outcome: DiffOutcome; changes: SeatChange[]; areas: AreaCounts[] } {
    const changes: SeatChange[] = [];
    const counts = this.counts;
    const category = this.activeCategories()?.seatCategory;
    const channelSeats = this.channelSeats;
    const status = this.view.status;
    const outcome = this.view.applyDiff(diff, (seat, state, previous) => {
      if (state === RESERVED && channelSeats.has(seat)) {
        // reserved for a channel of this client's: free for it
        status[seat] = state = 0;
        if (previous === 0) return;
      }
      changes.push({ seat, state, previous });
      if (previous < STATES) counts[previous]!--;
      if (state < STATES) counts[state]!++;
      if (category) {
        const base = STATES + (category[seat] as number) * STATES;
        if (previous < STATES) counts[base + previous]!--;
        if (state < STATES) counts[base + state]!++;
      }
    });
    const areas = outcome === 'applied' ? this.applyAreas(diff.ga) : [];
    return { outcome, changes, areas };
  }

  /** Every area's counters, ascending by area; empty for an event without areas. */
  areas(): AreaCounts[] {
    return [...this.areaCounters.values()].sort((a, b) => a.area - b.area).map((a) => ({ ...a }));
  }

  /** Takes `[area, free, held, booked, …]`; returns the areas whose counters changed. */
  private applyAreas(ga: readonly number[] | undefined): AreaCounts[] {
    const changed: AreaCounts[] = [];
    if (!ga) return changed;
    for (let i = 0; i + 3 < ga.length; i += 4) {
      const next: AreaCounts = { area: ga[i]!, free: ga[i + 1]!, held: ga[i + 2]!, booked: ga[i + 3]! };
      const before = this.areaCounters.get(next.area);
      if (before && before.free === next.free && before.held === next.held && before.booked === next.booked) continue;
      this.areaCounters.set(next.area, next);
      changed.push({ ...next });
    }
    return changed;
  }

  seatCounts(): SeatCounts {
    const c = this.counts;
    const at = (i: number): StateCounts => ({ free: c[i]!, held: c[i + 1]!, booked: c[i + 2]!, blocked: c[i + 3]!, reserved: c[i + 4]! });
    const categoryCount = this.activeCategories()?.categoryCount ?? 0;
    return { total: at(0), byCategory: Array.from({ length: categoryCount }, (_, k) => at(STATES + k * STATES)) };
  }

  /** Categories only count when they describe exactly these seats (a rebuilt event may have another layout). */
  private activeCategories(): SeatCategories | null {
    const c = this.categories;
    return c && c.seatCategory.length === this.view.status.length ? c : null;
  }

  private recount(): void {
    const categories = this.activeCategories();
    const counts = new Int32Array(STATES + (categories?.categoryCount ?? 0) * STATES);
    const status = this.view.status;
    const category = categories?.seatCategory;
    for (let i = 0; i < status.length; i++) {
      const s = status[i]!;
      if (s >= STATES) continue;
      counts[s]!++;
      if (category) counts[STATES + (category[i] as number) * STATES + s]!++;
    }
    this.counts = counts;
  }
}
