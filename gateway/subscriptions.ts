/**
 * This node's subscriptions: which connection watches which event, kept as an
 * index event → subscribers beside each connection's own map, and the
 * subscription gauge kept inside add and remove. It owns `sub` and `unsub`
 * (joining the event's room, with a time bound, and the races around the
 * join), the catch-up frame and the topic subscription that follows it, the
 * mechanics of pausing a slow connection (taking it off its topics and owing
 * it a catch-up per event) and of resuming it, and forgetting the
 * subscriptions of a deleted event. When to pause, resume or close is
 * gateway/slow-consumers.ts's decision.
 *
 * Connections are seen through the narrow `Subscriber` interface (the
 * session implements it), so this module never imports the session.
 */
import type { Logger } from 'pino';
import type { ErrorCode } from '../core/errors.js';
import type { ChanMessage, ClientRequest, ServerMessage } from '../core/protocol/index.js';
import { TimeoutError, withTimeout } from '../core/timeout.js';
import { hasScope, type Principal } from './auth.js';
import type { Hub } from './hub.js';
import type { Inflight } from './inflight.js';
import type { GatewayMetrics } from './metrics.js';
import { errorMessage } from './operations.js';
import type { Room } from './room.js';

/** Where a client's copy of an event is. */
export interface Position {
  epoch: number;
  seq: number;
}

/** One subscription of a connection. */
export interface Subscription {
  /** the room has taken the connection in (hub.join resolved) */
  joined: boolean;
  /**
   * Set while the connection is paused and off the room's topic: the catch-up
   * it is owed once drained, from `from` (undefined: a snapshot).
   */
  owed: { from: Position | undefined } | null;
  /** the room topic (slice, gateway/room-broadcast.ts) the connection is on while attached, or null */
  topic?: string | null;
}

/** What subscriptions need of a connection. */
export interface Subscriber {
  readonly id: number;
  /** the socket has not closed */
  readonly open: boolean;
  /** set by the token check; only connections with a principal send requests */
  readonly principal: Principal | null;
  readonly subs: Map<string, Subscription>;
  /** when the connection was paused as a slow consumer, or null */
  pausedAt: number | null;
  /** sends one frame; false when the connection is closed or had to be closed (dropped frame) */
  send(frame: Uint8Array): boolean;
  reply(message: ServerMessage): void;
  cork(fn: () => void): void;
  subscribeTopic(topic: string): void;
  unsubscribeTopic(topic: string): void;
  bufferedAmount(): number;
  /** closes with a close frame, sent after the unsent data (which is kept until then) */
  end(code: number, reason: string): void;
  /** closes at once, without a close frame (the peer sees 1006): the unsent data is freed now */
  drop(): void;
}

export interface SubscriptionsOptions {
  hub: Hub;
  metrics: GatewayMetrics;
  logger: Logger;
  inflight: Inflight;
  maxSubscriptions: number;
  /**
   * A catch-up frame is not queued behind unsent data past this many bytes:
   * the connection is paused instead and owed the catch-up (a client asking for
   * the same snapshot again and again while not reading holds one, not many).
   */
  catchUpQueueBytes: number;
  /** rebuilds an event Redis has lost (for this principal: see gateway/recovery-gate.ts); true when Redis has it afterwards */
  recoverEvent?(eventId: string, who: Principal): Promise<boolean>;
  /** told of every event a subscription found loaded */
  eventSeen?(eventId: string): void;
  /** the sales-channel overlay for a connection carrying channel keys (core/store/channels.ts); null: none to send */
  channelOverlay?(eventId: string, keys: readonly string[]): Promise<ChanMessage | null>;
  /** the process budget for unsent bytes (gateway/slow-consumers.ts); absent: unbounded */
  budget?: { admit(s: Subscriber, bytes: number): boolean; queued(bytes: number): void };
}

/**
 * A room load that has not finished by then is answered INTERNAL (retryable),
 * so a stuck Redis never leaves a client waiting.
 */
export const ROOM_JOIN_TIMEOUT_MS = 5000;

