/**
 * Protocol v1 between seat-map clients and the gateway: binary WebSocket
 * frames, one MessagePack map each. docs/protocol.md is the normative text;
 * this module is its executable form, shared by the gateway, the client SDK
 * and the load tests (it must stay free of Node-only APIs).
 */
import type { ErrorCode } from '../errors.js';
import { EVENT_ID } from '../ids.js';
import { SAFE_TEXT_RULE, isSafeText } from '../text.js';

export const PROTOCOL_VERSION = 1;

/** The subprotocol every client offers; the server selects it in its upgrade response. */
export const PROTOCOL_NAME = 'seatmap.v1';
/** A token may travel as a subprotocol entry `bearer.<jwt>` (browsers cannot set headers on WebSockets). */
export const TOKEN_PROTOCOL_PREFIX = 'bearer.';

/** A request id: echoed in the reply so a client can match it. */
export type RequestId = number | string;

export type ClientRequest =
  | { t: 'sub'; rid: RequestId; ev: string; epoch?: number; seq?: number }
  | { t: 'unsub'; rid: RequestId; ev: string }
  | { t: 'ping'; rid: RequestId }
  | { t: 'hold'; rid: RequestId; ev: string; seats: number[]; ga?: GaPlaces; tok?: string }
  | { t: 'hold'; rid: RequestId; ev: string; best: BestAvailable; tok?: string }
  | { t: 'release'; rid: RequestId; ev: string; tok: string; seats?: number[]; ga?: GaPlaces }
  | { t: 'swap'; rid: RequestId; ev: string; tok: string; release: number[]; hold: number[] }
  | { t: 'extend'; rid: RequestId; ev: string; tok: string; ms?: number }
  | { t: 'book'; rid: RequestId; ev: string; tok: string; key: string }
  /** the box office (scope seats:box-office): free seats and general-admission places booked directly, without a hold */
  | { t: 'book'; rid: RequestId; ev: string; seats: number[]; ga?: GaPlaces; key: string }
  | { t: 'checkout'; rid: RequestId; ev: string; tok: string; key: string }
  /** join the event's waiting room, or ask where the subject stands (docs/onsale.md) */
  | { t: 'queue'; rid: RequestId; ev: string }
  /** replace the connection's token by a fresh one of the same subject */
  | { t: 'auth'; rid: RequestId; token: string };

export type QueueRequest = Extract<ClientRequest, { t: 'queue' }>;
export type AuthRequest = Extract<ClientRequest, { t: 'auth' }>;

/** General-admission places: [area index, quantity] pairs, each area once (docs/protocol.md#general-admission-areas). */
export type GaPlaces = [number, number][];
/** The most places of one area in one request. */
export const MAX_GA_QUANTITY = 1000;

/** A best-available hold's wish: `n` seats the server picks (docs/protocol.md#best-available). */
export interface BestAvailable {
  n: number;
  /** category ids to pick from; any when absent */
  categories?: string[];
  /** section ids to pick from; any when absent */
  sections?: string[];
  /** adjacent in one row only (default true); false: else the best seats of one section */
  together?: boolean;
  /** how many of the n are wheelchair seats, the others companion seats beside them */
  accessible?: number;
}

/** The seat operations: one store call each, for the token's subject (gateway/operations.ts). */
export type SeatOperationRequest = Extract<ClientRequest, { t: 'hold' | 'release' | 'swap' | 'extend' | 'book' | 'checkout' }>;

export type RequestType = ClientRequest['t'];
export const REQUEST_TYPES: readonly RequestType[] = ['sub', 'unsub', 'ping', 'hold', 'release', 'swap', 'extend', 'book', 'checkout', 'queue', 'auth'];
/** The longest hold time `extend` may ask for (`ms`): a day, the longest hold lifetime an event may have. */
export const MAX_EXTEND_MS = 86_400_000;
const MAX_BEST_IDS = 100;

/** The states a `queue` reply names. */
export type QueueState = 'prequeue' | 'waiting' | 'admitted' | 'closed';

/** Pushed to a waiting socket when its place changed, at most every 2 s. */
export interface QposMessage {
  t: 'qpos';
  ev: string;
  /** 1 = next to be admitted */
  pos: number;
  ahead: number;
  /** a guess from the admission rate, ms */
  etaMs: number;
}

/** Pushed when the subject is admitted: it may hold until `until` (0: the waiting room was removed, no limit). */
export interface AdmitMessage {
  t: 'admit';
  ev: string;
  until: number;
}

export interface QclosedMessage {
  t: 'qclosed';
  ev: string;
  reason: 'SOLD_OUT' | 'ENDED';
}

