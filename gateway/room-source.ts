/**
 * What the hub reads of an event, and nothing more (centrifuge's `nodeSubset`
 * idea): a snapshot, the log entries up to a seq, and the events' positions.
 * `StoreRoomSource` reads them from the seat store's Redis; tests use an
 * in-memory source (test/support/memory-room-source.ts).
 */
import { decodeChangeEntry, type ChangeEntry, type SeatStore, type Snapshot } from '../core/store/index.js';

/** An event's epoch and seq in the store. */
export interface EventPosition {
  epoch: number;
  seq: number;
}

export interface RoomSource {
  /** the status with the epoch and seq it belongs to, read atomically; null for an unknown event */
  snapshot(eventId: string): Promise<Snapshot | null>;
  /** the newest log entries up to `seq` (at most `count`), oldest first */
  history(eventId: string, seq: number, count: number): Promise<ChangeEntry[]>;
  /** each event's position, null for an event that does not exist */
  positions(eventIds: readonly string[]): Promise<(EventPosition | null)[]>;
  /** the key of the event's change log, which the change feed reads */
  logKey(eventId: string): string;
}

export class StoreRoomSource implements RoomSource {
  constructor(private readonly store: SeatStore) {}

  snapshot(eventId: string): Promise<Snapshot | null> {
    return this.store.snapshot(eventId);
  }

  async history(eventId: string, seq: number, count: number): Promise<ChangeEntry[]> {
    if (seq === 0) return [];
    const raw = (await this.store.redis.xrevrangeBuffer(this.store.keys(eventId).log, `${seq}-0`, '-', 'COUNT', count)) as unknown as [Buffer, Buffer[]][];
    return raw.map(decodeChangeEntry).reverse();
  }

  positions(eventIds: readonly string[]): Promise<(EventPosition | null)[]> {
    return Promise.all(
      eventIds.map(async (id) => {
        const [epoch, seq] = await this.store.redis.hmget(this.store.keys(id).meta, 'epoch', 'seq');
        return epoch === null ? null : { epoch: Number(epoch), seq: Number(seq) };
      }),
    );
  }

  logKey(eventId: string): string {
    return this.store.keys(eventId).log;
  }
}
