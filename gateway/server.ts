/**
 * The uWebSockets.js server: the WebSocket endpoint at /ws (auth in the
 * upgrade, protocol v1 over binary frames, rooms as uWS topics, backpressure)
 * and the HTTP routes beside it. docs/gateway.md describes the data flow.
 */
import uWS from 'uWebSockets.js';
import type { Redis } from 'ioredis';
import type { Logger } from 'pino';
import type { ErrorCode } from '../core/errors.js';
import {
  CLOSE_CODES,
  PROTOCOL_VERSION,
  decodeRequest,
  encodeMessage,
  type ClientRequest,
  type ConnectionLimits,
  type ServerMessage,
} from '../core/protocol/index.js';
import { STORE_LIMITS, type SeatStore } from '../core/store/index.js';
import { PROTOCOL_NAME, extractToken, hasScope, type AuthResult, type Authenticator, type Principal } from './auth.js';
import type { GatewayConfig } from './config.js';
import { registerHttpRoutes } from './http.js';
import { sendJson } from './http-util.js';
import { Hub, roomTopic } from './hub.js';
import { LayoutCache } from './layout-view.js';
import type { GatewayMetrics } from './metrics.js';
import { errorMessage, runOperation, type DurableBookings, type SeatOperation } from './operations.js';
import { TokenBucket } from './rate-limit.js';
import type { Room } from './room.js';

type Socket = uWS.WebSocket<SocketData>;

/** One subscription of a socket. */
interface Subscription {
  /** the room has taken the socket in (hub.join resolved) */
  joined: boolean;
  /** set while the socket is paused as a slow consumer: where it stopped */
  resumeFrom: { epoch: number; seq: number } | null;
}

/** Per-socket state, kept in uWS user data. */
export interface SocketData {
  id: number;
  /** the token's check, started in the upgrade and awaited once the socket is open */
  verification: Promise<AuthResult>;
  /** null until the token has been checked (and for a refused token, whose socket is being closed) */
  principal: Principal | null;
  open: boolean;
  /** the token check has finished (with or without a principal) */
  checked: boolean;
  /** frames that arrived before the token check finished, acted on in order once it has (an oversize one only by its length) */
  early: ({ message: ArrayBuffer; isBinary: boolean } | { oversize: number })[];
  /** frames that arrived before the check past the bounds on `early`: dropped, and told after `hello` */
  earlyDropped: number;
  subs: Map<string, Subscription>;
  bucket: TokenBucket | null;
  expiryTimer: NodeJS.Timeout | null;
  /** when the socket was paused as a slow consumer, or null */
  pausedAt: number | null;
}

export interface GatewayServerOptions {
  config: GatewayConfig;
  store: SeatStore;
  /** a dedicated Redis connection for the change feed's blocking reads */
  feedReader: Redis;
  authenticator: Authenticator;
  metrics: GatewayMetrics;
  logger: Logger;
  checkReadiness(): Promise<Record<string, boolean>>;
  /** answers `book` only once Postgres has the booking (absent: answered when Redis has it) */
  durable?: DurableBookings;
  /** rebuilds an event Redis has lost from Postgres; true when Redis has it afterwards */
  recoverEvent?(eventId: string): Promise<boolean>;
  /** whether Postgres already has an event (see HttpDeps.eventRecorded) */
  eventRecorded?(eventId: string): Promise<boolean>;
  /** extra HTTP routes (the bookings admin API) */
  registerRoutes?(app: uWS.TemplatedApp): void;
}

const SEND_DROPPED = 2;
/**
 * A room load that has not finished by then is answered INTERNAL (retryable).
 * Under heavy load a load has been seen to hang in tests; the bound keeps a
 * client from waiting forever while the cause is found.
 */
const ROOM_JOIN_TIMEOUT_MS = 5000;

class TimeoutError extends Error {}

function withTimeout<T>(promise: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new TimeoutError(`timed out ${what}`)), ms);
  });
  return Promise.race([promise, timeout]).finally(() => clearTimeout(timer));
}
/** the authenticator's reason when the JWKS cannot be fetched */
/** uSockets' listen options (LIBUS_LISTEN_DEFAULT shares the port, LIBUS_LISTEN_EXCLUSIVE_PORT does not) */
const LISTEN_SHARED_PORT = 0;
const LISTEN_EXCLUSIVE_PORT = 1;

