/**
 * SeatMapClient: one connection to the gateway (protocol v1, docs/protocol.md)
 * that keeps a local copy of the seats of every watched event, repairs gaps,
 * reconnects with backoff and resumes, and runs seat operations as promises.
 * The watched events and their copies live in watches.ts, the operations in
 * operations.ts; this module owns the connection and routes frames. It stays
 * past 400 lines because it is the one class an SDK user meets: most of it is
 * the documented public methods.
 * docs/client.md is its user guide.
 *
 * Isomorphic: no Node built-ins, so it bundles for browsers as it is.
 */
import {
  EVENT_ID,
  PROTOCOL_VERSION,
  decodeServerMessage,
  encodeMessage,
  type BestAvailable,
  type ClientRequest,
  type ErrMessage,
  type GaPlaces,
  type HelloMessage,
  type ServerMessage,
} from '../protocol/index.js';
import { Backoff, DEFAULT_BACKOFF } from './backoff.js';
import { closeAction } from './close-codes.js';
import { Emitter } from './emitter.js';
import type { AreaCounts, SeatCategories, SeatCounts } from './event-seats.js';
import { HoldTracker, type HoldInfo } from './holds.js';
import { bookFreeSeats, bookHold, checkoutHold, extendHold, holdBestSeats, holdSeats, releaseSeats, swapSeats, type OperationContext } from './operations.js';
import { PendingRequests, RequestError, type Reply } from './requests.js';
import { EventWatches } from './watches.js';
import { WS_OPEN, abandonSocket, openSocket, resolveWebSocket, type WebSocketConstructor, type WebSocketLike } from './transport.js';
import type {
  BookResult,
  CheckoutResult,
  ClientEvents,
  ClientStats,
  ConnectionChange,
  ConnectionState,
  HoldBestResult,
  HoldResult,
  RequestBody,
  SeatMapClientOptions,
  StopReason,
} from './types.js';

const DEFAULTS = {
  stableAfterMs: 10_000,
  requestTimeoutMs: 10_000,
  bookTimeoutMs: 15_000,
  helloTimeoutMs: 10_000,
  pingIntervalMs: 30_000,
  refreshBeforeMs: 60_000,
};
/** a failed in-band token refresh is tried again this soon (while the old token holds) */
const REFRESH_RETRY_MS = 5000;
/** setTimeout cannot wait longer */
const MAX_TIMER_MS = 2 ** 31 - 1;
/** close code for connections the client drops itself (no hello, no pong) */
const CLIENT_DROP_CODE = 4000;

export class SeatMapClient extends Emitter<ClientEvents> {
  readonly stats: ClientStats = { attempts: 0, opens: 0, snapshots: 0, diffs: 0, gaps: 0, epochMismatches: 0 };
  private connectionState: ConnectionState = 'idle';
  private stopReason: StopReason | null = null;
  private hello: HelloMessage | null = null;
  /** undefined: ask getToken (or go anonymous without one) before the next connection */
  private token: string | null | undefined;
  private socket: WebSocketLike | null = null;
  /** bumped whenever connecting starts or stops, so a stale async step can tell it is stale */
  private generation = 0;
  private readonly watches: EventWatches;
  private readonly pending = new PendingRequests();
  private readonly backoff: Backoff;
  private readonly holdTracker: HoldTracker;
  private readonly operations: OperationContext;
  private readonly openWaiters = new Set<{ resolve(hello: HelloMessage): void; reject(error: Error): void }>();
  private reconnectTimer: ReturnType<typeof setTimeout> | null = null;
  private helloTimer: ReturnType<typeof setTimeout> | null = null;
  private stableTimer: ReturnType<typeof setTimeout> | null = null;
  private pingTimer: ReturnType<typeof setInterval> | null = null;
  private refreshTimer: ReturnType<typeof setTimeout> | null = null;
  private readonly WebSocketImpl: WebSocketConstructor;
  private readonly random: () => number;
  private readonly settings: typeof DEFAULTS;

