/**
 * An in-memory RoomSource and change feed for testing the hub without Redis:
 * events are status arrays with an epoch, a seq and a log; `apply` changes an
 * event the way a store script does (one log entry), and the feed delivers
 * entries only when the test says so, so gaps and stalls can be staged.
 */
import type { ChangeEntry, Snapshot } from '../../core/store/index.js';
import type { FeedTarget } from '../../gateway/change-feed.js';
import type { RoomFeed } from '../../gateway/hub.js';
import type { EventPosition, RoomSource } from '../../gateway/room-source.js';

interface MemoryEvent {
  epoch: number;
  seq: number;
  status: Uint8Array;
  log: ChangeEntry[];
}

export class MemoryRoomSource implements RoomSource {
  readonly events = new Map<string, MemoryEvent>();
  /** calls made, by kind, to check what the hub reads */
  readonly calls = { snapshot: 0, history: 0, positions: 0 };

  create(eventId: string, seats: number, epoch = 1): void {
    this.events.set(eventId, { epoch, seq: 0, status: new Uint8Array(seats), log: [] });
  }

  delete(eventId: string): void {
    this.events.delete(eventId);
  }

  /** One operation: sets seats (pairs [seat, state, ...]) and appends one log entry. */
  apply(eventId: string, changes: number[]): ChangeEntry {
    const e = this.events.get(eventId)!;
    for (let i = 0; i + 1 < changes.length; i += 2) e.status[changes[i]!] = changes[i + 1]!;
    e.seq++;
    const entry: ChangeEntry = { seq: e.seq, op: 'hold', changes, at: 0, epoch: e.epoch };
    e.log.push(entry);
    return entry;
  }

  async snapshot(eventId: string): Promise<Snapshot | null> {
    this.calls.snapshot++;
    const e = this.events.get(eventId);
    return e ? { epoch: e.epoch, seq: e.seq, status: Buffer.from(e.status) } : null;
  }

  async history(eventId: string, seq: number, count: number): Promise<ChangeEntry[]> {
    this.calls.history++;
    const e = this.events.get(eventId);
    return e ? e.log.filter((x) => x.seq <= seq).slice(-count) : [];
  }

  async positions(eventIds: readonly string[]): Promise<(EventPosition | null)[]> {
    this.calls.positions++;
    return eventIds.map((id) => {
      const e = this.events.get(id);
      return e ? { epoch: e.epoch, seq: e.seq } : null;
    });
  }

  logKey(eventId: string): string {
    return `log:${eventId}`;
  }
}

export class ManualFeed implements RoomFeed {
  readonly targets = new Map<string, FeedTarget>();
  refreshes = 0;
  constructor(private readonly onEntries: (eventId: string, entries: ChangeEntry[]) => void) {}
  watch(target: FeedTarget): void {
    this.targets.set(target.eventId, target);
  }
  unwatch(eventId: string): void {
    this.targets.delete(eventId);
  }
  refresh(): void {
    this.refreshes++;
  }
  start(): void {}
  async stop(): Promise<void> {}
  /** Delivers entries of an event's log after its room's position (what one read would return). */
  deliver(source: MemoryRoomSource, eventId: string, only?: (entry: ChangeEntry) => boolean): void {
    const target = this.targets.get(eventId);
    if (!target || target.paused()) return;
    const entries = source.events.get(eventId)!.log.filter((e) => e.seq > target.afterSeq() && (only?.(e) ?? true));
    if (entries.length > 0) this.onEntries(eventId, entries);
  }
}
