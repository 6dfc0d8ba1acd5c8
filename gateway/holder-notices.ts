/**
 * `tok` and `tokend` to every connection of a holder, on any gateway node
 * (docs/onsale.md, "Hold timers pushed"): each holder has a Redis Pub/Sub
 * channel `<prefix>holder:<sub>`; a node subscribes to the channels of the
 * subjects connected to it (one dedicated subscriber connection) and, on a
 * message, sends the frame to each of their connections. Whichever node runs
 * an operation (or the expiry sweep) publishes what became of the token:
 *
 * - hold, extend, a release that leaves seats or places: `tok` with the
 *   token's seats, places and expiry as the store now keeps them (one HGET
 *   after the reply);
 * - a release that leaves no seat and no place: `tokend released`; book and checkout:
 *   `tokend booked`; the sweeper freeing it: `tokend expired`.
 *
 * Pub/Sub keeps nothing: a connection that is down when it is published
 * misses it; the operation replies and the seat map remain the authority.
 */
import type { Logger } from 'pino';
import { encodeMessage, type OkMessage, type SeatOperationRequest, type TokMessage, type TokendMessage } from '../core/protocol/index.js';
import type { RedisClient, SeatStore } from '../core/store/index.js';
import type { GatewayMetrics } from './metrics.js';

/** What the notices need of a connection. */
export interface HolderSocket {
  readonly open: boolean;
  readonly principal: { sub: string | null } | null;
  send(frame: Uint8Array): boolean;
  cork(fn: () => void): void;
}

export interface HolderNoticesOptions {
  store: SeatStore;
  /** a connection of its own, in subscriber mode */
  subscriber: RedisClient;
  metrics: GatewayMetrics;
  logger: Logger;
}

export class HolderNotices {
  private readonly local = new Map<string, Set<HolderSocket>>();
  private readonly prefix: string;

  constructor(private readonly options: HolderNoticesOptions) {
    this.prefix = `${options.store.prefix}holder:`;
    options.subscriber.on('messageBuffer', (channel: Buffer, payload: Buffer) => this.received(channel.toString(), payload));
  }

  private channel(sub: string): string {
    return this.prefix + sub;
  }

  /** A connection of a subject is ready: it gets its holder's notices from now on. */
  add(socket: HolderSocket): void {
    const sub = socket.principal?.sub;
    if (!sub) return;
    let sockets = this.local.get(sub);
    if (!sockets) {
      this.local.set(sub, (sockets = new Set()));
      this.options.subscriber.subscribe(this.channel(sub)).catch((err: unknown) => this.options.logger.warn({ err, sub }, 'holder channel not subscribed'));
    }
    sockets.add(socket);
  }

  remove(socket: HolderSocket): void {
    const sub = socket.principal?.sub;
    if (!sub) return;
    const sockets = this.local.get(sub);
    if (!sockets?.delete(socket) || sockets.size > 0) return;
    this.local.delete(sub);
    this.options.subscriber.unsubscribe(this.channel(sub)).catch(() => undefined);
  }

  /** Publishes a notice to every connection of the holder, on every node. */
  publish(holder: string, message: TokMessage | TokendMessage): void {
    this.options.store.redis.publish(this.channel(holder), Buffer.from(encodeMessage(message))).catch((err: unknown) => this.options.logger.warn({ err }, 'holder notice not published'));
  }

  /** After an operation's `ok`: what became of its token. */
  async afterOperation(holder: string, request: SeatOperationRequest, reply: OkMessage): Promise<void> {
    const { ev } = request;
    if (request.t === 'book' || request.t === 'checkout') {
      // the box office's direct book has no token
      if ('tok' in request && reply.replayed !== true) this.publish(holder, { t: 'tokend', ev, tok: request.tok, reason: 'booked' });
      return;
    }
    const tok = request.t === 'hold' ? String(reply.tok) : request.tok;
    const info = await this.options.store.tokenInfo(ev, tok);
    // extend with ms 0 releases every seat and deletes the token
    if (!info && request.t === 'extend' && request.ms === 0) return this.publish(holder, { t: 'tokend', ev, tok, reason: 'released' });
    if (!info || info.holder !== holder) return;
    // a token that still has places is not ended by a release of its seats (nor of some of its places)
    if (request.t === 'release' && info.seats.length === 0 && info.ga.length === 0) return this.publish(holder, { t: 'tokend', ev, tok, reason: 'released' });
    this.publish(holder, { t: 'tok', ev, tok, exp: info.expiresAt, seats: [...info.seats].sort((x, y) => x - y), ...(info.ga.length > 0 && { ga: info.ga }) });
  }

  /** The sweeper expired these tokens of an event. */
  expired(eventId: string, tokens: readonly { token: string; holder: string }[]): void {
    for (const { token, holder } of tokens) this.publish(holder, { t: 'tokend', ev: eventId, tok: token, reason: 'expired' });
  }

  private received(channel: string, payload: Buffer): void {
    if (!channel.startsWith(this.prefix)) return;
    const sockets = this.local.get(channel.slice(this.prefix.length));
    if (!sockets) return;
    const frame = new Uint8Array(payload);
    this.options.metrics.holderNotices.inc(sockets.size);
    for (const socket of sockets) if (socket.open) socket.cork(() => socket.send(frame));
  }
}
