/**
 * One WebSocket connection's life, kept in uWS user data: its phase, the
 * token check that decides it, the frames kept before `hello`, its rate
 * limit, the request dispatch, and sending. The uWS callbacks in
 * gateway/ws-endpoint.ts forward to it one line each.
 *
 *   verifying ──token accepted──▶ ready ──socket closed──▶ closed
 *       │                                                   ▲
 *       └──token refused / shutdown──▶ refused ─────────────┘
 *
 * - verifying: the socket is open, its token is being checked, then its
 *   subject's connection slot taken (gateway/subject-slots.ts). Nothing is
 *   sent and nothing is acted on; frames are kept (gateway/early-frames.ts).
 * - ready: `hello` has gone out, then the early frames' answers; requests are
 *   rate-limited and dispatched (subscriptions, operations).
 * - refused: closing with 4001 (refused token), 1013 (the token could not be
 *   judged), 4009 (the subject has every connection slot open), or 1012
 *   (shutdown began during the check); frames are ignored.
 * - closed: uWS reported the close; the connection has left every room.
 */
import type { Logger } from 'pino';
import { CLOSE_CODES, PROTOCOL_VERSION, decodeRequest, encodeMessage, type AuthRequest, type ConnectionLimits, type ServerMessage } from '../core/protocol/index.js';
import { KEY_SET_UNAVAILABLE, type AuthResult, type Authenticator, type Principal } from './auth.js';
import type { Connections } from './connections.js';
import { EARLY_BYTES_MAX, EarlyFrames } from './early-frames.js';
import type { GatewayMetrics } from './metrics.js';
import { errorMessage, type Operations, type Requester } from './operations.js';
import { TokenBucket } from './rate-limit.js';
import type { SlowConsumers } from './slow-consumers.js';
import type { SubjectSlots } from './subject-slots.js';
import type { QueueWatch } from './queue-watch.js';
import type { HolderNotices } from './holder-notices.js';
import type { Subscriber, Subscription, Subscriptions } from './subscriptions.js';
import { atEndOfTurn, type EndOfTurn } from './turn-flush.js';
import { ABNORMAL_CLOSURE, SEND_DROPPED, type Socket } from './uws.js';

export type SessionPhase = 'verifying' | 'ready' | 'refused' | 'closed';

/** uWS user data of a /ws socket. */
export interface SocketData {
  session: Session;
}

export interface SessionDeps {
  /** the limits `hello` advertises (and the session enforces) */
  limits: ConnectionLimits;
  metrics: GatewayMetrics;
  logger: Logger;
  isDraining(): boolean;
  connections: Connections<Session>;
  subscriptions: Subscriptions;
  operations: Operations;
  slowConsumers: Pick<SlowConsumers, 'drained'>;
  /** connection slots per subject across the nodes; absent: no limit */
  slots?: SubjectSlots;
  /** the waiting rooms on this node's sockets */
  queue: QueueWatch;
  /** checks the tokens of `auth` requests */
  authenticator: Authenticator;
  /** tok and tokend of the connection's holder; absent: none */
  notices?: HolderNotices;
}

/** setTimeout cannot wait longer than 2^31-1 ms; such tokens outlive any connection we care about. */
const MAX_TIMER_MS = 2 ** 31 - 1;

export class Session implements Subscriber, Requester, EndOfTurn {
  phase: SessionPhase = 'verifying';
  principal: Principal | null = null;
  readonly subs = new Map<string, Subscription>();
  pausedAt: number | null = null;

  private ws: Socket<SocketData> | null = null;
  private bucket: TokenBucket | null = null;
  private expiryTimer: NodeJS.Timeout | null = null;
  /** the subject whose connection slot this connection holds */
  private slotOf: string | null = null;
  private readonly early: EarlyFrames;
  /** frames waiting for the end of the event-loop turn (queueFrame), in order */
  private queued: Uint8Array[] | null = null;

  constructor(
    readonly id: number,
    private readonly verification: Promise<AuthResult>,
    private readonly deps: SessionDeps,
  ) {
    this.early = new EarlyFrames({ maxFrames: deps.limits.opsBurst, maxBytes: EARLY_BYTES_MAX, maxFrameBytes: deps.limits.maxFrameBytes });
  }

  /** The socket is open and has not closed. */
  get open(): boolean {
    return this.ws !== null && this.phase !== 'closed';
  }

