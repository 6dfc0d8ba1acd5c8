/**
 * The client's public types: connection states, events, options and results.
 */
import type { AdmitMessage, ClientRequest, HelloMessage, QclosedMessage, QopenMessage, QposMessage, ServerMessage } from '../protocol/index.js';
import type { BackoffPolicy } from './backoff.js';
import type { AreaCounts, SeatChange, SeatCounts } from './event-seats.js';
import type { HoldInfo } from './holds.js';
import type { WebSocketConstructor } from './transport.js';

export type ConnectionState =
  /** connect() not called yet */
  | 'idle'
  /** a WebSocket is being opened (or a token fetched for it); no hello yet */
  | 'connecting'
  /** hello received: requests flow */
  | 'open'
  /** waiting out a backoff delay before the next attempt */
  | 'reconnecting'
  /** stopped: by close(), or because reconnecting cannot help (see `stopped`) */
  | 'closed';

export type StopReason =
  | 'closed-by-user'
  /** 4001: the token was refused; call setToken() and connect() again */
  | 'unauthorized'
  /** 4002 without a getToken to fetch a fresh token */
  | 'token-expired'
  /** the server speaks another protocol version */
  | 'protocol-version'
  /** the WebSocket could not even be created (see the `error` event) */
  | 'cannot-connect'
  /** 4009: the subject has every connection it may have open; close one (another tab) and connect() again */
  | 'too-many-connections';

export interface ConnectionChange {
  state: ConnectionState;
  /** the backoff attempt (0-based) this state belongs to */
  attempt: number;
  /** reconnecting: ms until the next attempt, drawn from [0, boundMs) */
  delayMs?: number;
  boundMs?: number;
  /** the close code and reason that led here, if a connection closed */
  code?: number;
  reason?: string;
  /** closed: why */
  stopped?: StopReason;
}

export type ResyncReason = 'gap' | 'epoch' | 'retry';

export interface ClientEvents {
  connection: ConnectionChange;
  hello: HelloMessage;
  /** an event's seats were replaced wholesale (first snapshot, new epoch, or a resume past the server's window): redraw all */
  snapshot: { ev: string; epoch: number; seq: number; status: Uint8Array };
  /** seats that changed state through a diff */
  seats: { ev: string; epoch: number; seq: number; changes: SeatChange[] };
  /** the sales-channel overlay arrived: the token's keys that are channels of the event; their reserved seats now read as free */
  channels: { ev: string; keys: string[] };
  /** counts per state after every snapshot or diff that changed something */
  counts: { ev: string; counts: SeatCounts };
  /**
   * the general-admission areas' counters after a snapshot (every area) or a
   * diff that changed some: `areas` all of them now, `changed` those that moved
   */
  areas: { ev: string; seq: number; areas: AreaCounts[]; changed: AreaCounts[] };
  /** a gap or another epoch was detected: a `sub` was sent to repair the copy */
  resync: { ev: string; reason: ResyncReason; epoch: number; seq: number };
  /** the event does not exist (any more); it is no longer watched */
  'event-gone': { ev: string };
  /** the client's own holds changed */
  holds: { holds: HoldInfo[] };
  /** one of the client's hold tokens passed its expiry */
  'hold-expired': HoldInfo;
  /** the server ended one of the holder's tokens (`tokend`, on any of its connections): expired, released or booked */
  'hold-ended': { ev: string; tok: string; reason: 'expired' | 'released' | 'booked' };
  /** waiting-room news after joinQueue(): qpos, admit, qclosed, qopen (docs/onsale.md) */
  queue: QposMessage | AdmitMessage | QclosedMessage | QopenMessage;
  /** the token was replaced on the open connection (`auth`) before it expired */
  'token-refreshed': { exp: number | null };
  /** the server closed with 4002; `refreshing`: getToken is being asked for a fresh token */
  'token-expired': { refreshing: boolean };
  /** the server closed with 4001: no reconnect until setToken() + connect() */
  'auth-failed': { code: number; reason: string };
  /** something went wrong that the client handles itself (a refused sub it will retry, a bad frame, a failing getToken) */
  error: { ev?: string; error: Error };
}

