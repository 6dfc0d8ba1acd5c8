/**
 * `tok` and `tokend` to every connection of a holder, on any gateway node
 * (docs/onsale.md, "Hold timers pushed"): each holder has a Redis Pub/Sub
 * channel `<prefix>notices:<sub>`; a node subscribes to the channels of the
 * subjects connected to it (one dedicated subscriber connection) and, on a
 * message, sends the frame to each of their connections. Whichever node runs
 * an operation (or the expiry sweep) publishes what became of the token:
 *
 * - hold, extend, a release that leaves seats or places: `tok` with the
 *   token's seats, places and expiry as the store now keeps them (one HGET
 *   after the reply; none for a hold that made a new token of seats only,
 *   whose reply says them);
 * - a release that leaves no seat and no place: `tokend released` (no HGET
 *   for a release of everything); book and checkout: `tokend booked`; the
 *   sweeper freeing it: `tokend expired`.
 *
 * The publishing node's own connections of the holder get the frame at once,
 * queued behind the operation's reply (one write for both), and the PUBLISH
 * goes out at the end of the turn, after the replies; each message carries
 * its node's tag (ORIGIN_MARK, 8 random bytes, then the frame), so
 * that the node passes over its own when Redis sends it back.
 *
 * A holder connected to one node only (the usual case) costs Redis nothing
 * per operation: when a PUBLISH reaches no subscriber but this node's own
 * (its reply says 1, once this node's subscription was confirmed), the holder
 * is marked local-only and its notices stay on this node. A node that
 * subscribes to a holder's channel publishes a hello there (the tag alone, no
 * frame) once Redis confirmed the subscription (again a second later while
 * it fails), and again after its subscriber connection came back; a hello,
 * or any notice of another node on the channel, clears the mark, and so does
 * this node's own subscriber reconnecting. A reply counts the hello that may have
 * overtaken it: the mark is set only if no hello for the holder arrived
 * since the PUBLISH was sent. On a Redis Cluster a PUBLISH reply counts one
 * node's subscribers only, so there every notice is published.
 *
 * Pub/Sub keeps nothing: a connection that is down when it is published
 * misses it (so does one on another node in the moment between its
 * subscription and its hello reaching this node); the operation replies and
 * the seat map remain the authority.
 */
import { randomBytes } from 'node:crypto';
import type { Redis } from 'ioredis';
import type { Logger } from 'pino';
import { encodeMessage, type OkMessage, type SeatOperationRequest, type TokMessage, type TokendMessage } from '../core/protocol/index.js';
import { isCluster, type RedisClient, type SeatStore } from '../core/store/index.js';
import type { GatewayMetrics } from './metrics.js';
import { atEndOfTurn, type EndOfTurn } from './turn-flush.js';

/** What the notices need of a connection. */
export interface HolderSocket {
  readonly open: boolean;
  readonly principal: { sub: string | null } | null;
  /** sends the frame with the connection's others of this event-loop turn (Session.queueFrame) */
  queueFrame(frame: Uint8Array): void;
}

/** First byte of a tagged message: 0xc1 never starts a MessagePack value, so it cannot be taken for a frame. */
export const ORIGIN_MARK = 0xc1;
const TAG_BYTES = 8;
/** how long a failed hello waits before it is sent again */
const HELLO_RETRY_MS = 1000;

export interface HolderNoticesOptions {
  store: SeatStore;
  /** a connection of its own, in subscriber mode */
  subscriber: RedisClient;
  metrics: GatewayMetrics;
  logger: Logger;
}

export class HolderNotices implements EndOfTurn {
  private readonly local = new Map<string, Set<HolderSocket>>();
  private readonly prefix: string;
  /** ORIGIN_MARK and this node's tag, the head of every message it publishes */
  private readonly origin: Buffer;
  /** holder, payload, … of the notices of this turn, published at its end */
  private outgoing: (string | Buffer)[] = [];
  /** holders whose channel Redis confirmed this node subscribes to, by the subscription's generation */
  private readonly confirmed = new Map<string, number>();
  /** per holder, bumped by every subscribe and unsubscribe: a late confirmation of an older one is ignored */
  private readonly generation = new Map<string, number>();
  /** holders whose last PUBLISH reached this node only: their notices are not published until a hello */
  private readonly localOnly = new Set<string>();
  /** per holder, the hellos received: a PUBLISH reply marks local-only only if none came since it was sent */
  private readonly hellos = new Map<string, number>();
  /** a PUBLISH reply says how many nodes got it only on one Redis (a Cluster counts one node's subscribers) */
  private readonly countsReceivers: boolean;
  private subscriberLost = false;
  /** hellos to send again (holder -> subscription generation), on one timer */
  private readonly helloRetries = new Map<string, number>();
  private helloTimer: NodeJS.Timeout | null = null;

