/**
 * EventWatches: the events a SeatMapClient watches and its local copy of
 * each one's seats. It owns the `sub` requests (resuming with epoch+seq
 * when the copy has them), applies snapshots and diffs, repairs a gap or an
 * epoch change by subscribing again, retries a refused `sub` with backoff,
 * and forgets an event the server deleted. The connection itself (dialing,
 * hello, reconnects) stays in client.ts, which tells this module when the
 * connection opens and ends.
 */
import type { ChanMessage, DiffMessage, SnapMessage } from '../protocol/index.js';
import { backoffDelay, type BackoffPolicy } from './backoff.js';
import { EventSeats, type AreaCounts, type SeatCategories, type SeatCounts } from './event-seats.js';
import type { HoldTracker } from './holds.js';
import type { RequestError, Reply } from './requests.js';
import type { ClientEvents, ClientStats, RequestBody, ResyncReason } from './types.js';

/** a refused sub is retried with this backoff; a BAD_REQUEST (e.g. too many subscriptions) only this often */
const SUB_RETRY: BackoffPolicy = { baseMs: 500, capMs: 10_000 };
const MAX_BAD_REQUEST_SUB_RETRIES = 3;

/** What the watches need from the client around them. */
export interface WatchContext {
  request(body: RequestBody): Promise<Reply>;
  /** true while the connection has said hello */
  isOpen(): boolean;
  emit<K extends keyof ClientEvents>(name: K, payload: ClientEvents[K]): void;
  holds: HoldTracker;
  stats: ClientStats;
  random: () => number;
}

export class EventWatches {
  private readonly events = new Map<string, EventSeats>();
  private readonly subRetries = new Map<string, { count: number; timer: ReturnType<typeof setTimeout> | null }>();

  constructor(private readonly ctx: WatchContext) {}

  /** Starts (or goes on) keeping a copy of the event; `categories` makes counts per category available. */
  watch(ev: string, categories?: SeatCategories): void {
    let seats = this.events.get(ev);
    if (!seats) this.events.set(ev, (seats = new EventSeats(ev)));
    if (categories) seats.setCategories(categories);
    this.subscribe(ev);
  }

  /** Drops the event's copy; false when it was not watched. */
  unwatch(ev: string): boolean {
    if (!this.events.delete(ev)) return false;
    this.cancelSubRetry(ev);
    return true;
  }

  seats(ev: string): Uint8Array | null {
    const seats = this.events.get(ev);
    return seats?.view.ready ? seats.view.status : null;
  }

  position(ev: string): { epoch: number; seq: number } | null {
    const view = this.events.get(ev)?.view;
    return view?.ready ? { epoch: view.epoch, seq: view.seq } : null;
  }

  counts(ev: string): SeatCounts | null {
    const seats = this.events.get(ev);
    return seats?.view.ready ? seats.seatCounts() : null;
  }

  areas(ev: string): AreaCounts[] | null {
    const seats = this.events.get(ev);
    return seats?.view.ready ? seats.areas() : null;
  }

  /** The epoch of the local copy, -1 before its first snapshot. */
  epochOf(ev: string): number {
    return this.events.get(ev)?.view.epoch ?? -1;
  }

  /** A connection said hello: every watched event is subscribed (resumed) on it. */
  connectionOpened(): void {
    for (const ev of this.events.keys()) this.subscribe(ev);
  }

  /** The connection ended: the subs in flight on it are gone with it. */
  connectionEnded(): void {
    for (const seats of this.events.values()) seats.subscribing = false;
  }

  /** The client stopped: no more retries (the copies are kept for a later connect). */
  stop(): void {
    for (const retry of this.subRetries.values()) if (retry.timer) clearTimeout(retry.timer);
    this.subRetries.clear();
  }

  onSnap(snap: SnapMessage): void {
    const seats = this.events.get(snap.ev);
    if (!seats) return; // not watched (any more)
    const { holds, stats } = this.ctx;
    stats.snapshots++;
    if (seats.view.ready && seats.view.epoch !== snap.epoch) holds.epochChanged(snap.ev, snap.epoch);
    seats.applySnap(snap);
    const status = seats.view.status;
    for (const seat of holds.mySeats(snap.ev)) holds.observe(snap.ev, snap.epoch, snap.seq, seat, status[seat] ?? 0);
    this.ctx.emit('snapshot', { ev: snap.ev, epoch: snap.epoch, seq: snap.seq, status });
    this.ctx.emit('counts', { ev: snap.ev, counts: seats.seatCounts() });
    const areas = seats.areas();
    if (areas.length > 0) this.ctx.emit('areas', { ev: snap.ev, seq: snap.seq, areas, changed: areas });
  }