type SubRequest = Extract<ClientRequest, { t: 'sub' }>;
type UnsubRequest = Extract<ClientRequest, { t: 'unsub' }>;

export class Subscriptions {
  private readonly byEvent = new Map<string, Set<Subscriber>>();
  private total = 0;

  constructor(private readonly options: SubscriptionsOptions) {}

  get count(): number {
    return this.total;
  }

  /** The connections subscribed to an event on this node (joined or still joining). */
  watchers(eventId: string): ReadonlySet<Subscriber> {
    return this.byEvent.get(eventId) ?? EMPTY;
  }

  /**
   * `sub`: joins the room (loading it when needed), then, in one synchronous
   * corked block, the catch-up frame, the topic subscription and the `ok`.
   * No await between the catch-up and the topic subscription, so nothing
   * published can fall between them.
   */
  async subscribe(s: Subscriber, request: SubRequest): Promise<void> {
    const { metrics, logger, hub } = this.options;
    const refuse = (code: ErrorCode, msg?: string) => {
      metrics.operations.inc({ op: 'sub', result: code });
      s.reply(errorMessage(request.rid, code, msg));
    };
    if (!s.principal || !hasScope(s.principal, 'seats:read')) return refuse('FORBIDDEN', 'sub needs the seats:read scope');
    const { ev } = request;
    let sub = s.subs.get(ev);
    if (!sub) {
      if (s.subs.size >= this.options.maxSubscriptions) return refuse('BAD_REQUEST', `at most ${this.options.maxSubscriptions} subscriptions per connection`);
      const created: Subscription = { joined: false, owed: null };
      sub = created;
      this.add(s, ev, created);
      // The join races with an unsub (the subscription is forgotten meanwhile) and with the
      // socket closing; `stillWanted` is asked after every await.
      const stillWanted = () => s.open && s.subs.get(ev) === created;
      let room: Room | null;
      try {
        room = await this.options.inflight.run(() => this.join(ev, s.principal!));
      } catch (err) {
        logger.error({ err, ev }, 'room load failed');
        // a join that timed out still counts this subscriber in the room (a failed one dropped the room)
        if (err instanceof TimeoutError) hub.leave(ev);
        if (s.subs.get(ev) === created) this.forget(s, ev);
        if (s.open) s.cork(() => refuse('INTERNAL', 'the event could not be loaded; retry'));
        return;
      }
      if (!room) {
        if (s.subs.get(ev) === created) this.forget(s, ev);
        if (s.open) s.cork(() => refuse('NO_EVENT', `no event ${ev}`));
        return;
      }
      if (!stillWanted()) {
        hub.leave(ev); // closed or unsubscribed while the room loaded
        if (s.open) s.cork(() => refuse('CONFLICT', 'unsubscribed before the subscription was complete'));
        return;
      }
      created.joined = true;
      this.options.eventSeen?.(ev);
    } else if (!sub.joined) {
      return refuse('BAD_REQUEST', 'a subscription to this event is already being set up');
    }
    // read before the synchronous block (which seats are the token's channels' does not move with the seats' states);
    // a connection without channel keys has nothing to wait for
    const joined = sub;
    const keys = s.principal.channels;
    const overlay = keys && keys.length > 0 ? await this.channelOverlay(ev, keys) : null;
    if (keys && keys.length > 0 && (!s.open || s.subs.get(ev) !== joined)) return; // closed or unsubscribed meanwhile
    const room = hub.room(ev);
    if (!room) {
      // the room was dropped under a joined subscription (the event was deleted): already forgotten
      return refuse('NO_EVENT', `no event ${ev}`);
    }
    const from = request.epoch !== undefined && request.seq !== undefined ? { epoch: request.epoch, seq: request.seq } : undefined;
    s.cork(() => {
      this.attach(s, ev, joined, room, from, 'sub');
      if (!s.open) return;
      if (overlay) s.reply(overlay);
      metrics.operations.inc({ op: 'sub', result: 'ok' });
      s.reply({ t: 'ok', rid: request.rid, ev, epoch: room.epoch, seq: room.seq });
    });
  }