export interface SeatMapClientOptions {
  /** the gateway's WebSocket endpoint, e.g. `wss://seats.example.com/ws` */
  url: string;
  /** the JWT; null connects as an anonymous viewer (when the server allows it) */
  token?: string | null;
  /**
   * Fetches a token: before the first connection when `token` is not given,
   * and after the server closed with 4002 (token expired). Resolve to null to
   * connect without one. Without it, a 4002 stops the client.
   */
  getToken?: () => string | null | Promise<string | null>;
  /**
   * With getToken: this long before the connection's token expires (hello's
   * `exp`), a fresh one is fetched and sent in band (`auth`), so the
   * connection, its subscriptions and its waiting-room place are kept.
   * Default 60 s; 0 turns it off (a 4002 and a reconnect instead).
   */
  refreshBeforeMs?: number;
  /** a WebSocket constructor; default: the global WebSocket (browsers, Node ≥ 22) */
  WebSocket?: WebSocketConstructor;
  /** reconnect delays: random(0, min(capMs, baseMs × 2^attempt)); default base 500 ms, cap 30 s */
  backoff?: Partial<BackoffPolicy>;
  /** the jitter's random source, [0, 1); default Math.random */
  random?: () => number;
  /** a connection up this long resets the backoff attempt to 0; default 10 s */
  stableAfterMs?: number;
  /** timeout of sub, hold, release, extend and ping; default 10 s */
  requestTimeoutMs?: number;
  /** timeout of book, which waits for the booking to be committed; default 15 s */
  bookTimeoutMs?: number;
  /** a connection without hello this long after opening is dropped and retried; default 10 s */
  helloTimeoutMs?: number;
  /** sends a `ping` this often to notice a dead connection (browsers cannot see control frames); 0 turns it off; default 30 s */
  pingIntervalMs?: number;
  /** sees every decoded server message first; returning false drops it (diagnostics, tests) */
  frameFilter?: (message: ServerMessage) => boolean;
  /** the clock hold expiry is checked against; default Date.now */
  now?: () => number;
}

export interface HoldResult {
  tok: string;
  /** ms since the Unix epoch, server clock */
  expiresAt: number;
  seq: number;
}

/** A best-available hold's reply: the seats the server picked and held. */
export interface HoldBestResult extends HoldResult {
  seats: number[];
  /** whether they are adjacent in one row */
  together: boolean;
}

/** A booking's state (docs/bookings.md). */
export type BookingState = 'pending_payment' | 'confirmed' | 'checked_in' | 'cancelled' | 'failed' | 'expired';

export interface BookResult {
  id: string;
  /** the booking reference, e.g. `SM-7K2M9QXD`, as the admin API and a support desk use it, when the server sends one */
  reference?: string;
  /** @deprecated the old name of `reference` (the same value) */
  ref?: string;
  /** `confirmed` for a new booking; for a replay, its state now (e.g. `cancelled`) */
  state?: BookingState;
  /** a booking awaiting payment: when it expires unpaid (ms since the Unix epoch, server clock) */
  payBy?: number;
  seats: number[];
  /** general-admission places booked, `[area, qty]` ascending by area (empty for none) */
  ga: [number, number][];
  seq: number;
  replayed: boolean;
  /** the idempotency key used: repeat a book with it to get the same booking */
  key: string;
}

export interface CheckoutResult extends BookResult {
  /** `pending_payment` for a new checkout; for a replay, its state now (`confirmed` once paid, `failed`, `expired`, …) */
  state: BookingState;
}

/** Counters for diagnostics and tests. */
export interface ClientStats {
  /** WebSockets opened */
  attempts: number;
  /** hellos received */
  opens: number;
  snapshots: number;
  diffs: number;
  /** diffs that started past the copy's seq */
  gaps: number;
  /** diffs of another epoch */
  epochMismatches: number;
}

type WithoutRid<T> = T extends unknown ? Omit<T, 'rid'> : never;
/** A request as the caller writes it: the client adds the rid. */
export type RequestBody = WithoutRid<ClientRequest>;