  // ---- uWS callbacks ---------------------------------------------------------

  opened(ws: Socket<SocketData>): void {
    this.ws = ws;
    this.deps.connections.add(this);
    void this.verification.then(
      (result) => this.verified(result),
      (err: unknown) => {
        this.deps.logger.error({ err }, 'token check failed');
        this.verified({ ok: false, code: 'UNAUTHORIZED', reason: KEY_SET_UNAVAILABLE, retryable: true });
      },
    );
  }

  frame(message: ArrayBuffer, isBinary: boolean): void {
    if (this.phase === 'verifying') return this.early.keep(message, isBinary);
    if (this.phase === 'ready') this.handleFrame(message, isBinary);
  }

  drained(): void {
    this.deps.slowConsumers.drained(this);
  }

  closed(code: number, message: ArrayBuffer): void {
    const { metrics, logger } = this.deps;
    metrics.closes.inc({ code: String(code) });
    if (code === ABNORMAL_CLOSURE) {
      // no close frame: uWS names why (a TCP FIN or reset, a frame too big, inactivity, a protocol error)
      const reason = Buffer.from(message).toString('utf8').slice(0, 60) || 'unknown';
      metrics.connectionsLost.inc({ reason });
      logger.debug({ socket: this.id, sub: this.principal?.sub, reason }, 'connection lost without a close frame');
    }
    if (this.phase === 'closed') return;
    this.phase = 'closed';
    this.queued = null;
    if (this.expiryTimer) clearTimeout(this.expiryTimer);
    this.early.clear();
    this.deps.subscriptions.closed(this);
    this.deps.queue.closed(this);
    this.deps.notices?.remove(this);
    this.deps.connections.delete(this);
    this.releaseSlot();
  }

  private releaseSlot(): void {
    if (this.slotOf !== null) this.deps.slots?.release(this.slotOf, this.id);
    this.slotOf = null;
  }

  // ---- the token check -------------------------------------------------------

  /** The token check has finished: greet the client and answer its early frames, or close. */
  private verified(result: AuthResult): void {
    if (this.phase !== 'verifying') return; // the client went away while its token was checked
    const { metrics, limits } = this.deps;
    if (this.deps.isDraining()) {
      metrics.upgrades.inc({ result: 'draining' });
      return this.refuse(CLOSE_CODES.SERVER_RESTART.code, 'server restart');
    }
    metrics.upgrades.inc({ result: result.ok ? 'accepted' : 'unauthorized' });
    if (!result.ok) {
      // The close code tells a browser (which cannot see an HTTP status) what to do. A token the
      // server could not judge (its key set unreachable) is our outage: the client should come back later.
      if (result.retryable) return this.refuse(CLOSE_CODES.TRY_AGAIN_LATER.code, 'token keys unavailable; retry later');
      return this.refuse(CLOSE_CODES.UNAUTHORIZED.code, `unauthorized: ${result.reason}`.slice(0, 120));
    }
    const principal = result.principal;
    const slots = this.deps.slots;
    if (principal.sub === null || !slots) return this.ready(principal);
    const sub = principal.sub;
    void slots.acquire(sub, this.id).then(
      (taken) => this.slotDecided(principal, sub, taken),
      (err: unknown) => {
        // Redis did not answer: let the connection in uncounted rather than lock everyone out
        this.deps.logger.warn({ err, sub }, 'connection slot not taken; connection let in uncounted');
        this.slotDecided(principal, sub, null);
      },
    );
  }

  /** The subject's connection slot: taken (true), all taken (false: close 4009), or not known (null). */
  private slotDecided(principal: Principal, sub: string, taken: boolean | null): void {
    if (taken) this.slotOf = sub;
    if (this.phase !== 'verifying') return this.releaseSlot(); // closed while the slot was taken
    if (taken === false) {
      this.deps.metrics.refusals.inc({ reason: 'subject_connections' });
      const most = this.deps.limits.maxConnectionsPerSubject;
      return this.refuse(CLOSE_CODES.TOO_MANY_CONNECTIONS.code, `too many connections: at most ${most} per subject`);
    }
    this.ready(principal);
  }