  constructor(private readonly options: HolderNoticesOptions) {
    // `notices:`, not the `holder:` of the untagged messages earlier versions published: a node of
    // one version never gets the other's, rather than frames it cannot tell from its own
    this.prefix = `${options.store.prefix}notices:`;
    this.origin = Buffer.concat([Buffer.from([ORIGIN_MARK]), randomBytes(TAG_BYTES)]);
    this.countsReceivers = !isCluster(options.store.redis) && !isCluster(options.subscriber);
    options.subscriber.on('messageBuffer', (channel: Buffer, payload: Buffer) => this.received(channel.toString(), payload));
    options.subscriber.on('close', () => {
      // what was learnt over the lost connection no longer holds: publish everything until it is back
      this.subscriberLost = true;
      this.confirmed.clear();
      this.localOnly.clear();
    });
    options.subscriber.on('ready', () => {
      if (!this.subscriberLost) return;
      this.subscriberLost = false;
      // ioredis subscribes again before 'ready'; a PING answered after that means the subscriptions are back
      (options.subscriber as Redis).ping().then(
        () => {
          for (const sub of this.local.keys()) this.subscribed(sub, this.generation.get(sub) ?? 0);
        },
        () => undefined,
      );
    });
  }

  /** The local port of the subscriber connection, by which a test can find it in CLIENT LIST and cut it; null on a Cluster or while it is down. */
  get subscriberPort(): number | null {
    if (isCluster(this.options.subscriber)) return null;
    return (this.options.subscriber as Redis).stream?.localPort ?? null;
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
      const generation = this.bump(sub);
      this.options.subscriber.subscribe(this.channel(sub)).then(
        () => this.subscribed(sub, generation),
        (err: unknown) => this.options.logger.warn({ err, sub }, 'holder channel not subscribed'),
      );
    }
    sockets.add(socket);
  }

  private bump(sub: string): number {
    const generation = (this.generation.get(sub) ?? 0) + 1;
    this.generation.set(sub, generation);
    this.confirmed.delete(sub);
    this.localOnly.delete(sub);
    return generation;
  }

  /** Redis confirmed the subscription `generation` to the holder's channel: say hello to the other nodes that have the holder. */
  private subscribed(sub: string, generation: number): void {
    if (this.generation.get(sub) !== generation || !this.local.has(sub)) return;
    this.confirmed.set(sub, generation);
    this.sayHello(sub, generation);
  }

  /** A hello that failed (the store connection was down) is sent again, once a second, while the subscription lasts: a node that never hears it would keep the holder's notices to itself. */
  private sayHello(sub: string, generation: number): void {
    this.options.store.redis.publish(this.channel(sub), this.origin).catch((err: unknown) => {
      this.options.logger.warn({ err, sub }, 'holder hello not published; trying again');
      this.helloRetries.set(sub, generation);
      this.helloTimer ??= setTimeout(() => {
        this.helloTimer = null;
        const due = [...this.helloRetries];
        this.helloRetries.clear();
        for (const [s, g] of due) if (this.generation.get(s) === g && this.local.has(s)) this.sayHello(s, g);
      }, HELLO_RETRY_MS);
      this.helloTimer.unref?.();
    });
  }

  remove(socket: HolderSocket): void {
    const sub = socket.principal?.sub;
    if (!sub) return;
    const sockets = this.local.get(sub);
    if (!sockets?.delete(socket) || sockets.size > 0) return;
    this.local.delete(sub);
    this.bump(sub);
    this.hellos.delete(sub);
    this.options.subscriber.unsubscribe(this.channel(sub)).catch(() => undefined);
  }

  /**
   * Publishes a notice to every connection of the holder: this node's at once
   * (queued with their frames of this turn), the other nodes' over Redis at
   * the end of the turn, after the replies queued before it were written, so
   * that the PUBLISH's write does not delay them.
   */
  publish(holder: string, message: TokMessage | TokendMessage): void {
    const frame = encodeMessage(message);
    this.deliver(this.local.get(holder), frame);
    if (this.localOnly.has(holder)) {
      this.options.metrics.holderNoticesLocalOnly.inc();
      return;
    }
    this.outgoing.push(holder, Buffer.concat([this.origin, frame]));
    atEndOfTurn(this);
  }

  /** The end of the turn: this turn's notices to Redis (auto-pipelined: one write). */
  flush(): void {
    const outgoing = this.outgoing;
    this.outgoing = [];
    for (let i = 0; i + 1 < outgoing.length; i += 2) {
      const holder = outgoing[i] as string;
      const generation = this.countsReceivers ? this.confirmed.get(holder) : undefined;
      const hellos = this.hellos.get(holder) ?? 0;
      this.options.store.redis.publish(this.channel(holder), outgoing[i + 1] as Buffer).then(
        (receivers) => {
          // only this node's own subscriber got it, no hello came meanwhile, and the subscription is the one confirmed before
          if (generation !== undefined && receivers === 1 && (this.hellos.get(holder) ?? 0) === hellos && this.confirmed.get(holder) === generation) {
            this.localOnly.add(holder);
          }
        },
        (err: unknown) => this.options.logger.warn({ err }, 'holder notice not published'),
      );
    }
  }

  /**
   * Called right after an operation was sent to Redis: for one whose notice
   * needs the token as the store keeps it afterwards, reads it on the
   * holder's connection, where it follows the operation in the same write and
   * its reply comes in the same read. Null when the notice needs no read.
   */
  readAfter(holder: string, request: SeatOperationRequest): TokenRead {
    const token = tokenToRead(request);
    if (token === null) return null;
    const read = this.options.store.tokenInfo(request.ev, token, holder);
    // the operation may fail, and its read be left unused
    read.catch(() => undefined);
    return read;
  }

  /**
   * After an operation's `ok`: what became of its token. Called right after
   * the reply was queued; what needs no Redis read is published before the
   * first await, so this node's frame joins the reply's write. `read` is
   * readAfter's, when the operation ran once (not again after a rebuild).
   */
  async afterOperation(holder: string, request: SeatOperationRequest, reply: OkMessage, read?: TokenRead): Promise<void> {
    const { ev } = request;
    if (request.t === 'book' || request.t === 'checkout') {
      // the box office's direct book has no token
      if ('tok' in request && reply.replayed !== true) this.publish(holder, { t: 'tokend', ev, tok: request.tok, reason: 'booked' });
      return;
    }
    const fresh = freshToken(request, reply);
    if (fresh) return this.publish(holder, { t: 'tok', ev, tok: String(reply.tok), exp: Number(reply.exp), seats: fresh });
    // a release of every seat (and place) leaves the token empty until it expires
    if (request.t === 'release' && request.seats === undefined && request.ga === undefined) return this.publish(holder, { t: 'tokend', ev, tok: request.tok, reason: 'released' });
    const tok = request.t === 'hold' ? String(reply.tok) : request.tok;
    const info = await (read ?? this.options.store.tokenInfo(ev, tok));
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
    let frame: Uint8Array = payload;
    const sub = channel.slice(this.prefix.length);
    if (payload[0] === ORIGIN_MARK) {
      // this node's own, delivered when it was published
      if (payload.subarray(0, this.origin.length).equals(this.origin)) return;
      // another node's hello or notice: it has a connection of the holder (a notice says so even when its hello was lost)
      if (this.local.has(sub)) {
        this.hellos.set(sub, (this.hellos.get(sub) ?? 0) + 1);
        this.localOnly.delete(sub);
      }
      if (payload.length === this.origin.length) return; // a hello carries no frame
      frame = payload.subarray(this.origin.length);
    }
    this.deliver(this.local.get(sub), frame);
  }

  private deliver(sockets: Set<HolderSocket> | undefined, frame: Uint8Array): void {
    if (!sockets || sockets.size === 0) return;
    this.options.metrics.holderNotices.inc(sockets.size);
    for (const socket of sockets) if (socket.open) socket.queueFrame(frame);
  }
}