  constructor(private readonly options: SeatMapClientOptions) {
    super();
    // fail at once on a malformed URL rather than retrying it forever
    const url = new URL(options.url);
    if (url.protocol !== 'ws:' && url.protocol !== 'wss:') throw new TypeError(`url must be ws:// or wss://, got ${options.url}`);
    this.WebSocketImpl = resolveWebSocket(options.WebSocket);
    this.token = options.token === undefined && options.getToken ? undefined : (options.token ?? null);
    this.random = options.random ?? Math.random;
    this.backoff = new Backoff({ ...DEFAULT_BACKOFF, ...options.backoff }, this.random);
    this.settings = {
      stableAfterMs: options.stableAfterMs ?? DEFAULTS.stableAfterMs,
      requestTimeoutMs: options.requestTimeoutMs ?? DEFAULTS.requestTimeoutMs,
      bookTimeoutMs: options.bookTimeoutMs ?? DEFAULTS.bookTimeoutMs,
      helloTimeoutMs: options.helloTimeoutMs ?? DEFAULTS.helloTimeoutMs,
      pingIntervalMs: options.pingIntervalMs ?? DEFAULTS.pingIntervalMs,
      refreshBeforeMs: options.refreshBeforeMs ?? DEFAULTS.refreshBeforeMs,
    };
    this.holdTracker = new HoldTracker({
      changed: () => this.emit('holds', { holds: this.holdTracker.list() }),
      expired: (hold) => this.emit('hold-expired', hold),
      ...(options.now && { now: options.now }),
    });
    this.watches = new EventWatches({
      request: (body) => this.request(body),
      isOpen: () => this.connectionState === 'open',
      emit: (name, payload) => this.emit(name, payload),
      holds: this.holdTracker,
      stats: this.stats,
      random: this.random,
    });
    this.operations = {
      request: (body, timeoutMs) => this.request(body, timeoutMs),
      holds: this.holdTracker,
      epochOf: (ev) => this.watches.epochOf(ev),
      bookTimeoutMs: this.settings.bookTimeoutMs,
    };
  }

  // ---- connection ------------------------------------------------------------

  get state(): ConnectionState {
    return this.connectionState;
  }

  /** Why the client stopped, while its state is 'closed'. */
  get stopped(): StopReason | null {
    return this.stopReason;
  }

  /** The last hello: the subject (`sub`, null when anonymous), scopes and limits. */
  get session(): HelloMessage | null {
    return this.hello;
  }

  /** Starts connecting (and reconnecting until close()); resolves on the next hello, rejects when the client stops first. */
  connect(): Promise<HelloMessage> {
    if (this.connectionState === 'idle' || this.connectionState === 'closed') {
      this.stopReason = null;
      void this.dial();
    }
    return this.whenOpen();
  }

  /** The token for the next connection (the current one keeps its own). */
  setToken(token: string | null): void {
    this.token = token;
  }

  /** Closes the connection and stops reconnecting. Watched events and hold tokens are kept for a later connect(). */
  close(): void {
    this.stop('closed-by-user');
  }

  /** Resolves on hello (at once when open); rejects when the client stops, or after `timeoutMs`. */
  whenOpen(timeoutMs?: number): Promise<HelloMessage> {
    if (this.connectionState === 'open' && this.hello) return Promise.resolve(this.hello);
    if (this.connectionState === 'idle' || this.connectionState === 'closed') {
      return Promise.reject(new RequestError('CLOSED', `not connected (${this.stopReason ?? 'connect() was not called'})`));
    }
    return new Promise((resolve, reject) => {
      let timer: ReturnType<typeof setTimeout> | undefined;
      const waiter = {
        resolve: (hello: HelloMessage) => (clearTimeout(timer), resolve(hello)),
        reject: (error: Error) => (clearTimeout(timer), reject(error)),
      };
      if (timeoutMs !== undefined) {
        timer = setTimeout(() => {
          this.openWaiters.delete(waiter);
          reject(new RequestError('TIMEOUT', `not connected within ${timeoutMs} ms`));
        }, timeoutMs);
      }
      this.openWaiters.add(waiter);
    });
  }