/** `app.listen(host, port, options, cb)`: the binary takes it, the published typings lack the overload. */
function listenOn(app: uWS.TemplatedApp, host: string, port: number, options: number, cb: (socket: uWS.us_listen_socket | false) => void): void {
  (app.listen as unknown as (h: string, p: number, o: number, c: typeof cb) => void).call(app, host, port, options, cb);
}

const KEY_SET_UNAVAILABLE = 'key set unavailable';
const ABNORMAL_CLOSURE = 1006;
/** frames a socket may send before its `hello` are kept up to this many bytes in all */
const EARLY_BYTES_MAX = 64 * 1024;
const BACKPRESSURE_CHECK_MS = 500;

export class GatewayServer {
  readonly app: uWS.TemplatedApp;
  readonly hub: Hub;
  readonly sockets = new Set<Socket>();
  private listenSocket: uWS.us_listen_socket | null = null;
  private nextSocketId = 1;
  private inflight = 0;
  private subscriptionCount = 0;
  private draining = false;
  private backpressureTimer: NodeJS.Timeout | null = null;
  private readonly limits: ConnectionLimits;

  constructor(private readonly options: GatewayServerOptions) {
    const { config, metrics, logger } = options;
    this.limits = {
      maxFrameBytes: config.limits.maxFrameBytes,
      opsPerSecond: config.limits.opsPerSecond,
      opsBurst: config.limits.opsBurst,
      maxSubscriptions: config.limits.maxSubscriptions,
      maxSeatsPerRequest: STORE_LIMITS.maxSeatsPerCall,
    };
    this.app = uWS.App();
    this.hub = new Hub({
      store: options.store,
      feedReader: options.feedReader,
      publisher: {
        publish: (topic, frame) => this.app.publish(topic, frame, true),
        numSubscribers: (topic) => this.app.numSubscribers(topic),
      },
      metrics,
      logger,
      tickMs: config.tickMs,
      resumeWindow: config.rooms.resumeWindow,
      lingerMs: config.rooms.lingerMs,
      checkMs: config.rooms.checkMs,
      feedPaceMs: config.rooms.feedPaceMs,
      onEventGone: (eventId) => this.dropSubscriptions(eventId),
    });

    this.app.ws<SocketData>('/ws', {
      compression: uWS.DISABLED,
      // Frames over maxFrameBytes get BAD_REQUEST and the connection lives on; uWS drops the
      // connection only past this hard cap, so a hostile client cannot make us buffer much.
      maxPayloadLength: config.limits.maxFrameBytes * 4,
      idleTimeout: config.limits.idleTimeoutSec,
      sendPingsAutomatically: true,
      maxBackpressure: config.limits.maxBackpressureBytes,
      // past the hard cap uWS would silently skip frames; closing is the only safe answer
      closeOnBackpressureLimit: true as unknown as number,
      upgrade: (res, req, context) => this.upgrade(res, req, context),
      open: (ws) => this.open(ws),
      message: (ws, message, isBinary) => this.message(ws, message, isBinary),
      drain: (ws) => this.drain(ws),
      close: (ws, code, message) => this.close(ws, code, message),
    });

    registerHttpRoutes(this.app, {
      store: options.store,
      authenticator: options.authenticator,
      metrics,
      logger,
      layouts: new LayoutCache(),
      isDraining: () => this.draining,
      checkReadiness: options.checkReadiness,
      liveStatus: (eventId) => {
        const room = this.hub.room(eventId);
        return room ? { epoch: room.epoch, seq: room.seq, status: room.status } : null;
      },
      maxBodyBytes: config.limits.maxBodyBytes,
      eventRecorded: options.eventRecorded,
    });
    options.registerRoutes?.(this.app);
    this.app.any('/*', (res) => sendJson(res, 404, { code: 'BAD_REQUEST', msg: 'no such route' }));
  }