type TokenInfo = Awaited<ReturnType<SeatStore['tokenInfo']>>;
/** readAfter's read of a token, or null when the notice needs none */
export type TokenRead = Promise<TokenInfo | null> | null;

/** The token an operation's notice reads back (a release of some seats or places, an extend, a swap, a hold adding to a token); null: none. */
function tokenToRead(request: SeatOperationRequest): string | null {
  switch (request.t) {
    case 'release':
      return request.seats !== undefined || request.ga !== undefined ? request.tok : null;
    case 'extend':
    case 'swap':
      return request.tok;
    case 'hold':
      return request.tok ?? null;
    default:
      return null;
  }
}

/**
 * The seats of a hold that made a new token, from its request and reply:
 * all of them are the token's (a hold is all or nothing). Null for any other
 * operation, and for holds of general-admission places (the token's places
 * are not in the reply): those read the token.
 */
function freshToken(request: SeatOperationRequest, reply: OkMessage): number[] | null {
  if (request.t !== 'hold' || request.tok !== undefined || typeof reply.tok !== 'string' || typeof reply.exp !== 'number') return null;
  if ('best' in request) return Array.isArray(reply.seats) ? [...reply.seats].sort((x, y) => x - y) : null;
  if (request.ga !== undefined) return null;
  return [...new Set(request.seats)].sort((x, y) => x - y);
}