  /** Greets the client and answers its early frames. */
  private ready(principal: Principal): void {
    const { metrics, limits } = this.deps;
    this.phase = 'ready';
    this.principal = principal;
    this.bucket = new TokenBucket(limits.opsPerSecond, limits.opsBurst);
    this.armExpiry(principal);
    this.deps.notices?.add(this);
    const { frames, dropped } = this.early.take();
    this.cork(() => {
      this.reply({ t: 'hello', v: PROTOCOL_VERSION, sub: principal.sub, scopes: [...principal.scopes], limits, exp: principal.expiresAt });
      for (const frame of frames) {
        if (!this.open) return;
        if ('oversize' in frame) this.refuseOversize(frame.oversize);
        else this.handleFrame(frame.message, frame.isBinary);
      }
      if (dropped > 0 && this.open) {
        metrics.rateLimited.inc(dropped);
        this.reply(errorMessage(null, 'RATE_LIMITED', `${dropped} frames sent before hello were dropped: at most ${limits.opsBurst} frames or ${EARLY_BYTES_MAX} bytes are kept`));
      }
    });
  }

  /** Closes the connection with 4002 when the token's `exp` passes (replaced by each `auth`). */
  private armExpiry(principal: Principal): void {
    if (this.expiryTimer) clearTimeout(this.expiryTimer);
    this.expiryTimer = null;
    if (principal.expiresAt === null) return;
    const wait = Math.min(Math.max(0, principal.expiresAt - Date.now()), MAX_TIMER_MS);
    this.expiryTimer = setTimeout(() => this.cork(() => this.end(CLOSE_CODES.TOKEN_EXPIRED.code, 'token expired')), wait);
  }

  /**
   * `auth`: a fresh token of the same subject replaces the connection's, so a
   * long wait never ends in a 4002; subscriptions, the waiting-room place and
   * everything else of the connection stay. Another subject is FORBIDDEN, a
   * refused token UNAUTHORIZED; either way the current token stays in force.
   */
  private async reauthenticate(request: AuthRequest): Promise<void> {
    const { metrics } = this.deps;
    const result = await this.deps.authenticator.verify(request.token);
    if (!this.open) return;
    const current = this.principal!;
    let reply: ServerMessage;
    if (!result.ok) {
      const retry = result.retryable ? ' (the key set is unreachable just now: retry later)' : '';
      reply = errorMessage(request.rid, 'UNAUTHORIZED', `token: ${result.reason}${retry}; the connection keeps its current token`);
    } else if (current.sub === null || result.principal.sub !== current.sub) {
      reply = errorMessage(request.rid, 'FORBIDDEN', 'token: it is for another subject (a connection keeps its subject); the connection keeps its current token');
    } else {
      const principal = result.principal;
      this.principal = principal;
      this.armExpiry(principal);
      reply = { t: 'ok', rid: request.rid, sub: principal.sub, scopes: [...principal.scopes], exp: principal.expiresAt };
    }
    metrics.operations.inc({ op: 'auth', result: reply.t === 'err' ? reply.code : 'ok' });
    const answer = reply;
    this.cork(() => this.reply(answer));
  }

  private refuse(code: number, reason: string): void {
    this.phase = 'refused';
    this.early.clear();
    this.cork(() => this.end(code, reason));
  }

  // ---- requests --------------------------------------------------------------

  /** One frame of a ready connection: validated, rate-limited, dispatched. Synchronous up to the dispatch. */
  private handleFrame(message: ArrayBuffer, isBinary: boolean): void {
    const { metrics, limits, logger } = this.deps;
    const bucket = this.bucket!;
    if (!isBinary) {
      metrics.badFrames.inc();
      bucket.take();
      return this.reply(errorMessage(null, 'BAD_REQUEST', 'frames must be binary MessagePack'));
    }
    if (message.byteLength > limits.maxFrameBytes) return this.refuseOversize(message.byteLength);
    // decoding is synchronous: the ArrayBuffer is only valid during the uWS callback
    const decoded = decodeRequest(message, limits.maxSeatsPerRequest);
    if (!decoded.ok) {
      metrics.badFrames.inc();
      bucket.take(); // garbage counts against the rate limit too
      return this.reply(errorMessage(decoded.rid, 'BAD_REQUEST', decoded.msg));
    }
    const request = decoded.request;
    if (!bucket.take()) {
      metrics.rateLimited.inc();
      metrics.refusals.inc({ reason: 'connection_rate' });
      metrics.operations.inc({ op: request.t, result: 'RATE_LIMITED' });
      return this.reply(errorMessage(request.rid, 'RATE_LIMITED', `at most ${limits.opsPerSecond} requests per second (burst ${limits.opsBurst})`));
    }
    switch (request.t) {
      case 'ping':
        metrics.operations.inc({ op: 'ping', result: 'ok' });
        return this.reply({ t: 'pong', rid: request.rid });
      case 'sub':
        return void this.deps.subscriptions.subscribe(this, request).catch((err) => logger.error({ err }, 'subscribe failed'));
      case 'unsub':
        return this.deps.subscriptions.unsubscribe(this, request);
      case 'queue':
        return void this.deps.queue.join(this, request).catch((err) => logger.error({ err }, 'queue failed'));
      case 'auth':
        return void this.reauthenticate(request).catch((err) => logger.error({ err }, 'auth failed'));
      default:
        return void this.deps.operations.run(this, request).catch((err) => logger.error({ err }, 'operation reply failed'));
    }
  }