  /** The overlay message for a member of the event's sales channels; null for none (or when Redis did not answer: logged). */
  private async channelOverlay(ev: string, keys: readonly string[] | undefined): Promise<ChanMessage | null> {
    if (!keys || keys.length === 0 || !this.options.channelOverlay) return null;
    try {
      return await this.options.channelOverlay(ev, keys);
    } catch (err) {
      this.options.logger.warn({ err, ev }, 'sales-channel overlay not read');
      return null;
    }
  }

  /** Joins the room, and once more after the event was rebuilt from Postgres; null when there is no such event. */
  private async join(ev: string, who: Principal): Promise<Room | null> {
    const { hub, recoverEvent } = this.options;
    const what = `joining the room of ${ev}`;
    const room = await withTimeout(hub.join(ev), ROOM_JOIN_TIMEOUT_MS, what);
    if (room || !recoverEvent || !(await recoverEvent(ev, who))) return room;
    return withTimeout(hub.join(ev), ROOM_JOIN_TIMEOUT_MS, what);
  }

  unsubscribe(s: Subscriber, request: UnsubRequest): void {
    const sub = s.subs.get(request.ev);
    if (sub) {
      this.forget(s, request.ev);
      if (sub.joined) {
        this.leaveTopic(s, request.ev, sub);
        this.options.hub.leave(request.ev);
      }
    }
    this.options.metrics.operations.inc({ op: 'unsub', result: 'ok' });
    s.reply({ t: 'ok', rid: request.rid, ev: request.ev });
  }

  /**
   * Sends what the connection needs to reach the room's seq (nothing, a diff,
   * or the snapshot), then subscribes it to the room's topic. A paused
   * connection gets nothing now and is owed the catch-up; so is one whose
   * unsent data would pass `catchUpQueueBytes` with this frame (it is paused).
   */
  attach(s: Subscriber, ev: string, sub: Subscription, room: Room, from: Position | undefined, reason: string): void {
    if (s.pausedAt !== null) {
      sub.owed = { from };
      return;
    }
    const { metrics } = this.options;
    const catchUp = room.catchUp(from?.epoch, from?.seq);
    if (catchUp.kind !== 'current') {
      const buffered = s.bufferedAmount();
      if (buffered > 0 && buffered + catchUp.frame.byteLength > this.options.catchUpQueueBytes) {
        this.pause(s, 'catch_up'); // off every topic, this event's included
        sub.owed = { from }; // owed what was asked, not where the room is
        return;
      }
      const { budget } = this.options;
      if (budget && !budget.admit(s, catchUp.frame.byteLength)) return; // closed (4008): the heaviest past the process budget
      if (from !== undefined) metrics.resumes.inc({ served: catchUp.kind });
      if (catchUp.kind === 'snap') metrics.snapshotsSent.inc({ reason });
      if (!s.send(catchUp.frame)) return;
      budget?.queued(s.bufferedAmount() - buffered);
    } else if (from !== undefined) {
      metrics.resumes.inc({ served: 'current' });
    }
    sub.owed = null;
    // a slice the room's publish under way has reached: the catch-up brought it to the room's seq
    this.leaveTopic(s, ev, sub);
    const topic = this.options.hub.placeWatcher(ev);
    if (topic === null) return;
    sub.topic = topic;
    s.subscribeTopic(topic);
  }

  /** Takes the connection off the room topic it is on, if any. */
  private leaveTopic(s: Subscriber, ev: string, sub: Subscription): void {
    if (!sub.topic) return;
    s.unsubscribeTopic(sub.topic);
    this.options.hub.removeWatcher(ev, sub.topic);
    sub.topic = null;
  }

