/**
 * The hub: this node's rooms (one per subscribed event), loaded from a
 * snapshot on first use, fed by the change feed, published through uWS
 * topics, and dropped again when they have been empty for a while. It owns
 * each room's subscriber count and the checks that keep rooms right (a new
 * epoch, a stalled feed, a deleted event; docs/gateway.md, Keeping rooms
 * right). It reads events only through a RoomSource, so it can be tested
 * without Redis.
 *
 * The checks cost a constant per node, not per room: each ROOM_CHECK_MS reads
 * the positions of a rotating window of at most `checkBatch` rooms (the safety
 * net for a lost change signal or an event lost without one), plus the rooms
 * a signal said were recreated or deleted, until they are settled.
 */
import type { Logger } from 'pino';
import type { ChangeEntry } from '../core/store/index.js';
import { encodeMessage } from '../core/protocol/index.js';
import type { FeedTarget } from './change-feed.js';
import type { GatewayMetrics } from './metrics.js';
import { RoomBroadcast } from './room-broadcast.js';
import { Room } from './room.js';
import type { RoomSource } from './room-source.js';

export interface Publisher {
  publish(topic: string, frame: Uint8Array): void;
  numSubscribers(topic: string): number;
}

/** What the hub needs of the change feed (gateway/change-feed.ts). */
export interface RoomFeed {
  watch(target: FeedTarget): void;
  unwatch(eventId: string): void;
  /** read an event's log again (its room resynced, or the store is ahead of it); without an id, every watched log */
  refresh(eventId?: string): void;
  start(): void;
  stop(): Promise<void>;
  /** the reader's Redis client id, where there is one (tests cut that connection) */
  readonly clientId?: number | null;
}

export interface HubOptions {
  source: RoomSource;
  /** makes the change feed that hands log entries to the hub; `onMoved`: a signal says the event was recreated or deleted */
  feed(onEntries: (eventId: string, entries: ChangeEntry[]) => void, onMoved: (eventId: string) => void): RoomFeed;
  publisher: Publisher;
  metrics: GatewayMetrics;
  logger: Logger;
  tickMs: number;
  /** watchers sent a room's frame per event-loop turn (gateway/room-broadcast.ts) */
  sliceWatchers?: number;
  resumeWindow: number;
  lingerMs: number;
  checkMs: number;
  /** rooms whose positions one check reads at most (default ROOM_CHECKS_PER_TICK) */
  checkBatch?: number;
  /** called when an event disappears under its room; the server unsubscribes the room's sockets */
  onEventGone(eventId: string): void;
  /** a change-log entry of a sales channel (op `channel`: put, released) reached the room; the server refreshes its members' overlays */
  onChannelChange?(eventId: string): void;
  /** wall clock for lingering (tests) */
  now?: () => number;
}

interface RoomSlot {
  room: Room;
  /** the room's watchers on this node in topic slices, and the publish to them */
  broadcast: RoomBroadcast;
  /** seat changes in the frame being published (for the delivered-updates metric) */
  updates: number;
  /** set while the room is being (re)loaded */
  loading: Promise<Room | null> | null;
  resyncing: boolean;
  /** subscribers on this node */
  subscribers: number;
  /** when the room became empty (for lingering), or null */
  emptySince: number | null;
  /** the event's seq in Redis at the last check, to spot a stalled feed */
  lastCheckSeq: number;
  stalledChecks: number;
  /** consecutive checks that found the event missing */
  missingChecks: number;
}

/**
 * An event must be missing from Redis this many checks in a row before its
 * room is closed: an event being rebuilt (deleted and created again) is
 * briefly missing, and its watchers should see the new epoch, not lose it.
 */
const MISSING_CHECKS_BEFORE_GONE = 3;

/** A room whose feed made no progress while the store moved on this many checks in a row is resynced. */
const STALLED_CHECKS_BEFORE_RESYNC = 2;

/** Rooms one check reads the positions of, at most: a node's check costs Redis this many HMGETs per ROOM_CHECK_MS, however many rooms it has. */
export const ROOM_CHECKS_PER_TICK = 50;

/** History entries read when a room loads, so that resumes from before it started can be served. */
const HISTORY_ENTRIES = 2000;