  private async dial(): Promise<void> {
    const generation = ++this.generation;
    this.clearTimer('reconnectTimer');
    this.setState({ state: 'connecting', attempt: this.backoff.attempt });
    if (this.token === undefined) {
      try {
        this.token = this.options.getToken ? await this.options.getToken() : null;
      } catch (err) {
        if (generation !== this.generation) return;
        this.emit('error', { error: err instanceof Error ? err : new Error(String(err)) });
        return this.scheduleReconnect(undefined, 'getToken failed');
      }
      if (generation !== this.generation) return;
    }
    this.stats.attempts++;
    let socket: WebSocketLike;
    try {
      socket = openSocket(this.WebSocketImpl, this.options.url, this.token);
    } catch (err) {
      // thrown before any network traffic (a token that cannot be a subprotocol entry, a page that
      // may not open ws:// from https): trying again cannot help
      this.emit('error', { error: err instanceof Error ? err : new Error(String(err)) });
      return this.stop('cannot-connect');
    }
    this.socket = socket;
    socket.onmessage = (event) => this.onFrame(event.data);
    socket.onclose = (event) => this.onClosed(socket, event.code, event.reason);
    socket.onerror = () => {}; // a close event follows every error; that is where it is handled
    this.helloTimer = setTimeout(() => this.drop(socket, 'no hello'), this.settings.helloTimeoutMs);
  }

  /** Gives up on a connection that looks dead, without waiting for a close handshake that may never come. */
  private drop(socket: WebSocketLike, reason: string): void {
    if (socket !== this.socket) return;
    abandonSocket(socket, CLIENT_DROP_CODE, reason);
    this.onClosed(socket, 1006, reason);
  }

  private onClosed(socket: WebSocketLike, code: number, reason: string): void {
    if (socket !== this.socket) return;
    this.socket = null;
    this.endConnection();
    switch (closeAction(code)) {
      case 'stop-unauthorized':
        this.emit('auth-failed', { code, reason });
        return this.stop('unauthorized', code, reason);
      case 'stop-too-many':
        return this.stop('too-many-connections', code, reason);
      case 'refresh-token':
        this.emit('token-expired', { refreshing: this.options.getToken !== undefined });
        if (!this.options.getToken) return this.stop('token-expired', code, reason);
        this.token = undefined; // the next dial asks getToken
        return this.scheduleReconnect(code, reason);
      case 'reconnect-fresh':
        this.backoff.reset();
        return this.scheduleReconnect(code, reason);
      case 'reconnect':
        return this.scheduleReconnect(code, reason);
    }
  }

  private scheduleReconnect(code: number | undefined, reason: string): void {
    const { delayMs, attempt, boundMs } = this.backoff.next();
    this.setState({ state: 'reconnecting', attempt, delayMs, boundMs, ...(code !== undefined && { code }), reason });
    this.reconnectTimer = setTimeout(() => void this.dial(), delayMs);
  }

  /** Everything tied to one connection ends: timers, requests in flight, subscriptions in flight. */
  private endConnection(): void {
    this.clearTimer('helloTimer');
    this.clearTimer('stableTimer');
    if (this.pingTimer) clearInterval(this.pingTimer);
    this.pingTimer = null;
    this.clearTimer('refreshTimer');
    this.hello = null;
    this.pending.failAll('DISCONNECTED', 'the connection closed before the reply (the outcome is unknown)');
    this.watches.connectionEnded();
  }

  private stop(reason: StopReason, code?: number, closeReason?: string): void {
    this.generation++;
    this.stopReason = reason;
    this.clearTimer('reconnectTimer');
    this.watches.stop();
    const socket = this.socket;
    this.socket = null;
    if (socket) abandonSocket(socket, 1000, 'client closed');
    this.endConnection();
    this.pending.failAll('CLOSED', `the client stopped (${reason})`);
    for (const waiter of [...this.openWaiters]) waiter.reject(new RequestError('CLOSED', `the client stopped (${reason})`));
    this.openWaiters.clear();
    this.setState({
      state: 'closed',
      attempt: this.backoff.attempt,
      stopped: reason,
      ...(code !== undefined && { code }),
      ...(closeReason !== undefined && { reason: closeReason }),
    });
  }

