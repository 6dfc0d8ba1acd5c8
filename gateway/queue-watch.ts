/**
 * The waiting room on this node's sockets (docs/onsale.md): answers `queue`
 * requests, then keeps each joined socket told where its subject stands.
 * A place belongs to the subject (core/store/waiting-room.ts), so every
 * socket of the subject, here or on another node, is told the same. Every
 * QUEUE_POLL_MS the node reads the places of all its waiting subjects of an
 * event in one script call and pushes:
 *
 * - `qpos` when the place changed, at most every 2 s per socket (a newer
 *   place replaces one not yet sent, like diffs are coalesced);
 * - `admit` once the subject is admitted (`until` 0: the room was removed);
 * - `qclosed` / `qopen` when the room closes (sold out, ended) or opens again.
 *
 * A socket stops being watched when it closes, when its admission ends, or
 * when the room is removed or ends.
 */
import type { Logger } from 'pino';
import type { QueueRequest, RequestId, ServerMessage } from '../core/protocol/index.js';
import type { Places, QueueClosed, WaitingRooms } from '../core/store/index.js';
import { hasScope, type Principal } from './auth.js';
import type { GatewayMetrics } from './metrics.js';
import { errorMessage } from './operations.js';

/** qpos goes to one socket at most this often. */
export const QPOS_INTERVAL_MS = 2000;
/** subjects per places() call */
const PLACES_BATCH = 2000;

/** What the watch needs of a socket. */
export interface QueueSocket {
  readonly open: boolean;
  readonly principal: Principal | null;
  reply(message: ServerMessage): void;
  cork(fn: () => void): void;
}

interface Watched {
  /** the position last sent in qpos (0: none yet) */
  sentPos: number;
  lastQposAt: number;
  /** the admission end last sent in admit (0: none yet) */
  sentUntil: number;
}

interface EventWatch {
  /** subject → its sockets here */
  subjects: Map<string, Map<QueueSocket, Watched>>;
  /** the room's closed state last told (null: not known yet) */
  closed: QueueClosed | null;
}

export interface QueueWatchOptions {
  rooms: WaitingRooms;
  metrics: GatewayMetrics;
  logger: Logger;
  pollMs: number;
}

export class QueueWatch {
  private readonly events = new Map<string, EventWatch>();
  private timer: NodeJS.Timeout | null = null;
  private polling = false;

  constructor(private readonly options: QueueWatchOptions) {}

  start(): void {
    if (this.timer) return;
    this.timer = setInterval(() => void this.poll(), this.options.pollMs);
    this.timer.unref();
  }

  stop(): void {
    if (this.timer) clearInterval(this.timer);
    this.timer = null;
  }

  /** Sockets being watched (tests, metrics). */
  get size(): number {
    let n = 0;
    for (const watch of this.events.values()) for (const sockets of watch.subjects.values()) n += sockets.size;
    return n;
  }

  /** A `queue` request: join (or look up) the subject's place and answer; the socket is watched from then on. */
  async join(socket: QueueSocket, request: QueueRequest): Promise<void> {
    const { rooms, metrics, logger } = this.options;
    const { rid, ev } = request;
    const principal = socket.principal!;
    const answer = (message: ServerMessage): void => send(socket, message);
    if (principal.sub === null || !hasScope(principal, 'seats:hold')) {
      metrics.operations.inc({ op: 'queue', result: 'FORBIDDEN' });
      return answer(errorMessage(rid, 'FORBIDDEN', 'queue needs the seats:hold scope'));
    }
    const sub = principal.sub;
    let joined: Awaited<ReturnType<WaitingRooms['join']>>;
    try {
      joined = await rooms.join(ev, sub);
    } catch (err) {
      logger.error({ err, ev }, 'queue join failed');
      metrics.operations.inc({ op: 'queue', result: 'INTERNAL' });
      return answer(errorMessage(rid, 'INTERNAL', 'the waiting room could not be reached; retry'));
    }
    if (!joined.ok) {
      metrics.operations.inc({ op: 'queue', result: joined.code });
      if (joined.code === 'QUEUE_CLOSED') metrics.refusals.inc({ reason: 'queue_closed' });
      const msg = joined.code === 'QUEUE_CLOSED' ? `the waiting room of event ${ev} is not open yet; try again closer to the sale` : undefined;
      return answer(errorMessage(rid, joined.code, msg));
    }
    metrics.operations.inc({ op: 'queue', result: 'ok' });
    const r = joined.result;
    const now = Date.now();
    const watched: Watched = { sentPos: 0, lastQposAt: 0, sentUntil: 0 };
    let reply: ServerMessage;
    switch (r.state) {
      case 'none':
        return answer(ok(rid, { state: 'admitted' }));
      case 'admitted':
        watched.sentUntil = r.until;
        reply = ok(rid, { state: 'admitted', until: r.until });
        break;
      case 'prequeue':
        reply = ok(rid, { state: 'prequeue', etaMs: Math.max(0, r.onSaleAt - now) });
        break;
      case 'waiting':
        watched.sentPos = r.ahead + 1;
        watched.lastQposAt = now;
        reply = ok(rid, { state: 'waiting', pos: r.ahead + 1, ahead: r.ahead, etaMs: etaMs(r.ahead, r.admitPerMinute) });
        break;
      case 'closed':
        reply = ok(rid, { state: 'closed', reason: r.reason });
        if (r.reason === 'ENDED') return answer(reply);
        break;
    }
    if (!socket.open) return;
    this.watch(ev, sub, socket, watched, r.state === 'closed' ? r.reason : null);
    answer(reply);
  }