export function roomTopic(eventId: string): string {
  return `ev:${eventId}`;
}

export class Hub {
  private readonly slots = new Map<string, RoomSlot>();
  private readonly feed: RoomFeed;
  private readonly now: () => number;
  private checkTimer: NodeJS.Timeout | null = null;
  private checking = false;
  /** where the next check's window of rooms starts */
  private checkCursor = 0;
  /** rooms a signal said were recreated or deleted: checked at every check until settled */
  private readonly urgent = new Set<string>();

  constructor(private readonly options: HubOptions) {
    this.feed = options.feed(
      (eventId, entries) => this.onEntries(eventId, entries),
      (eventId) => this.onMoved(eventId),
    );
    this.now = options.now ?? Date.now;
  }

  start(): void {
    this.feed.start();
    this.checkTimer = setInterval(() => void this.check(), this.options.checkMs);
    this.checkTimer.unref();
  }

  async stop(): Promise<void> {
    if (this.checkTimer) clearInterval(this.checkTimer);
    for (const slot of this.slots.values()) {
      slot.room.close();
      slot.broadcast.cancel();
    }
    await this.feed.stop();
  }

  /** The change feed reader's Redis client id (tests cut that connection to provoke gaps). */
  get feedClientId(): number | null {
    return this.feed.clientId ?? null;
  }

  get roomCount(): number {
    return this.slots.size;
  }

  /** The loaded room of an event, if this node has one. */
  room(eventId: string): Room | undefined {
    const slot = this.slots.get(eventId);
    return slot && !slot.loading ? slot.room : undefined;
  }

  /**
   * Takes a subscriber into an event's room, loading it first when needed.
   * Resolves to null when the event does not exist. The caller must call
   * leave() once the subscriber goes.
   */
  async join(eventId: string): Promise<Room | null> {
    let slot = this.slots.get(eventId);
    if (!slot) {
      const { publisher, metrics } = this.options;
      let created!: RoomSlot;
      const broadcast = new RoomBroadcast({
        topic: roomTopic(eventId),
        sliceWatchers: this.options.sliceWatchers ?? DEFAULT_SLICE_WATCHERS,
        publisher: {
          publish(topic, frame) {
            const watchers = publisher.numSubscribers(topic);
            publisher.publish(topic, frame);
            if (watchers > 0) {
              metrics.broadcastBytes.inc(frame.byteLength * watchers);
              metrics.broadcastUpdates.inc(created.updates * watchers);
            }
          },
        },
      });
      const room = new Room({
        eventId,
        tickMs: this.options.tickMs,
        resumeWindow: this.options.resumeWindow,
        publish: (frame, updates) => this.publish(created, frame, updates),
        finish: () => broadcast.finish(),
      });
      created = { room, broadcast, updates: 0, loading: null, resyncing: false, subscribers: 0, emptySince: null, lastCheckSeq: -1, stalledChecks: 0, missingChecks: 0 };
      created.loading = this.load(created).finally(() => (created.loading = null));
      this.slots.set(eventId, created);
      this.options.metrics.rooms.set(this.slots.size);
      slot = created;
    }
    slot.subscribers++;
    slot.emptySince = null;
    const room = slot.loading ? await slot.loading : slot.room;
    if (!room) this.leave(eventId);
    return room;
  }

  leave(eventId: string): void {
    const slot = this.slots.get(eventId);
    if (!slot) return;
    slot.subscribers = Math.max(0, slot.subscribers - 1);
    if (slot.subscribers === 0) {
      slot.emptySince = this.now();
      if (this.options.lingerMs === 0 && !slot.loading) this.drop(eventId);
    }
  }

  private async load(slot: RoomSlot): Promise<Room | null> {
    try {
      return await this.loadOnce(slot);
    } catch (err) {
      // a failed load must not leave a half-made room behind: the next subscriber starts over
      if (this.slots.get(slot.room.eventId) === slot) this.drop(slot.room.eventId);
      throw err;
    }
  }