export interface QopenMessage {
  t: 'qopen';
  ev: string;
}

/** A hold token of the connection's subject was made or changed (on any connection or node). */
export interface TokMessage {
  t: 'tok';
  ev: string;
  tok: string;
  /** when the hold expires (ms, server clock) */
  exp: number;
  seats: number[];
  /** the token's general-admission places, [area, qty] ascending by area; absent when it has none */
  ga?: GaPlaces;
}

/** A hold token of the connection's subject ended. */
export interface TokendMessage {
  t: 'tokend';
  ev: string;
  tok: string;
  reason: 'expired' | 'released' | 'booked';
}

/** Sent once, first, on every connection. */
export interface HelloMessage {
  t: 'hello';
  v: typeof PROTOCOL_VERSION;
  /** who the server took the client for; null when anonymous */
  sub: string | null;
  scopes: string[];
  limits: ConnectionLimits;
  /** when the connection's token expires (ms, from its `exp`; null: never): send `auth` with a fresh one before */
  exp?: number | null;
}

export interface ConnectionLimits {
  /** largest frame the server accepts, bytes */
  maxFrameBytes: number;
  /** sustained requests per second, and the burst above it */
  opsPerSecond: number;
  opsBurst: number;
  maxSubscriptions: number;
  /** seats in one hold or release */
  maxSeatsPerRequest: number;
  /** open connections of one subject across every node; the next is closed with 4009 (0: no limit) */
  maxConnectionsPerSubject: number;
  /** hold/release/extend of one holder on one event, across its connections (0: no such bucket) */
  holderOpsPerSecond: number;
  holderOpsBurst: number;
  /** WebSocket upgrades per client address (per node); past them HTTP 429 (0: no limit) */
  upgradesPerIpPerSecond: number;
}

export interface SnapMessage {
  t: 'snap';
  ev: string;
  epoch: number;
  seq: number;
  /** one byte per seat: 0 free, 1 held, 2 booked, 3 blocked, 4 reserved (a sales channel's: free for its members only) */
  st: Uint8Array;
  /** [area, free, held, booked, ...] of every general-admission area; absent for an event without areas */
  ga?: number[];
}

export interface DiffMessage {
  t: 'diff';
  ev: string;
  epoch: number;
  /** the diff applies to a client whose seq is in [from, to) */
  from: number;
  to: number;
  /** [seat, state, seat, state, ...]: the final state of every seat changed in (from, to] */
  ch: number[];
  /** [area, free, held, booked, ...]: the final counters of every general-admission area changed in (from, to]; absent when none did */
  ga?: number[];
}

/**
 * The sales-channel overlay (docs/protocol.md#sales-channels): sent after the
 * catch-up of a `sub` to a connection whose token carries channel keys
 * (`chan`) the event has. `seats` are the seats of those channels as flat
 * runs [first, last, first, last, ...]; on them, reserved (4) means free for
 * this connection, in the snapshot and in every diff after it.
 */
export interface ChanMessage {
  t: 'chan';
  ev: string;
  /** the keys of the token's that are channels of the event */
  keys: string[];
  /** [first, last, ...] ascending runs of seat indexes */
  seats: number[];
}

export interface OkMessage {
  t: 'ok';
  rid: RequestId;
  [field: string]: unknown;
}

export interface PongMessage {
  t: 'pong';
  rid: RequestId;
}

export interface ErrMessage {
  t: 'err';
  /** null when the error answers no request (an event deleted under a subscription, a bad frame without rid) */
  rid: RequestId | null;
  code: ErrorCode;
  msg: string;
  seats?: number[];
  /** RATE_LIMITED from the holder's bucket: ms until it has a token again */
  retryMs?: number;
  /** the event, for errors about a subscription */
  ev?: string;
  /** what the error is about where a code has several causes (`accessible`, `companion`; the field of a best-available BAD_REQUEST) */
  reason?: string;
  /** NO_BLOCK: the biggest block that would fit the request's filters now */
  largest?: number;
  /** reason `ga`: the general-admission areas refused (UNAVAILABLE: without room; NOT_HOLDER: more than the token holds) */
  areas?: number[];
  /** UNAVAILABLE, reason `ga`: the places still free in each of `areas` */
  left?: number[];
}

export type ServerMessage =
  | HelloMessage
  | SnapMessage
  | DiffMessage
  | ChanMessage
  | OkMessage
  | PongMessage
  | ErrMessage
  | QposMessage
  | AdmitMessage
  | QclosedMessage
  | QopenMessage
  | TokMessage
  | TokendMessage;