  /** Starts listening; resolves to the port (useful with PORT=0). */
  listen(): Promise<number> {
    const { host, port, reusePort } = this.options.config;
    // uSockets binds with SO_REUSEPORT unless told otherwise: a second gateway (or a test that
    // reuses a port) would then silently get half the connections. Exclusive unless asked.
    const options = reusePort ? LISTEN_SHARED_PORT : LISTEN_EXCLUSIVE_PORT;
    return new Promise((resolve, reject) => {
      listenOn(this.app, host, port, options, (socket) => {
        if (!socket) return reject(new Error(`cannot listen on ${host}:${port} (in use?${reusePort ? '' : ' set REUSE_PORT=1 to share it'})`));
        this.listenSocket = socket;
        this.hub.start();
        this.backpressureTimer = setInterval(() => this.checkBackpressure(), BACKPRESSURE_CHECK_MS);
        resolve(uWS.us_socket_local_port(socket));
      });
    });
  }

  get isDraining(): boolean {
    return this.draining;
  }

  /**
   * Graceful shutdown: stop accepting, let in-flight operations answer
   * (bounded by the grace period), close every client with 1012, stop rooms.
   */
  async shutdown(): Promise<void> {
    if (this.draining) return;
    this.draining = true;
    if (this.listenSocket) uWS.us_listen_socket_close(this.listenSocket);
    this.listenSocket = null;
    const deadline = Date.now() + this.options.config.shutdownGraceMs;
    while (this.inflight > 0 && Date.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 10));
    if (this.inflight > 0) this.options.logger.warn({ inflight: this.inflight }, 'shutdown grace period over with operations in flight');
    for (const ws of [...this.sockets]) ws.cork(() => ws.end(CLOSE_CODES.SERVER_RESTART.code, 'server restart'));
    if (this.backpressureTimer) clearInterval(this.backpressureTimer);
    await this.hub.stop();
  }

  // ---- WebSocket lifecycle -------------------------------------------------

  /**
   * The upgrade is completed synchronously, here, and the token is checked once the socket is
   * open. uWS v20.30 can close a socket that is upgraded asynchronously (res.cork + res.upgrade
   * after an await), right after the 101 and without a close frame: uNetworking/uWebSockets.js#1108,
   * fixed upstream in uWebSockets#1929 but not in this build. The synchronous path is not affected.
   * Nothing but `hello` is sent, and no frame is acted on, before the token has been checked.
   */
  private upgrade(res: uWS.HttpResponse, req: uWS.HttpRequest, context: uWS.us_socket_context_t): void {
    const { metrics, config } = this.options;
    if (this.draining) {
      metrics.upgrades.inc({ result: 'draining' });
      return void res.writeStatus('503 Service Unavailable').end('server restarting');
    }
    if (this.sockets.size >= config.limits.maxConnections) {
      metrics.upgrades.inc({ result: 'over_limit' });
      return void res.writeStatus('503 Service Unavailable').end('connection limit reached');
    }
    const { token, protocols } = extractToken({
      authorization: req.getHeader('authorization'),
      protocol: req.getHeader('sec-websocket-protocol'),
      query: req.getQuery() ?? '',
    });
    // Answer with our protocol when offered; a client that offered only a token entry gets none back.
    const protocol = protocols.includes(PROTOCOL_NAME) ? PROTOCOL_NAME : '';
    const data: SocketData = {
      id: this.nextSocketId++,
      verification: this.options.authenticator.verify(token),
      principal: null,
      checked: false,
      open: false,
      early: [],
      earlyDropped: 0,
      subs: new Map(),
      bucket: null,
      expiryTimer: null,
      pausedAt: null,
    };
    res.upgrade(data, req.getHeader('sec-websocket-key'), protocol, req.getHeader('sec-websocket-extensions'), context);
  }

  private open(ws: Socket): void {
    const data = ws.getUserData();
    data.open = true;
    this.sockets.add(ws);
    this.options.metrics.connections.set(this.sockets.size);
    void data.verification.then(
      (result) => this.authenticated(ws, result),
      (err: unknown) => {
        this.options.logger.error({ err }, 'token check failed');
        this.authenticated(ws, { ok: false, code: 'UNAUTHORIZED', reason: KEY_SET_UNAVAILABLE });
      },
    );
  }

  /** The token check has finished: greet the client and replay its early frames, or close. */
  private authenticated(ws: Socket, result: AuthResult): void {
    const data = ws.getUserData();
    if (!data.open) return; // the client went away while its token was checked
    data.checked = true;
    const { metrics, config } = this.options;
    if (this.draining) {
      metrics.upgrades.inc({ result: 'draining' });
      return void ws.cork(() => ws.end(CLOSE_CODES.SERVER_RESTART.code, 'server restart'));
    }
    metrics.upgrades.inc({ result: result.ok ? 'accepted' : 'unauthorized' });
    if (!result.ok) {
      // The close code tells a browser (which cannot see an HTTP status) not to retry.
      // A key set we cannot fetch is our outage, not a bad token: the client should come back later.
      data.early = [];
      if (result.reason === KEY_SET_UNAVAILABLE) ws.cork(() => ws.end(CLOSE_CODES.TRY_AGAIN_LATER.code, 'token keys unavailable; retry later'));
      else ws.cork(() => ws.end(CLOSE_CODES.UNAUTHORIZED.code, `unauthorized: ${result.reason}`.slice(0, 120)));
      return;
    }
    const principal = result.principal;
    data.principal = principal;
    data.bucket = new TokenBucket(config.limits.opsPerSecond, config.limits.opsBurst);
    if (principal.expiresAt !== null) {
      // setTimeout cannot wait longer than 2^31-1 ms; such tokens outlive any connection we care about
      const wait = Math.min(Math.max(0, principal.expiresAt - Date.now()), 2 ** 31 - 1);
      data.expiryTimer = setTimeout(() => {
        if (data.open) ws.cork(() => ws.end(CLOSE_CODES.TOKEN_EXPIRED.code, 'token expired'));
      }, wait);
    }
    const hello: ServerMessage = { t: 'hello', v: PROTOCOL_VERSION, sub: principal.sub, scopes: [...principal.scopes], limits: this.limits };
    const { early, earlyDropped } = data;
    data.early = [];
    data.earlyDropped = 0;
    ws.cork(() => {
      this.reply(ws, hello);
      for (const frame of early) {
        if (!data.open) return;
        if ('oversize' in frame) this.refuseOversize(ws, frame.oversize);
        else this.message(ws, frame.message, frame.isBinary);
      }
      if (earlyDropped > 0 && data.open) {
        metrics.rateLimited.inc(earlyDropped);
        this.reply(ws, errorMessage(null, 'RATE_LIMITED', `${earlyDropped} frames sent before hello were dropped: at most ${this.limits.opsBurst} frames or ${EARLY_BYTES_MAX} bytes are kept`));
      }
    });
  }

  private close(ws: Socket, code: number, message: ArrayBuffer): void {
    const data = ws.getUserData();
    this.options.metrics.closes.inc({ code: String(code) });
    // 1006: no close frame. uWS names why (a TCP FIN or reset, a frame too big, inactivity, a protocol error)
    if (code === ABNORMAL_CLOSURE) {
      const reason = Buffer.from(message).toString('utf8').slice(0, 60) || 'unknown';
      this.options.metrics.connectionsLost.inc({ reason });
      this.options.logger.debug({ socket: data.id, sub: data.principal?.sub, reason }, 'connection lost without a close frame');
    }
    if (!data.open) return;
    data.open = false;
    if (data.expiryTimer) clearTimeout(data.expiryTimer);
    for (const [eventId, sub] of data.subs) if (sub.joined) this.hub.leave(eventId);
    this.options.metrics.subscriptions.set(this.countSubscriptions(-data.subs.size));
    data.subs.clear();
    this.sockets.delete(ws);
    this.options.metrics.connections.set(this.sockets.size);
  }

  private message(ws: Socket, message: ArrayBuffer, isBinary: boolean): void {
    const data = ws.getUserData();
    if (!data.open) return;
    const { metrics } = this.options;
    if (!data.principal) {
      if (data.checked) return; // refused: the socket is closing
      // The token is still being checked: keep the frame (uWS reuses its buffer) and act on it after
      // hello, within bounds, so that a client cannot make an unauthenticated socket hold much memory.
      // Nothing is sent before hello.
      const oversize = message.byteLength > this.limits.maxFrameBytes;
      const held = data.early.reduce((bytes, frame) => bytes + ('oversize' in frame ? 0 : frame.message.byteLength), 0);
      if (data.early.length >= this.limits.opsBurst || (!oversize && held + message.byteLength > EARLY_BYTES_MAX)) data.earlyDropped++;
      else data.early.push(oversize ? { oversize: message.byteLength } : { message: message.slice(0), isBinary });
      return;
    }
    if (!isBinary) {
      metrics.badFrames.inc();
      data.bucket!.take();
      return this.reply(ws, errorMessage(null, 'BAD_REQUEST', 'frames must be binary MessagePack'));
    }
    if (message.byteLength > this.limits.maxFrameBytes) return this.refuseOversize(ws, message.byteLength);
    // decoding is synchronous: the ArrayBuffer is only valid during this callback
    const decoded = decodeRequest(message, this.limits.maxSeatsPerRequest);
    if (!decoded.ok) {
      metrics.badFrames.inc();
      data.bucket!.take(); // garbage counts against the rate limit too
      return this.reply(ws, errorMessage(decoded.rid, 'BAD_REQUEST', decoded.msg));
    }
    const request = decoded.request;
    if (!data.bucket!.take()) {
      metrics.rateLimited.inc();
      metrics.operations.inc({ op: request.t, result: 'RATE_LIMITED' });
      return this.reply(ws, errorMessage(request.rid, 'RATE_LIMITED', `at most ${this.limits.opsPerSecond} requests per second (burst ${this.limits.opsBurst})`));
    }
    switch (request.t) {
      case 'ping':
        metrics.operations.inc({ op: 'ping', result: 'ok' });
        return this.reply(ws, { t: 'pong', rid: request.rid });
      case 'sub':
        return void this.subscribe(ws, request).catch((err) => this.options.logger.error({ err }, 'subscribe failed'));
      case 'unsub':
        return this.unsubscribe(ws, request);
      default:
        return void this.operate(ws, request).catch((err) => this.options.logger.error({ err }, 'operation reply failed'));
    }
  }

  /** A frame over maxFrameBytes: not decoded, answered BAD_REQUEST, and counted against the rate limit. */
  private refuseOversize(ws: Socket, bytes: number): void {
    this.options.metrics.badFrames.inc();
    ws.getUserData().bucket!.take();
    this.reply(ws, errorMessage(null, 'BAD_REQUEST', `frame of ${bytes} bytes exceeds maxFrameBytes (${this.limits.maxFrameBytes})`));
  }

  private drain(ws: Socket): void {
    const data = ws.getUserData();
    if (data.pausedAt !== null && ws.getBufferedAmount() <= this.options.config.limits.slowConsumerBytes / 4) this.resumePaused(ws);
  }

  // ---- requests ------------------------------------------------------------

  private async operate(ws: Socket, request: SeatOperation): Promise<void> {
    const data = ws.getUserData();
    const { metrics, logger } = this.options;
    const started = performance.now();
    this.inflight++;
    let reply: ServerMessage;
    try {
      reply = await runOperation(this.options.store, data.principal!, request, this.options.durable);
      if (reply.t === 'err' && reply.code === 'NO_EVENT' && (await this.options.recoverEvent?.(request.ev))) {
        // Redis had lost the event and it has just been rebuilt from Postgres: the operation changed nothing, run it again
        reply = await runOperation(this.options.store, data.principal!, request, this.options.durable);
      }
    } catch (err) {
      logger.error({ err, op: request.t, ev: request.ev }, 'operation failed');
      reply = errorMessage(request.rid, 'INTERNAL', 'the operation failed on the server; it may be retried');
    } finally {
      this.inflight--;
    }
    metrics.operations.inc({ op: request.t, result: reply.t === 'err' ? reply.code : 'ok' });
    metrics.operationSeconds.observe({ op: request.t }, (performance.now() - started) / 1000);
    if (data.open) ws.cork(() => this.reply(ws, reply));
  }

  private async subscribe(ws: Socket, request: Extract<ClientRequest, { t: 'sub' }>): Promise<void> {
    const data = ws.getUserData();
    const { metrics } = this.options;
    const refuse = (code: ErrorCode, msg?: string) => {
      metrics.operations.inc({ op: 'sub', result: code });
      this.reply(ws, errorMessage(request.rid, code, msg));
    };
    if (!hasScope(data.principal!, 'seats:read')) return refuse('FORBIDDEN', 'sub needs the seats:read scope');
    const { ev } = request;
    let sub = data.subs.get(ev);
    if (!sub) {
      if (data.subs.size >= this.limits.maxSubscriptions) return refuse('BAD_REQUEST', `at most ${this.limits.maxSubscriptions} subscriptions per connection`);
      sub = { joined: false, resumeFrom: null };
      data.subs.set(ev, sub);
      metrics.subscriptions.set(this.countSubscriptions(1));
      this.inflight++;
      let room: Room | null;
      try {
        room = await withTimeout(this.hub.join(ev), ROOM_JOIN_TIMEOUT_MS, `joining the room of ${ev}`);
        if (!room && (await this.options.recoverEvent?.(ev))) {
          room = await withTimeout(this.hub.join(ev), ROOM_JOIN_TIMEOUT_MS, `joining the room of ${ev}`);
        }
      } catch (err) {
        this.options.logger.error({ err, ev }, 'room load failed');
        // a join that timed out still counts this subscriber in the room (a failed one dropped the room)
        if (err instanceof TimeoutError) this.hub.leave(ev);
        room = null;
        if (data.subs.get(ev) === sub) this.forget(data, ev);
        if (data.open) ws.cork(() => refuse('INTERNAL', 'the event could not be loaded; retry'));
        return;
      } finally {
        this.inflight--;
      }
      if (!room) {
        if (data.subs.get(ev) === sub) this.forget(data, ev);
        if (data.open) ws.cork(() => refuse('NO_EVENT'));
        return;
      }
      if (!data.open || data.subs.get(ev) !== sub) {
        this.hub.leave(ev); // closed or unsubscribed while the room loaded
        if (data.open) ws.cork(() => refuse('CONFLICT', 'unsubscribed before the subscription was complete'));
        return;
      }
      sub.joined = true;
    } else if (!sub.joined) {
      return refuse('BAD_REQUEST', 'a subscription to this event is already being set up');
    }
    const room = this.hub.room(ev)!;
    ws.cork(() => {
      // No await between the catch-up frame and the topic subscription: nothing published can fall between them.
      this.attach(ws, ev, sub, room, request.epoch, request.seq, 'sub');
      if (!data.open) return;
      metrics.operations.inc({ op: 'sub', result: 'ok' });
      this.reply(ws, { t: 'ok', rid: request.rid, ev, epoch: room.epoch, seq: room.seq });
    });
  }

  /** Sends what the socket needs to reach the room's seq, then subscribes it to the room's topic. */
  private attach(ws: Socket, ev: string, sub: Subscription, room: Room, epoch: number | undefined, seq: number | undefined, reason: string): void {
    const data = ws.getUserData();
    if (data.pausedAt !== null) {
      // a paused socket gets nothing now; the catch-up is worked out when it has drained
      sub.resumeFrom = { epoch: epoch ?? -1, seq: seq ?? -1 };
      return;
    }
    const catchUp = room.catchUp(epoch === -1 ? undefined : epoch, seq === -1 ? undefined : seq);
    const { metrics } = this.options;
    if (epoch !== undefined && epoch !== -1) metrics.resumes.inc({ served: catchUp.kind });
    if (catchUp.kind === 'snap') metrics.snapshotsSent.inc({ reason });
    if (catchUp.kind !== 'current' && !this.sendFrame(ws, catchUp.frame)) return;
    sub.resumeFrom = null;
    ws.subscribe(roomTopic(ev));
  }

  private unsubscribe(ws: Socket, request: Extract<ClientRequest, { t: 'unsub' }>): void {
    const data = ws.getUserData();
    const sub = data.subs.get(request.ev);
    if (sub) {
      this.forget(data, request.ev);
      if (sub.joined) {
        ws.unsubscribe(roomTopic(request.ev));
        this.hub.leave(request.ev);
      }
    }
    this.options.metrics.operations.inc({ op: 'unsub', result: 'ok' });
    this.reply(ws, { t: 'ok', rid: request.rid, ev: request.ev });
  }

  /** An event disappeared: its room told its subscribers (NO_EVENT); forget their subscriptions. */
  private dropSubscriptions(eventId: string): void {
    const topic = roomTopic(eventId);
    for (const ws of this.sockets) {
      const data = ws.getUserData();
      const sub = data.subs.get(eventId);
      if (sub) {
        this.forget(data, eventId);
        // a paused socket is off the topic and missed the room's NO_EVENT
        if (sub.resumeFrom) ws.cork(() => this.reply(ws, { t: 'err', rid: null, ev: eventId, code: 'NO_EVENT', msg: 'the event no longer exists' }));
        // uWS delivers published frames at the end of the loop iteration: leave the topic after that
        else setImmediate(() => data.open && !data.subs.has(eventId) && ws.unsubscribe(topic));
      }
    }
  }

  private forget(data: SocketData, eventId: string): void {
    if (data.subs.delete(eventId)) this.options.metrics.subscriptions.set(this.countSubscriptions(-1));
  }

  // ---- backpressure ----------------------------------------------------------

  /**
   * Slow consumers. Past SLOW_CONSUMER_BYTES of unsent data a socket is
   * paused: taken out of its rooms, remembering where it stopped. Once it
   * drains it is resynced (a diff from where it stopped, or a snapshot) and
   * put back. A socket still not drained after the grace period is closed
   * with 4008, and uWS's own hard cap (MAX_BACKPRESSURE_BYTES) bounds memory
   * in between.
   */
  private checkBackpressure(): void {
    const { slowConsumerBytes, slowConsumerGraceMs } = this.options.config.limits;
    const now = Date.now();
    for (const ws of this.sockets) {
      const data = ws.getUserData();
      const buffered = ws.getBufferedAmount();
      if (data.pausedAt === null) {
        if (buffered > slowConsumerBytes) this.pause(ws);
      } else if (buffered <= slowConsumerBytes / 4) {
        this.resumePaused(ws);
      } else if (now - data.pausedAt > slowConsumerGraceMs) {
        this.closeSlow(ws);
      }
    }
  }

  private pause(ws: Socket): void {
    const data = ws.getUserData();
    data.pausedAt = Date.now();
    this.options.metrics.slowConsumers.inc({ action: 'paused' });
    for (const [eventId, sub] of data.subs) {
      const room = sub.joined ? this.hub.room(eventId) : undefined;
      if (!room) continue;
      sub.resumeFrom = { epoch: room.epoch, seq: room.seq };
      ws.unsubscribe(roomTopic(eventId));
    }
  }

  private resumePaused(ws: Socket): void {
    const data = ws.getUserData();
    data.pausedAt = null;
    this.options.metrics.slowConsumers.inc({ action: 'resynced' });
    ws.cork(() => {
      for (const [eventId, sub] of data.subs) {
        const room = this.hub.room(eventId);
        if (!data.open) break;
        if (!room || !sub.resumeFrom) continue;
        this.attach(ws, eventId, sub, room, sub.resumeFrom.epoch, sub.resumeFrom.seq, 'resync');
      }
    });
  }

  private closeSlow(ws: Socket): void {
    const data = ws.getUserData();
    if (!data.open) return;
    this.options.metrics.slowConsumers.inc({ action: 'closed' });
    ws.cork(() => ws.end(CLOSE_CODES.SLOW_CONSUMER.code, 'slow consumer'));
  }

  // ---- sending -----------------------------------------------------------------

  /** Encodes and sends one message (a reply, or the hello). */
  private reply(ws: Socket, message: ServerMessage): void {
    this.sendFrame(ws, encodeMessage(message));
  }

  /** Sends one frame; a frame uWS dropped (hard backpressure cap) leaves the client incomplete, so it is closed. */
  private sendFrame(ws: Socket, frame: Uint8Array): boolean {
    // a socket closed earlier in this same step (a dropped send, a slow-consumer close) must not be touched
    if (!ws.getUserData().open) return false;
    if (ws.send(frame, true) === SEND_DROPPED) {
      this.closeSlow(ws);
      return false;
    }
    return true;
  }

  /** Keeps the subscriptions gauge; `delta` is +1/-1 per subscription taken or dropped. */
  private countSubscriptions(delta: number): number {
    this.subscriptionCount += delta;
    return this.subscriptionCount;
  }
}