  private onHello(hello: HelloMessage): void {
    this.clearTimer('helloTimer');
    if (hello.v !== PROTOCOL_VERSION) {
      this.emit('error', { error: new Error(`the server speaks protocol v${hello.v}, this client v${PROTOCOL_VERSION}`) });
      return this.stop('protocol-version');
    }
    this.hello = hello;
    this.stats.opens++;
    this.stableTimer = setTimeout(() => this.backoff.reset(), this.settings.stableAfterMs);
    this.setState({ state: 'open', attempt: this.backoff.attempt });
    this.emit('hello', hello);
    for (const waiter of [...this.openWaiters]) waiter.resolve(hello);
    this.openWaiters.clear();
    this.watches.connectionOpened();
    if (this.settings.pingIntervalMs > 0) this.pingTimer = setInterval(() => this.checkAlive(), this.settings.pingIntervalMs);
    this.scheduleRefresh(hello.exp ?? null);
  }

  /** Arms the in-band token refresh: `refreshBeforeMs` before `exp`, ask getToken and send `auth`. */
  private scheduleRefresh(exp: number | null): void {
    this.clearTimer('refreshTimer');
    const before = this.settings.refreshBeforeMs;
    if (exp === null || !this.options.getToken || before <= 0) return;
    const wait = Math.min(Math.max(0, exp - before - Date.now()), MAX_TIMER_MS);
    this.refreshTimer = setTimeout(() => void this.refreshToken(exp), wait);
  }

  private async refreshToken(exp: number): Promise<void> {
    const generation = this.generation;
    try {
      const token = await this.options.getToken!();
      if (generation !== this.generation || this.connectionState !== 'open') return;
      if (!token) throw new Error('getToken gave no token to refresh with');
      const reply = (await this.request({ t: 'auth', token })) as { exp?: unknown };
      this.token = token; // the next connection starts with it too
      const next = typeof reply.exp === 'number' ? reply.exp : null;
      this.emit('token-refreshed', { exp: next });
      this.scheduleRefresh(next);
    } catch (err) {
      if (generation !== this.generation) return;
      this.emit('error', { error: err instanceof Error ? err : new Error(String(err)) });
      // try again shortly while the old token still holds; past its exp the server closes with 4002 and the reconnect fetches one
      if (Date.now() < exp) this.refreshTimer = setTimeout(() => void this.refreshToken(exp), Math.min(REFRESH_RETRY_MS, Math.max(0, exp - Date.now())));
    }
  }

  private checkAlive(): void {
    const socket = this.socket;
    if (!socket) return;
    this.request({ t: 'ping' }, Math.min(this.settings.requestTimeoutMs, this.settings.pingIntervalMs)).catch((err: RequestError) => {
      if (err.code === 'TIMEOUT') this.drop(socket, 'no pong');
    });
  }

  private setState(change: ConnectionChange): void {
    this.connectionState = change.state;
    this.emit('connection', change);
  }

  private clearTimer(name: 'reconnectTimer' | 'helloTimer' | 'stableTimer' | 'refreshTimer'): void {
    const timer = this[name];
    if (timer) clearTimeout(timer);
    this[name] = null;
  }

  // ---- frames ----------------------------------------------------------------

  private onFrame(data: unknown): void {
    // the server only sends binary frames; anything else is not protocol v1
    if (!(data instanceof ArrayBuffer) && !ArrayBuffer.isView(data)) return;
    let message: ServerMessage;
    try {
      message = decodeServerMessage(data instanceof ArrayBuffer ? data : new Uint8Array(data.buffer, data.byteOffset, data.byteLength));
    } catch (err) {
      this.emit('error', { error: err instanceof Error ? err : new Error(String(err)) });
      return;
    }
    if (this.options.frameFilter && !this.options.frameFilter(message)) return;
    switch (message.t) {
      case 'hello':
        return this.onHello(message);
      case 'snap':
        return this.watches.onSnap(message);
      case 'diff':
        return this.watches.onDiff(message);
      case 'chan':
        return this.watches.onChan(message);
      case 'ok':
      case 'pong':
        this.pending.settle(message);
        return;
      case 'err':
        return this.onErr(message);
      case 'tok':
        return this.holdTracker.pushed(message.ev, message.tok, message.seats, message.exp);
      case 'tokend':
        this.holdTracker.forget(message.tok);
        this.emit('hold-ended', { ev: message.ev, tok: message.tok, reason: message.reason });
        return;
      case 'qpos':
      case 'admit':
      case 'qclosed':
      case 'qopen':
        this.emit('queue', message);
        return;
      default:
        return; // unknown message types are ignored (forward compatibility)
    }
  }