/**
 * WebSocket close codes the server sends (a frame over 4 x maxFrameBytes is
 * not answered at all: the TCP connection is dropped, which clients see as
 * 1006). 1000-1015 are RFC 6455 / IANA codes;
 * 4000-4999 are this protocol's own. `reconnect` tells clients what to do.
 */
export const CLOSE_CODES = {
  TRY_AGAIN_LATER: { code: 1013, reconnect: true, meaning: 'The server could not judge the token just now (its key set was unreachable, or it could not fetch it again yet for a key it lacks); reconnect later with backoff.' },
  SERVER_RESTART: { code: 1012, reconnect: true, meaning: 'The server is shutting down or restarting; reconnect (with backoff) and resume.' },
  UNAUTHORIZED: { code: 4001, reconnect: false, meaning: 'The token was missing, invalid, or refused; reconnecting with the same token will fail again.' },
  TOKEN_EXPIRED: { code: 4002, reconnect: true, meaning: 'The token expired during the connection; reconnect with a fresh token.' },
  SLOW_CONSUMER: { code: 4008, reconnect: true, meaning: 'The client read too slowly and its unsent data passed the server limit; reconnect and resume with epoch+seq.' },
  TOO_MANY_CONNECTIONS: { code: 4009, reconnect: false, meaning: 'The subject already has hello.limits.maxConnectionsPerSubject connections open (on any node); do not reconnect in a loop: close another connection first, or wait for user action.' },
} as const;

export type CloseReason = keyof typeof CLOSE_CODES;

/** Why a frame was refused; the text goes into the BAD_REQUEST reply. */
export type DecodeResult = { ok: true; request: ClientRequest } | { ok: false; rid: RequestId | null; msg: string };

export { EVENT_ID } from '../ids.js';
/** The form of every hold token the server issues: anything else cannot be one. */
export const HOLD_TOKEN = /^[A-Za-z0-9_-]{8,64}$/;
const MAX_RID_LENGTH = 64;
const MAX_KEY_LENGTH = 128;
/** the gateway refuses longer tokens (gateway/auth.ts, MAX_TOKEN_LENGTH) */
const MAX_TOKEN_FIELD = 8192;

function isRequestId(value: unknown): value is RequestId {
  return (typeof value === 'number' && Number.isSafeInteger(value) && value >= 0) || isSafeText(value, MAX_RID_LENGTH);
}

function isSeq(value: unknown): value is number {
  return typeof value === 'number' && Number.isSafeInteger(value) && value >= 0;
}

/**
 * Checks a decoded frame against the request shapes. Unknown fields are
 * ignored (forward compatibility); missing or mistyped ones are refused.
 * Seat indexes are checked for type here and for range by the store; an
 * integer may arrive as a float with an integral value (3.0 is 3, -0.0 is 0).
 * Strings are safe text (core/text.ts) where they are not a stricter pattern.
 */