  private async loadOnce(slot: RoomSlot): Promise<Room | null> {
    const { room } = slot;
    const { source } = this.options;
    const snapshot = await source.snapshot(room.eventId);
    if (!snapshot) {
      this.drop(room.eventId);
      return null;
    }
    // entries at or below the snapshot's seq never change: they serve resumes from before this load
    room.load(snapshot, await source.history(room.eventId, snapshot.seq, HISTORY_ENTRIES));
    slot.lastCheckSeq = snapshot.seq;
    this.feed.watch({
      eventId: room.eventId,
      logKey: source.logKey(room.eventId),
      afterSeq: () => room.received,
      epoch: () => room.epoch,
      paused: () => slot.resyncing,
    });
    return room;
  }

  private onEntries(eventId: string, entries: ChangeEntry[]): void {
    const slot = this.slots.get(eventId);
    if (!slot || slot.loading || slot.resyncing) return;
    this.options.metrics.feedEntries.inc(entries.length);
    const outcome = slot.room.receive(entries);
    if (outcome === 'ok') {
      if (this.options.onChannelChange && entries.some((e) => e.op === 'channel')) this.options.onChannelChange(eventId);
      return;
    }
    if (outcome === 'gap') {
      this.options.metrics.feedGaps.inc();
      this.options.logger.warn({ eventId, received: slot.room.received, next: entries[0]?.seq }, 'gap in change log; resyncing room from a snapshot');
    } else {
      this.options.logger.info({ eventId }, 'change log of a new epoch; resyncing room from a snapshot');
    }
    void this.resync(slot);
  }

  /** Repairs a room from a snapshot; its subscribers get one diff (same epoch) or the snapshot (new epoch). */
  private async resync(slot: RoomSlot): Promise<void> {
    if (slot.resyncing) return;
    slot.resyncing = true;
    try {
      const snapshot = await this.options.source.snapshot(slot.room.eventId);
      if (!snapshot) return this.gone(slot.room.eventId);
      if (this.slots.get(slot.room.eventId) !== slot) return;
      slot.room.resync(snapshot);
      slot.lastCheckSeq = snapshot.seq;
    } catch (err) {
      this.options.logger.error({ err, eventId: slot.room.eventId }, 'room resync failed');
    } finally {
      slot.resyncing = false;
      this.feed.refresh(slot.room.eventId);
    }
  }

  /** A signal of another epoch or a deletion: the room is checked now, and at every check until settled. */
  private onMoved(eventId: string): void {
    const slot = this.slots.get(eventId);
    if (!slot) return;
    this.urgent.add(eventId);
    if (slot.loading || slot.resyncing) return;
    this.checkPositions([slot]).catch((err: unknown) => this.options.logger.warn({ err }, 'room check failed'));
  }

  /** Every checkMs: rooms empty for longer than the linger time go; a window of the others (and the urgent ones) is checked against the store. */
  async check(): Promise<void> {
    if (this.checking) return;
    this.checking = true;
    try {
      this.dropIdleRooms();
      await this.checkPositions(this.nextWindow());
    } catch (err) {
      this.options.logger.warn({ err }, 'room check failed');
    } finally {
      this.checking = false;
    }
  }

  private dropIdleRooms(): void {
    const now = this.now();
    for (const [eventId, slot] of this.slots) {
      if (!slot.loading && slot.subscribers === 0 && slot.emptySince !== null && now - slot.emptySince >= this.options.lingerMs) this.drop(eventId);
    }
  }

  /** The urgent rooms and the next `checkBatch` of the others, in turn. */
  private nextWindow(): RoomSlot[] {
    const batch = this.options.checkBatch ?? ROOM_CHECKS_PER_TICK;
    const picked: RoomSlot[] = [];
    for (const eventId of this.urgent) {
      const slot = this.slots.get(eventId);
      if (slot) picked.push(slot);
      else this.urgent.delete(eventId);
    }
    const all = [...this.slots.values()];
    if (all.length <= batch) return [...new Set([...picked, ...all])];
    const start = this.checkCursor % all.length;
    this.checkCursor = start + batch;
    for (let i = 0; i < batch; i++) picked.push(all[(start + i) % all.length]!);
    return [...new Set(picked)];
  }