  onDiff(diff: DiffMessage): void {
    const seats = this.events.get(diff.ev);
    if (!seats) return;
    const { holds, stats } = this.ctx;
    stats.diffs++;
    const { outcome, changes, areas } = seats.applyDiff(diff);
    switch (outcome) {
      case 'applied': {
        // a diff of places only has an empty ch
        if (areas.length > 0) this.ctx.emit('areas', { ev: diff.ev, seq: diff.to, areas: seats.areas(), changed: areas });
        if (changes.length === 0) return;
        const mine = holds.mySeats(diff.ev);
        if (mine.size > 0) for (const c of changes) if (mine.has(c.seat)) holds.observe(diff.ev, diff.epoch, diff.to, c.seat, c.state);
        this.ctx.emit('seats', { ev: diff.ev, epoch: diff.epoch, seq: diff.to, changes });
        this.ctx.emit('counts', { ev: diff.ev, counts: seats.seatCounts() });
        return;
      }
      case 'gap':
        stats.gaps++;
        return this.resync(seats, 'gap');
      case 'epoch':
        stats.epochMismatches++;
        return this.resync(seats, 'epoch');
      case 'empty':
        return this.subscribe(diff.ev); // a snapshot is on its way unless no sub is
      case 'duplicate':
        return;
    }
  }

  /** The sales-channel overlay: reserved seats of the client's channels read as free from now on. */
  onChan(chan: ChanMessage): void {
    const seats = this.events.get(chan.ev);
    if (!seats) return;
    const changes = seats.applyChannels(chan);
    this.ctx.emit('channels', { ev: chan.ev, keys: chan.keys });
    if (!seats.view.ready || changes.length === 0) return;
    this.ctx.emit('seats', { ev: chan.ev, epoch: seats.view.epoch, seq: seats.view.seq, changes });
    this.ctx.emit('counts', { ev: chan.ev, counts: seats.seatCounts() });
  }

  /** The event was deleted (or may not be watched): its copy and its holds are forgotten. */
  eventGone(ev: string): void {
    this.cancelSubRetry(ev);
    if (!this.events.delete(ev)) return;
    for (const hold of this.ctx.holds.list(ev)) this.ctx.holds.forget(hold.tok);
    this.ctx.emit('event-gone', { ev });
  }

  /** Sends a `sub` for a watched event unless one is in flight; resumes with epoch+seq when the copy has them. */
  private subscribe(ev: string, fresh = false): void {
    const seats = this.events.get(ev);
    if (!seats || seats.subscribing || !this.ctx.isOpen()) return;
    seats.subscribing = true;
    const view = seats.view;
    const body: Extract<RequestBody, { t: 'sub' }> = view.ready && !fresh ? { t: 'sub', ev, epoch: view.epoch, seq: view.seq } : { t: 'sub', ev };
    this.ctx.request(body).then(
      () => {
        seats.subscribing = false;
        this.subRetries.delete(ev);
      },
      (err: RequestError) => {
        seats.subscribing = false;
        this.subRefused(ev, err);
      },
    );
  }

  private resync(seats: EventSeats, reason: ResyncReason): void {
    if (seats.subscribing) return; // one repair at a time; its catch-up covers this diff too
    this.ctx.emit('resync', { ev: seats.ev, reason, epoch: seats.view.epoch, seq: seats.view.seq });
    this.subscribe(seats.ev, reason === 'epoch');
  }

  private subRefused(ev: string, err: RequestError): void {
    if (!this.events.has(ev)) return;
    // a lost connection resubscribes on the next hello anyway
    if (err.code === 'DISCONNECTED' || err.code === 'CLOSED') return;
    this.ctx.emit('error', { ev, error: err });
    if (err.code === 'NO_EVENT' || err.code === 'FORBIDDEN') return this.eventGone(ev);
    const retry = this.subRetries.get(ev) ?? { count: 0, timer: null };
    this.subRetries.set(ev, retry);
    if (err.code === 'BAD_REQUEST' && retry.count >= MAX_BAD_REQUEST_SUB_RETRIES) return this.eventGone(ev);
    const delay = backoffDelay(retry.count++, SUB_RETRY, this.ctx.random);
    retry.timer = setTimeout(() => {
      retry.timer = null;
      const seats = this.events.get(ev);
      if (!seats) return;
      this.ctx.emit('resync', { ev, reason: 'retry', epoch: seats.view.epoch, seq: seats.view.seq });
      this.subscribe(ev);
    }, delay);
  }

  private cancelSubRetry(ev: string): void {
    const retry = this.subRetries.get(ev);
    if (retry?.timer) clearTimeout(retry.timer);
    this.subRetries.delete(ev);
  }
}
