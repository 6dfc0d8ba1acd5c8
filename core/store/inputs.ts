/**
 * What the seat store checks before any round trip, and the hold tokens it
 * makes. The scripts check again (they know the seat count); these checks
 * refuse a malformed call without touching Redis.
 */
import { randomFillSync } from 'node:crypto';
import { isSafeText } from '../text.js';
import { refuse } from './results.js';

/** Per-event hold rules (the layout's settings). */
export interface HoldRules {
  holdTtlMs: number;
  maxHoldLifetimeMs: number;
  maxSeatsPerToken: number;
  maxSeatsPerHolder: number;
  /** how long a checkout waits for its payment (ms); absent: the checkout's default */
  paymentWindowMs?: number;
}

export const STORE_LIMITS = {
  /** seats in one call; the per-event rules are usually far lower */
  maxSeatsPerCall: 1000,
  /** seats in one bulk block or unblock: a whole venue (the layout's MAX_SEATS) */
  maxSeatsPerBulkCall: 250_000,
  maxHolderLength: 128,
  maxKeyLength: 128,
} as const;

const TOKEN = /^[A-Za-z0-9_-]{8,64}$/;

const TOKEN_BYTES = 12;
/** random bytes for 341 tokens: one call to the CSPRNG per 341 holds instead of one per hold (~20× cheaper each) */
const tokenPool = Buffer.alloc(TOKEN_BYTES * 341);
let tokenPoolOffset = tokenPool.length;

/** A hold token: 12 bytes from the CSPRNG, base64url (16 characters). */
export function newToken(): string {
  if (tokenPoolOffset + TOKEN_BYTES > tokenPool.length) {
    randomFillSync(tokenPool);
    tokenPoolOffset = 0;
  }
  const token = tokenPool.toString('base64url', tokenPoolOffset, tokenPoolOffset + TOKEN_BYTES);
  tokenPoolOffset += TOKEN_BYTES;
  return token;
}

export function validRules(r: HoldRules): boolean {
  const positive = (n: number) => Number.isSafeInteger(n) && n > 0;
  return (
    positive(r.holdTtlMs) &&
    positive(r.maxHoldLifetimeMs) &&
    positive(r.maxSeatsPerToken) &&
    positive(r.maxSeatsPerHolder) &&
    (r.paymentWindowMs === undefined || positive(r.paymentWindowMs))
  );
}

/** Holders and keys reach Postgres (text columns) and logs: the one rule for outside text (core/text.ts), checked here again as a second line. */
export function checkHolder(holder: unknown) {
  return isSafeText(holder, STORE_LIMITS.maxHolderLength) ? undefined : refuse('BAD_REQUEST');
}

export function checkToken(token: unknown) {
  return typeof token === 'string' && TOKEN.test(token) ? undefined : refuse('BAD_REQUEST');
}

export function checkKey(key: unknown) {
  return isSafeText(key, STORE_LIMITS.maxKeyLength) ? undefined : refuse('BAD_REQUEST');
}

/**
 * A key read back from Postgres (cancel): it was accepted when it was booked,
 * perhaps before the safe-text rule, so only its shape is checked.
 */
export function checkStoredKey(key: unknown) {
  return typeof key === 'string' && key.length > 0 && key.length <= STORE_LIMITS.maxKeyLength ? undefined : refuse('BAD_REQUEST');
}

/**
 * Type checks only. Range (negative indexes included) and duplicates are the
 * script's: it knows the seat count, so its BAD_SEAT lists every offending
 * index of the call at once, `[5000, -1]` on a 1,000-seat event both.
 */
export function checkSeats(seats: unknown, allowEmpty: boolean) {
  if (!Array.isArray(seats) || seats.length > STORE_LIMITS.maxSeatsPerCall) return refuse('BAD_REQUEST');
  if (!allowEmpty && seats.length === 0) return refuse('BAD_REQUEST');
  if (!seats.every((s) => Number.isSafeInteger(s))) return refuse('BAD_REQUEST');
  return undefined;
}

/** A bulk block or unblock: like checkSeats, up to a whole venue. */
export function checkBulkSeats(seats: unknown) {
  if (!Array.isArray(seats) || seats.length === 0 || seats.length > STORE_LIMITS.maxSeatsPerBulkCall) return refuse('BAD_REQUEST');
  if (!seats.every((s) => Number.isSafeInteger(s))) return refuse('BAD_REQUEST');
  return undefined;
}

export function statusBytesChecked(status: Uint8Array): Uint8Array {
  for (const byte of status) if (byte > 3) throw new RangeError(`seat state byte ${byte} is not a seat state`);
  return status;
}

/** The most places of one area in one call (gaAreas.lua's GA_MAX_QTY). */
export const MAX_GA_QTY = 1000;

/** [area, qty] pairs: areas non-negative integers named once, quantities 1..MAX_GA_QTY. */
export function checkGa(ga: unknown) {
  if (!Array.isArray(ga) || ga.length > STORE_LIMITS.maxSeatsPerCall) return refuse('BAD_REQUEST', undefined, { reason: 'ga' });
  const seen = new Set<number>();
  for (const pair of ga) {
    if (!Array.isArray(pair) || pair.length !== 2) return refuse('BAD_REQUEST', undefined, { reason: 'ga' });
    const [area, qty] = pair as unknown[];
    if (!Number.isSafeInteger(area) || (area as number) < 0 || seen.has(area as number)) return refuse('BAD_REQUEST', undefined, { reason: 'ga' });
    if (!Number.isSafeInteger(qty) || (qty as number) < 1 || (qty as number) > MAX_GA_QTY) return refuse('BAD_REQUEST', undefined, { reason: 'ga' });
    seen.add(area as number);
  }
  return undefined;
}

/** The scripts' form of [area, qty] pairs: "area:qty,...", '' for none. */
export function gaArg(ga: readonly (readonly [number, number])[] | undefined): string {
  return ga ? ga.map(([area, qty]) => `${area}:${qty}`).join(',') : '';
}