  private onErr(err: ErrMessage): void {
    if (err.rid !== null) {
      this.pending.settle(err);
    } else if (err.ev !== undefined) {
      // rid null with ev: the event was deleted under our subscription
      if (err.code === 'NO_EVENT') this.watches.eventGone(err.ev);
      else this.emit('error', { ev: err.ev, error: new RequestError(err.code, err.msg) });
    } else {
      this.emit('error', { error: new RequestError(err.code, err.msg) });
    }
  }

  // ---- subscriptions ---------------------------------------------------------

  /**
   * Starts keeping a copy of the event's seats (now, or as soon as the
   * connection is open, and again after every reconnect). `categories` makes
   * counts per category available.
   */
  watch(ev: string, categories?: SeatCategories): void {
    if (!EVENT_ID.test(ev)) throw new TypeError(`invalid event id ${JSON.stringify(ev)}`);
    this.watches.watch(ev, categories);
  }

  /** Stops watching; the local copy is dropped. */
  unwatch(ev: string): void {
    if (!this.watches.unwatch(ev)) return;
    if (this.connectionState === 'open') this.request({ t: 'unsub', ev }).catch(() => {});
  }

  /**
   * The event's seat states (0 free, 1 held, 2 booked, 3 blocked, 4 reserved for a sales channel this
   * client is no member of: a member's channel seats read 0), or null before its first snapshot. Do not modify.
   */
  seats(ev: string): Uint8Array | null {
    return this.watches.seats(ev);
  }

  /** Where the local copy of the event is: its epoch and seq. */
  position(ev: string): { epoch: number; seq: number } | null {
    return this.watches.position(ev);
  }

  counts(ev: string): SeatCounts | null {
    return this.watches.counts(ev);
  }

  /**
   * The counters of the event's general-admission areas (places free, held,
   * booked), ascending by area, as of the local copy's seq; empty for an
   * event without areas, null before its first snapshot. The `areas` event
   * says when they change.
   */
  areas(ev: string): AreaCounts[] | null {
    return this.watches.areas(ev);
  }

  // ---- requests --------------------------------------------------------------

  /**
   * Sends a request and resolves with its `ok`/`pong`; rejects with a
   * RequestError carrying the server's code, or TIMEOUT / DISCONNECTED /
   * CLOSED. While the client is reconnecting, the request waits for the
   * connection (within the same timeout).
   */
  async request(body: RequestBody, timeoutMs = this.settings.requestTimeoutMs): Promise<Reply> {
    const started = Date.now();
    await this.whenOpen(timeoutMs);
    const socket = this.socket;
    if (!socket || socket.readyState !== WS_OPEN) throw new RequestError('DISCONNECTED', `${body.t}: the connection closed`);
    const request = { ...body, rid: this.pending.newRid() } as ClientRequest;
    const reply = this.pending.track(request, Math.max(1, timeoutMs - (Date.now() - started)));
    socket.send(encodeMessage(request));
    return reply;
  }

  /**
   * Holds seats, and general-admission places with `ga: [[area, qty], …]`
   * (the seats may then be empty), all or nothing: in a new hold token, or
   * added to `tok`. An area without room rejects with UNAVAILABLE, reason
   * `ga` (`err.details.areas`, `err.details.left`).
   */
  hold(ev: string, seats: readonly number[], options: { tok?: string; ga?: GaPlaces; timeoutMs?: number } = {}): Promise<HoldResult> {
    return holdSeats(this.operations, ev, seats, options);
  }

  /**
   * Best available: the server picks `n` seats (of `categories`, in
   * `sections`, adjacent in one row unless `together` is false) and holds
   * them, in a new token or added to `tok`. Refused with NO_BLOCK
   * (`err.details.largest`: the biggest block that would fit) when none fit.
   */
  holdBest(ev: string, best: BestAvailable, options: { tok?: string; timeoutMs?: number } = {}): Promise<HoldBestResult> {
    return holdBestSeats(this.operations, ev, best, options);
  }