  /**
   * Pauses a slow connection: off every room's topic, owing each joined
   * subscription a catch-up from where it stopped (the room's published seq).
   */
  pause(s: Subscriber, why: 'backlog' | 'catch_up'): void {
    if (s.pausedAt !== null) return;
    s.pausedAt = Date.now();
    this.options.metrics.slowConsumers.inc({ action: 'paused' });
    if (why === 'catch_up') this.options.metrics.catchUpsDeferred.inc();
    for (const [eventId, sub] of s.subs) {
      if (!sub.joined || sub.owed || !sub.topic) continue;
      // where its slice is: one frame behind the room while a publish has not reached it yet
      const from = this.options.hub.watcherPosition(eventId, sub.topic);
      if (from === null) continue;
      sub.owed = { from };
      this.leaveTopic(s, eventId, sub);
    }
  }

  /** Resumes a drained connection: the catch-up it is owed per event, then the topics again (pausing again past the bound). */
  resume(s: Subscriber): void {
    if (s.pausedAt === null) return;
    s.pausedAt = null;
    this.options.metrics.slowConsumers.inc({ action: 'resynced' });
    s.cork(() => {
      for (const [eventId, sub] of [...s.subs]) {
        if (!s.open) break;
        const room = this.options.hub.room(eventId);
        if (!room || !sub.owed) continue;
        const { from } = sub.owed;
        sub.owed = null;
        this.attach(s, eventId, sub, room, from, 'resync');
      }
    });
  }

  /**
   * A sales channel of the event was put or released: every joined watcher
   * here whose token carries channel keys gets its overlay again (empty
   * lists when none of its keys is a channel of the event any more).
   */
  async refreshChannels(eventId: string): Promise<void> {
    if (!this.options.channelOverlay) return;
    for (const s of [...this.watchers(eventId)]) {
      const keys = s.principal?.channels;
      const sub = s.subs.get(eventId);
      if (!keys || keys.length === 0 || !sub?.joined) continue;
      let overlay: ChanMessage;
      try {
        overlay = (await this.options.channelOverlay(eventId, keys)) ?? { t: 'chan', ev: eventId, keys: [], seats: [] };
      } catch (err) {
        this.options.logger.warn({ err, ev: eventId }, 'sales-channel overlay not read');
        continue;
      }
      if (s.open && s.subs.get(eventId) === sub) s.cork(() => s.reply(overlay));
    }
  }

  /** The connection closed: it leaves every room it joined. */
  closed(s: Subscriber): void {
    for (const [eventId, sub] of [...s.subs]) {
      this.forget(s, eventId);
      if (sub.topic) this.options.hub.removeWatcher(eventId, sub.topic);
      if (sub.joined) this.options.hub.leave(eventId);
    }
  }

  /** An event disappeared: its room told its topic (NO_EVENT); forget its subscriptions. */
  eventGone(eventId: string): void {
    for (const s of [...this.watchers(eventId)]) {
      const sub = s.subs.get(eventId);
      if (!sub) continue;
      const topic = sub.topic;
      this.forget(s, eventId);
      if (!s.open) continue;
      // a paused connection is off the topic and missed the room's NO_EVENT
      if (sub.owed) s.cork(() => s.reply({ t: 'err', rid: null, ev: eventId, code: 'NO_EVENT', msg: 'the event no longer exists' }));
      // uWS delivers published frames at the end of the loop iteration: leave the topic after that
      else if (topic) setImmediate(() => s.open && !s.subs.has(eventId) && s.unsubscribeTopic(topic));
    }
  }

  private add(s: Subscriber, eventId: string, sub: Subscription): void {
    s.subs.set(eventId, sub);
    let set = this.byEvent.get(eventId);
    if (!set) this.byEvent.set(eventId, (set = new Set()));
    set.add(s);
    this.total++;
    this.options.metrics.subscriptions.set(this.total);
  }

  private forget(s: Subscriber, eventId: string): void {
    if (!s.subs.delete(eventId)) return;
    const set = this.byEvent.get(eventId);
    set?.delete(s);
    if (set?.size === 0) this.byEvent.delete(eventId);
    this.total--;
    this.options.metrics.subscriptions.set(this.total);
  }
}

const EMPTY: ReadonlySet<Subscriber> = new Set();