export function validateRequest(value: unknown, maxSeats: number): DecodeResult {
  if (value === null || typeof value !== 'object' || Array.isArray(value) || value instanceof Uint8Array) {
    return { ok: false, rid: null, msg: 'a frame must be a MessagePack map' };
  }
  const m = value as Record<string, unknown>;
  const rid = isRequestId(m.rid) ? m.rid : null;
  const fail = (msg: string): DecodeResult => ({ ok: false, rid, msg });
  if (typeof m.t !== 'string') return fail('missing field t');
  if (rid === null) return fail('missing or invalid rid (a non-negative integer or a string of 1-64 characters)');
  const t = m.t;
  if (t === 'ping') return { ok: true, request: { t, rid } };
  if (t === 'auth') {
    if (typeof m.token !== 'string' || m.token.length === 0 || m.token.length > MAX_TOKEN_FIELD) return fail(`missing or invalid token (a JWT of 1-${MAX_TOKEN_FIELD} characters)`);
    return { ok: true, request: { t, rid, token: m.token } };
  }
  if (!(REQUEST_TYPES as readonly string[]).includes(t)) return fail(`unknown request type ${JSON.stringify(t.slice(0, 32))}`);
  if (typeof m.ev !== 'string' || !EVENT_ID.test(m.ev)) return fail('missing or invalid ev');
  const ev = m.ev;
  const seats = (required: boolean): number[] | undefined | string => {
    if (m.seats === undefined && !required) return undefined;
    if (!Array.isArray(m.seats)) return 'seats must be an array of seat indexes';
    // an empty list is refused even where seats may be left out (release): leaving it out means "all"
    if (m.seats.length === 0) return 'seats must not be empty (leave it out to release every seat of the token)';
    if (m.seats.length > maxSeats) return `at most ${maxSeats} seats per request`;
    for (const s of m.seats) if (typeof s !== 'number' || !Number.isSafeInteger(s)) return 'seat indexes must be integers';
    return (m.seats as number[]).map((s) => s + 0); // -0 → 0
  };
  const token = (required: boolean): string | undefined | null => {
    if (m.tok === undefined && !required) return undefined;
    return typeof m.tok === 'string' && HOLD_TOKEN.test(m.tok) ? m.tok : null;
  };
  switch (t) {
    case 'sub': {
      const hasEpoch = m.epoch !== undefined && m.epoch !== null;
      const hasSeq = m.seq !== undefined && m.seq !== null;
      if (hasEpoch !== hasSeq) return fail('epoch and seq go together');
      if (hasEpoch && (!isSeq(m.epoch) || !isSeq(m.seq))) return fail('epoch and seq must be non-negative integers');
      return { ok: true, request: hasEpoch ? { t, rid, ev, epoch: m.epoch as number, seq: m.seq as number } : { t, rid, ev } };
    }
    case 'unsub':
    case 'queue':
      return { ok: true, request: { t, rid, ev } };
    case 'hold': {
      const tok = token(false);
      if (tok === null) return fail('tok must be a hold token (8-64 characters of A-Z a-z 0-9 _ -)');
      if (m.best !== undefined) {
        if (m.seats !== undefined) return fail('a hold names seats or asks for best, not both');
        // best picks seats only: places beside it would otherwise be dropped without a word
        if (m.ga !== undefined) return fail('ga does not go with best: best picks seats; hold places with ga in a hold of their own, or add them to the token after');
        const best = bestAvailable(m.best, maxSeats);
        if (typeof best === 'string') return fail(best);
        return { ok: true, request: tok === undefined ? { t, rid, ev, best } : { t, rid, ev, best, tok } };
      }
      const ga = gaPlaces(m.ga, maxSeats);
      if (typeof ga === 'string') return fail(ga);
      // with places the seats may be left out or empty: a hold of places only
      const s = ga !== undefined && (m.seats === undefined || (Array.isArray(m.seats) && m.seats.length === 0)) ? [] : seats(true);
      if (typeof s === 'string') return fail(s);
      const hold = { t, rid, ev, seats: s!, ...(ga !== undefined && { ga }) };
      return { ok: true, request: tok === undefined ? hold : { ...hold, tok } };
    }
    case 'swap': {
      const tok = token(true);
      if (!tok) return fail('missing or invalid tok (a hold token: 8-64 characters of A-Z a-z 0-9 _ -)');
      const release = seatList(m.release, 'release', maxSeats);
      if (typeof release === 'string') return fail(release);
      const hold = seatList(m.hold, 'hold', maxSeats);
      if (typeof hold === 'string') return fail(hold);
      if (release.length + hold.length === 0) return fail('release and hold must not both be empty');
      return { ok: true, request: { t, rid, ev, tok, release, hold } };
    }
    case 'release': {
      const s = seats(false);
      if (typeof s === 'string') return fail(s);
      const ga = gaPlaces(m.ga, maxSeats);
      if (typeof ga === 'string') return fail(ga);
      const tok = token(true);
      if (!tok) return fail('missing or invalid tok (a hold token: 8-64 characters of A-Z a-z 0-9 _ -)');
      return { ok: true, request: { t, rid, ev, tok, ...(s !== undefined && { seats: s }), ...(ga !== undefined && { ga }) } };
    }
    case 'extend': {
      const tok = token(true);
      if (!tok) return fail('missing or invalid tok (a hold token: 8-64 characters of A-Z a-z 0-9 _ -)');
      if (m.ms === undefined) return { ok: true, request: { t, rid, ev, tok } };
      if (typeof m.ms !== 'number' || !Number.isSafeInteger(m.ms) || m.ms < 0 || m.ms > MAX_EXTEND_MS) {
        return fail(`ms must be an integer from 0 to ${MAX_EXTEND_MS} (0 releases every seat of the token)`);
      }
      return { ok: true, request: { t, rid, ev, tok, ms: m.ms + 0 } };
    }
    case 'book': {
      // without tok, seats and/or ga: the box office books free seats and places directly (docs/protocol.md#book-free-seats-box-office).
      // With tok it is a hold's book, and a seats or ga field beside it is ignored, as it always was.
      const direct = m.tok === undefined && (m.seats !== undefined || m.ga !== undefined);
      const ga = direct ? gaPlaces(m.ga, maxSeats) : undefined;
      if (typeof ga === 'string') return fail(ga);
      const s = direct ? (ga !== undefined && (m.seats === undefined || (Array.isArray(m.seats) && m.seats.length === 0)) ? [] : seats(true)) : undefined;
      if (typeof s === 'string') return fail(s);
      const tok = direct ? undefined : token(true);
      if (!direct && !tok) return fail('missing or invalid tok (a hold token: 8-64 characters of A-Z a-z 0-9 _ -), or seats or ga to book free seats and places directly');
      if (!isSafeText(m.key, MAX_KEY_LENGTH)) return fail(`missing or invalid key (an idempotency key of 1-${MAX_KEY_LENGTH} characters, ${SAFE_TEXT_RULE})`);
      return { ok: true, request: tok ? { t, rid, ev, tok, key: m.key } : { t, rid, ev, seats: s!, ...(ga !== undefined && { ga }), key: m.key } };
    }
    case 'checkout': {
      const tok = token(true);
      if (!tok) return fail('missing or invalid tok (a hold token: 8-64 characters of A-Z a-z 0-9 _ -)');
      if (!isSafeText(m.key, MAX_KEY_LENGTH)) return fail(`missing or invalid key (an idempotency key of 1-${MAX_KEY_LENGTH} characters, ${SAFE_TEXT_RULE})`);
      return { ok: true, request: { t, rid, ev, tok, key: m.key } };
    }
  }
  return fail('unknown request type');
}