  /** Releases `release` of a token's seats and holds `hold` in one step, all or nothing; limits count the result. */
  swap(ev: string, tok: string, change: { release: readonly number[]; hold: readonly number[] }, options: { timeoutMs?: number } = {}): Promise<{ expiresAt: number; seq: number }> {
    return swapSeats(this.operations, ev, tok, change, options);
  }

  /**
   * Frees the given seats and places (`ga`) of a hold token, or, with
   * neither, all of them; with `ga` and no seats, no seat is freed. The
   * token stays valid until it expires.
   */
  release(ev: string, tok: string, seats?: readonly number[], options: { ga?: GaPlaces; timeoutMs?: number } = {}): Promise<{ released: number; seq: number }> {
    return releaseSeats(this.operations, ev, tok, seats, options);
  }

  /**
   * Slides a token's expiry forward (never past its maximum lifetime); with
   * `ms`, sets it to now + ms, sooner or later; `ms: 0` releases every seat
   * of the token and deletes it.
   */
  extend(ev: string, tok: string, options: { ms?: number; timeoutMs?: number } = {}): Promise<{ expiresAt: number; seq: number }> {
    return extendHold(this.operations, ev, tok, options);
  }

  /**
   * Books every seat of a hold token; resolves once the server has committed
   * the booking. Idempotent on `key` (a fresh one by default): when the
   * connection drops before the reply, or the server answers PENDING (not
   * committed yet), the same booking is asked for again, within the timeout
   * (default 15 s). A PENDING that outlasts it rejects with code PENDING:
   * call book() again later with the same `key` to learn the outcome.
   */
  book(ev: string, tok: string, options: { key?: string; timeoutMs?: number } = {}): Promise<BookResult> {
    return bookHold(this.operations, ev, tok, options);
  }

  /**
   * Box office (a token with the `seats:box-office` scope): books free seats
   * directly, without a hold, and general-admission places with `ga` (the
   * seats may then be empty), all or nothing; resolves once the server has
   * committed the booking. Idempotent on `key` (a fresh one by default) with
   * the same seats and places, retried like book(); the key with other seats
   * or places rejects with CONFLICT, a seat that is not free with
   * UNAVAILABLE (`seats` names them), an area without room with UNAVAILABLE
   * reason `ga`; nothing was booked then.
   */
  bookSeats(ev: string, seats: readonly number[], options: { ga?: GaPlaces; key?: string; timeoutMs?: number } = {}): Promise<BookResult> {
    return bookFreeSeats(this.operations, ev, seats, options);
  }

  /**
   * Checks a hold token out: its seats become a booking awaiting payment
   * (`pending_payment`) until `payBy`, committed like `book` and retried the
   * same way (idempotent on `key`). The payment provider then confirms or
   * fails it with the gateway; unpaid at `payBy`, it expires and the seats
   * are freed.
   */
  checkout(ev: string, tok: string, options: { key?: string; timeoutMs?: number } = {}): Promise<CheckoutResult> {
    return checkoutHold(this.operations, ev, tok, options);
  }

  /**
   * Joins the event's waiting room, or asks where the subject stands
   * (docs/onsale.md): resolves with the `queue` reply (`state`, `pos`,
   * `ahead`, `etaMs`, `until`); the news that follows comes as `queue` events.
   */
  joinQueue(ev: string, options: { timeoutMs?: number } = {}): Promise<Reply> {
    return this.request({ t: 'queue', ev }, options.timeoutMs);
  }

  /** Round trip of a `ping`, in ms. */
  async ping(): Promise<number> {
    const started = Date.now();
    await this.request({ t: 'ping' });
    return Date.now() - started;
  }

  /** The client's hold tokens (of one event, or all) with their seats and expiry. */
  holds(ev?: string): HoldInfo[] {
    return this.holdTracker.list(ev);
  }

  /** Seats of `ev` the client holds itself. */
  mySeats(ev: string): Set<number> {
    return this.holdTracker.mySeats(ev);
  }

  /** General-admission places of `ev` the client holds itself: area → quantity. */
  myPlaces(ev: string): Map<number, number> {
    return this.holdTracker.myPlaces(ev);
  }

  /** The client's unexpired hold token of `ev` that lives longest, to add seats to. */
  holdToken(ev: string): string | undefined {
    return this.holdTracker.tokenFor(ev);
  }
}