  /**
   * Compares each room's epoch with the store's (an event rebuilt or deleted
   * under a room whose signal was lost), and spots a stalled feed: the store's
   * seq is ahead of the room's `received`. On first sight the feed reads the
   * log again (a lost signal); still behind at the next check, with no
   * progress between, the room resyncs from a snapshot.
   */
  private async checkPositions(window: readonly RoomSlot[]): Promise<void> {
    const live = window.filter((s) => !s.loading && !s.resyncing);
    if (live.length === 0) return;
    const positions = await this.options.source.positions(live.map((s) => s.room.eventId));
    live.forEach((slot, i) => {
      const { eventId } = slot.room;
      if (this.slots.get(eventId) !== slot) return;
      const position = positions[i];
      if (!position) {
        if (++slot.missingChecks >= MISSING_CHECKS_BEFORE_GONE) this.gone(eventId);
        return;
      }
      slot.missingChecks = 0;
      this.urgent.delete(eventId);
      if (position.epoch !== slot.room.epoch) {
        this.options.logger.info({ eventId, epoch: position.epoch }, 'event has a new epoch; resyncing room');
        return void this.resync(slot);
      }
      const behind = position.seq > slot.room.received && slot.room.received <= slot.lastCheckSeq;
      slot.stalledChecks = behind ? slot.stalledChecks + 1 : 0;
      slot.lastCheckSeq = position.seq;
      if (position.seq > slot.room.received) this.feed.refresh(eventId);
      if (slot.stalledChecks >= STALLED_CHECKS_BEFORE_RESYNC) {
        slot.stalledChecks = 0;
        this.options.logger.warn({ eventId, received: slot.room.received, storeSeq: position.seq }, 'change feed stalled; resyncing room');
        void this.resync(slot);
      }
    });
  }

  private gone(eventId: string): void {
    this.options.logger.warn({ eventId }, 'event no longer exists; closing its room');
    const slot = this.slots.get(eventId);
    if (slot) {
      // every slice at once: the room closes now, and its watchers leave their topics on the next turn
      this.publish(slot, encodeMessage({ t: 'err', rid: null, ev: eventId, code: 'NO_EVENT', msg: 'the event no longer exists' }), 0);
      slot.broadcast.finish();
    }
    this.drop(eventId);
    this.options.onEventGone(eventId);
  }

  private drop(eventId: string): void {
    const slot = this.slots.get(eventId);
    if (!slot) return;
    slot.room.close();
    slot.broadcast.cancel();
    this.slots.delete(eventId);
    this.urgent.delete(eventId);
    this.feed.unwatch(eventId);
    this.options.metrics.rooms.set(this.slots.size);
  }

  /** Publishes a frame to the room's watchers, a slice per turn; settles once every slice has it. */
  private publish(slot: RoomSlot, frame: Uint8Array, updates: number): Promise<void> | undefined {
    const { metrics } = this.options;
    slot.updates = updates;
    metrics.broadcastFrames.inc();
    const started = performance.now();
    const sending = slot.broadcast.send(frame);
    if (!sending) {
      metrics.publishSeconds.observe((performance.now() - started) / 1000);
      return undefined;
    }
    return sending.then(() => metrics.publishSeconds.observe((performance.now() - started) / 1000));
  }

  /** The topic a new (or resumed) watcher of a loaded room joins; see RoomBroadcast.place. */
  placeWatcher(eventId: string): string | null {
    const slot = this.slots.get(eventId);
    return slot ? slot.broadcast.place() : null;
  }

  /** A watcher left its topic. */
  removeWatcher(eventId: string, topic: string): void {
    this.slots.get(eventId)?.broadcast.remove(topic);
  }

  /**
   * Where a watcher on `topic` is: the room's published position, or, when
   * the publish under way has not reached its slice yet, the position before
   * it (undefined: it is owed a snapshot).
   */
  watcherPosition(eventId: string, topic: string): { epoch: number; seq: number } | undefined | null {
    const slot = this.slots.get(eventId);
    if (!slot) return null;
    const { room, broadcast } = slot;
    const inFlight = room.publishing;
    if (!inFlight || broadcast.reached(topic)) return { epoch: room.epoch, seq: room.seq };
    return inFlight.from === null ? undefined : { epoch: room.epoch, seq: inFlight.from };
  }
}

/** Watchers per slice: about 10 ms of socket writes per turn on loopback. */
export const DEFAULT_SLICE_WATCHERS = 1000;