/** A hold's or release's `ga`: absent, or a non-empty array of [area, qty] pairs, areas named once, qty 1..MAX_GA_QUANTITY. */
function gaPlaces(value: unknown, maxPairs: number): GaPlaces | undefined | string {
  if (value === undefined) return undefined;
  const rule = `ga must be a non-empty array of at most ${maxPairs} [area, quantity] pairs: areas integers ≥ 0 named once, quantities 1 to ${MAX_GA_QUANTITY}`;
  if (!Array.isArray(value) || value.length === 0 || value.length > maxPairs) return rule;
  const seen = new Set<number>();
  const out: GaPlaces = [];
  for (const pair of value) {
    if (!Array.isArray(pair) || pair.length !== 2) return rule;
    const [area, qty] = pair as unknown[];
    if (typeof area !== 'number' || !Number.isSafeInteger(area) || area < 0 || seen.has(area)) return rule;
    if (typeof qty !== 'number' || !Number.isSafeInteger(qty) || qty < 1 || qty > MAX_GA_QUANTITY) return rule;
    seen.add(area);
    out.push([area + 0, qty]);
  }
  return out;
}

/** A swap's `release` or `hold`: an array (empty allowed) of at most maxSeats integers. */
function seatList(value: unknown, field: string, maxSeats: number): number[] | string {
  if (!Array.isArray(value)) return `${field} must be an array of seat indexes (empty for none)`;
  if (value.length > maxSeats) return `at most ${maxSeats} seats in ${field}`;
  for (const s of value) if (typeof s !== 'number' || !Number.isSafeInteger(s)) return `${field}: seat indexes must be integers`;
  return (value as number[]).map((s) => s + 0);
}

/** A hold's `best`: n within the request limit, optional id lists, together, accessible within n. */
function bestAvailable(value: unknown, maxSeats: number): BestAvailable | string {
  if (value === null || typeof value !== 'object' || Array.isArray(value) || value instanceof Uint8Array) return 'best must be a map {n, categories?, sections?, together?, accessible?}';
  const b = value as Record<string, unknown>;
  if (typeof b.n !== 'number' || !Number.isSafeInteger(b.n) || b.n < 1 || b.n > maxSeats) return `best.n must be an integer from 1 to ${maxSeats}`;
  const best: BestAvailable = { n: b.n };
  for (const field of ['categories', 'sections'] as const) {
    const ids = b[field];
    if (ids === undefined) continue;
    if (!Array.isArray(ids) || ids.length === 0 || ids.length > MAX_BEST_IDS || !ids.every((id) => isSafeText(id, 32))) {
      return `best.${field} must be 1-${MAX_BEST_IDS} ids of the layout (strings of 1-32 characters)`;
    }
    best[field] = ids as string[];
  }
  if (b.together !== undefined) {
    if (typeof b.together !== 'boolean') return 'best.together must be true or false';
    best.together = b.together;
  }
  if (b.accessible !== undefined) {
    if (typeof b.accessible !== 'number' || !Number.isSafeInteger(b.accessible) || b.accessible < 0) return 'best.accessible must be a non-negative integer';
    if (b.accessible > b.n) return 'best.accessible must not exceed best.n';
    best.accessible = b.accessible + 0;
  }
  return best;
}