  /** A frame over maxFrameBytes: not decoded, answered BAD_REQUEST, and counted against the rate limit. */
  private refuseOversize(bytes: number): void {
    this.deps.metrics.badFrames.inc();
    this.bucket!.take();
    this.reply(errorMessage(null, 'BAD_REQUEST', `frame of ${bytes} bytes exceeds maxFrameBytes (${this.deps.limits.maxFrameBytes})`));
  }

  // ---- sending (Subscriber, Requester) -----------------------------------------

  reply(message: ServerMessage): void {
    this.send(encodeMessage(message));
  }

  /** An operation's reply, sent with the connection's other frames of this event-loop turn (queueFrame). */
  queueReply(message: ServerMessage): void {
    this.queueFrame(encodeMessage(message));
  }

  /**
   * A frame sent with the others queued for this connection in the same
   * event-loop turn (the replies one Redis read answers, the holder's `tok`
   * after its reply): one corked write for all of them at the end of the turn
   * (gateway/turn-flush.ts), a system call each otherwise. Any other send
   * first sends what is queued, so frames keep their order; each queued frame
   * goes through send(), so a dropped frame still closes the connection (and
   * the frames after it are not sent), and a connection closed meanwhile gets
   * none.
   */
  queueFrame(frame: Uint8Array): void {
    if (!this.open) return;
    if (this.queued) {
      this.queued.push(frame);
      return;
    }
    this.queued = [frame];
    atEndOfTurn(this);
  }

  /** The end of the turn: the queue, corked. */
  flush(): void {
    if (!this.queued) return;
    if (!this.open) {
      this.queued = null;
      return;
    }
    try {
      this.ws!.cork(this.sendQueued);
    } catch (err) {
      // one connection's failure must not keep the frames of the others of this turn
      this.deps.logger.error({ err, socket: this.id }, 'queued frames not sent');
      this.queued = null;
    }
  }

  /** Sends the queue (bound once, not a closure per flush). */
  private readonly sendQueued = (): void => {
    const frames = this.queued;
    this.queued = null;
    if (frames) for (const frame of frames) if (!this.send(frame)) return;
  };

  /** Sends one frame; one uWS dropped (past its hard cap) leaves the client incomplete, so it is closed. */
  send(frame: Uint8Array): boolean {
    // a socket closed earlier in this same step (a dropped send, a slow-consumer close) must not be touched
    if (!this.open) return false;
    if (this.queued) this.sendQueued();
    if (!this.open) return false;
    if (this.ws!.send(frame, true) === SEND_DROPPED) {
      this.deps.metrics.slowConsumers.inc({ action: 'closed' });
      this.end(CLOSE_CODES.SLOW_CONSUMER.code, 'slow consumer');
      return false;
    }
    return true;
  }

  /** Runs `fn` with the socket's writes corked (required after an await); nothing on a closed socket. */
  cork(fn: () => void): void {
    if (this.open) this.ws!.cork(fn);
  }

  subscribeTopic(topic: string): void {
    if (this.open) this.ws!.subscribe(topic);
  }

  unsubscribeTopic(topic: string): void {
    if (this.open) this.ws!.unsubscribe(topic);
  }

  bufferedAmount(): number {
    return this.open ? this.ws!.getBufferedAmount() : 0;
  }

  end(code: number, reason: string): void {
    if (this.open) this.ws!.end(code, reason);
  }

  drop(): void {
    if (this.open) this.ws!.close();
  }
}