  /** The socket closed: it is watched no more. */
  closed(socket: QueueSocket): void {
    const sub = socket.principal?.sub;
    if (!sub) return;
    for (const [ev, watch] of this.events) {
      const sockets = watch.subjects.get(sub);
      if (!sockets?.delete(socket)) continue;
      if (sockets.size === 0) watch.subjects.delete(sub);
      if (watch.subjects.size === 0) this.events.delete(ev);
    }
  }

  private watch(ev: string, sub: string, socket: QueueSocket, watched: Watched, closed: QueueClosed | null): void {
    let watch = this.events.get(ev);
    if (!watch) this.events.set(ev, (watch = { subjects: new Map(), closed }));
    let sockets = watch.subjects.get(sub);
    if (!sockets) watch.subjects.set(sub, (sockets = new Map()));
    // joining again on the same socket keeps what it was told
    if (!sockets.has(socket)) sockets.set(socket, watched);
  }

  /** One round: every watched event's places, read and pushed. */
  async poll(): Promise<void> {
    if (this.polling) return;
    this.polling = true;
    try {
      await Promise.all([...this.events.keys()].map((ev) => this.pollEvent(ev).catch((err: unknown) => this.options.logger.warn({ err, ev }, 'queue places not read'))));
    } finally {
      this.polling = false;
    }
  }

  private async pollEvent(ev: string): Promise<void> {
    const watch = this.events.get(ev);
    if (!watch) return;
    const subjects = [...watch.subjects.keys()];
    for (let i = 0; i < subjects.length; i += PLACES_BATCH) {
      const batch = subjects.slice(i, i + PLACES_BATCH);
      const places = await this.options.rooms.places(ev, batch);
      if (this.events.get(ev) !== watch) return;
      if (!places) return this.roomGone(ev, watch);
      if (i === 0) this.closedChanged(ev, watch, places.closed);
      if (places.closed === 'ENDED') return void this.events.delete(ev);
      this.push(ev, watch, batch, places);
    }
  }

  private closedChanged(ev: string, watch: EventWatch, closed: QueueClosed): void {
    const before = watch.closed;
    watch.closed = closed;
    if (before === closed || (before === null && closed === '')) return;
    const message: ServerMessage = closed === '' ? { t: 'qopen', ev } : { t: 'qclosed', ev, reason: closed };
    for (const sockets of watch.subjects.values()) for (const socket of sockets.keys()) send(socket, message);
  }

  private push(ev: string, watch: EventWatch, subjects: readonly string[], places: Places): void {
    const now = Date.now();
    const beforeSale = now < places.settings.onSaleAt;
    subjects.forEach((sub, i) => {
      const place = places.places[i]!;
      const sockets = watch.subjects.get(sub);
      if (!sockets) return;
      for (const [socket, told] of sockets) {
        if (place.kind === 'admitted') {
          if (told.sentUntil !== place.until) {
            told.sentUntil = place.until;
            this.options.metrics.queuePushes.inc({ type: 'admit' });
            send(socket, { t: 'admit', ev, until: place.until });
          }
        } else if (place.kind === 'waiting') {
          const pos = place.ahead + 1;
          if (beforeSale || places.closed !== '' || pos === told.sentPos || now - told.lastQposAt < QPOS_INTERVAL_MS) continue;
          told.sentPos = pos;
          told.lastQposAt = now;
          this.options.metrics.queuePushes.inc({ type: 'qpos' });
          send(socket, { t: 'qpos', ev, pos, ahead: place.ahead, etaMs: etaMs(place.ahead, places.settings.admitPerMinute) });
        } else if (told.sentUntil > 0) {
          // the admission has ended: nothing more to tell this socket
          sockets.delete(socket);
        }
      }
      if (sockets.size === 0) watch.subjects.delete(sub);
    });
    if (watch.subjects.size === 0 && this.events.get(ev) === watch) this.events.delete(ev);
  }

  /** The waiting room was removed: everyone may hold (admit with until 0). */
  private roomGone(ev: string, watch: EventWatch): void {
    this.events.delete(ev);
    for (const sockets of watch.subjects.values()) for (const socket of sockets.keys()) send(socket, { t: 'admit', ev, until: 0 });
  }
}

function ok(rid: RequestId, fields: Record<string, unknown>): ServerMessage {
  return { t: 'ok', rid, ...fields };
}

function send(socket: QueueSocket, message: ServerMessage): void {
  if (socket.open) socket.cork(() => socket.reply(message));
}

/** A guess of the wait: the subjects ahead at the admission rate. */
export function etaMs(ahead: number, admitPerMinute: number): number {
  return Math.round(((ahead + 1) / admitPerMinute) * 60_000);
}
