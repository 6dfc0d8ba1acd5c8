/**
 * The seat operations (hold, best available, release, swap, extend, book, checkout), with general-admission places where they take them, on top of the client's
 * request/reply machinery: the request bodies, the typed results, and the
 * bookkeeping of the client's own hold tokens.
 */
import type { HoldTracker } from './holds.js';
import { RequestError, type Reply } from './requests.js';
import type { BestAvailable, GaPlaces } from '../protocol/messages.js';
import type { BookResult, BookingState, CheckoutResult, HoldBestResult, HoldResult, RequestBody } from './types.js';

/** What the operations need from the client. */
export interface OperationContext {
  request(body: RequestBody, timeoutMs?: number): Promise<Reply>;
  holds: HoldTracker;
  /** the epoch of the client's copy of the event, -1 when it has none */
  epochOf(ev: string): number;
  bookTimeoutMs: number;
}

/** pause before asking again for a booking whose reply was lost or PENDING */
const BOOK_RETRY_PAUSE_MS = 250;

type OkFields = Reply & Record<string, unknown>;

export async function holdSeats(ctx: OperationContext, ev: string, seats: readonly number[], options: { tok?: string; ga?: GaPlaces; timeoutMs?: number }): Promise<HoldResult> {
  const ga = placesOf(options.ga);
  const body: RequestBody = { t: 'hold', ev, seats: [...seats], ...(ga && { ga }), ...(options.tok && { tok: options.tok }) };
  const ok = await operation(ctx, body, options.tok, options.timeoutMs);
  const result = { tok: field(ok, 'tok', 'string'), expiresAt: field(ok, 'exp', 'number'), seq: field(ok, 'seq', 'number') };
  ctx.holds.held(ev, result.tok, seats, result.expiresAt, result.seq, ctx.epochOf(ev), ga);
  return result;
}

/** `ga` as the request carries it: a copy of the pairs, or undefined for none (an empty list is no places). */
function placesOf(ga: GaPlaces | undefined): GaPlaces | undefined {
  return ga && ga.length > 0 ? ga.map(([area, qty]) => [area, qty] as [number, number]) : undefined;
}

/** Best available: the server picks `best.n` seats and holds them (docs/protocol.md#best-available). */
export async function holdBestSeats(ctx: OperationContext, ev: string, best: BestAvailable, options: { tok?: string; timeoutMs?: number }): Promise<HoldBestResult> {
  const body: RequestBody = options.tok ? { t: 'hold', ev, best: { ...best }, tok: options.tok } : { t: 'hold', ev, best: { ...best } };
  const ok = await operation(ctx, body, options.tok, options.timeoutMs);
  const seats = Array.isArray(ok.seats) ? (ok.seats as number[]) : [];
  const result = { tok: field(ok, 'tok', 'string'), expiresAt: field(ok, 'exp', 'number'), seq: field(ok, 'seq', 'number'), seats, together: ok.together === true };
  ctx.holds.held(ev, result.tok, seats, result.expiresAt, result.seq, ctx.epochOf(ev));
  return result;
}

/** Releases some seats of a token and holds others in one step, all or nothing. */
export async function swapSeats(
  ctx: OperationContext,
  ev: string,
  tok: string,
  change: { release: readonly number[]; hold: readonly number[] },
  options: { timeoutMs?: number },
): Promise<{ expiresAt: number; seq: number }> {
  const ok = await operation(ctx, { t: 'swap', ev, tok, release: [...change.release], hold: [...change.hold] }, tok, options.timeoutMs);
  const expiresAt = field(ok, 'exp', 'number');
  const seq = field(ok, 'seq', 'number');
  ctx.holds.released(tok, change.release);
  ctx.holds.held(ev, tok, change.hold, expiresAt, seq, ctx.epochOf(ev));
  return { expiresAt, seq };
}

export async function releaseSeats(
  ctx: OperationContext,
  ev: string,
  tok: string,
  seats: readonly number[] | undefined,
  options: { ga?: GaPlaces; timeoutMs?: number },
): Promise<{ released: number; seq: number }> {
  const ga = placesOf(options.ga);
  const body: RequestBody = { t: 'release', ev, tok, ...(seats && { seats: [...seats] }), ...(ga && { ga }) };
  const ok = await operation(ctx, body, tok, options.timeoutMs);
  ctx.holds.released(tok, seats, ga);
  return { released: field(ok, 'n', 'number'), seq: field(ok, 'seq', 'number') };
}

/** Extends a token: the sliding TTL, or with `ms` an expiry of now + ms (0: every seat released and the token deleted). */
export async function extendHold(ctx: OperationContext, ev: string, tok: string, options: { ms?: number; timeoutMs?: number }): Promise<{ expiresAt: number; seq: number }> {
  const body: RequestBody = options.ms === undefined ? { t: 'extend', ev, tok } : { t: 'extend', ev, tok, ms: options.ms };
  const ok = await operation(ctx, body, tok, options.timeoutMs);
  const expiresAt = field(ok, 'exp', 'number');
  if (options.ms === 0) ctx.holds.forget(tok);
  else ctx.holds.extended(tok, expiresAt);
  return { expiresAt, seq: field(ok, 'seq', 'number') };
}

const BOOKING_STATES: readonly string[] = ['pending_payment', 'confirmed', 'checked_in', 'cancelled', 'failed', 'expired'];

/** Books a token; asks again with the same key after a lost reply or a PENDING, until the timeout. */
export async function bookHold(ctx: OperationContext, ev: string, tok: string, options: { key?: string; timeoutMs?: number }): Promise<BookResult> {
  const key = options.key ?? newIdempotencyKey();
  return durableBooking(ctx, { t: 'book', ev, tok, key }, tok, key, options.timeoutMs);
}

/** Checks a token out (a booking awaiting payment until `payBy`); retried like bookHold. */
export async function checkoutHold(ctx: OperationContext, ev: string, tok: string, options: { key?: string; timeoutMs?: number }): Promise<CheckoutResult> {
  const key = options.key ?? newIdempotencyKey();
  const result = await durableBooking(ctx, { t: 'checkout', ev, tok, key }, tok, key, options.timeoutMs);
  return { ...result, state: result.state ?? 'pending_payment' };
}

/** Box office (scope seats:box-office): books free seats and places directly, without a hold; retried like bookHold. */
export async function bookFreeSeats(ctx: OperationContext, ev: string, seats: readonly number[], options: { ga?: GaPlaces; key?: string; timeoutMs?: number }): Promise<BookResult> {
  const key = options.key ?? newIdempotencyKey();
  const ga = placesOf(options.ga);
  return durableBooking(ctx, { t: 'book', ev, seats: [...seats], ...(ga && { ga }), key }, undefined, key, options.timeoutMs);
}

async function durableBooking(ctx: OperationContext, body: RequestBody, tok: string | undefined, key: string, timeoutMs: number | undefined): Promise<BookResult> {
  const deadline = Date.now() + (timeoutMs ?? ctx.bookTimeoutMs);
  // the token's places as this client holds them now: the `tokend` of the booking can arrive in the reply's own write, before it is read
  const heldPlaces = tok ? (ctx.holds.list().find((h) => h.tok === tok)?.ga ?? []) : [];
  for (;;) {
    try {
      const ok = await operation(ctx, body, tok, Math.max(1, deadline - Date.now()));
      // the places: the reply's (the box office), else those this client held in the token
      const ga = Array.isArray(ok.ga) ? pairs(ok.ga) : heldPlaces;
      if (tok) ctx.holds.forget(tok);
      return {
        id: field(ok, 'id', 'string'),
        // `reference` (older gateways send only `ref`, its old name)
        ...(referenceOf(ok) !== undefined && { reference: referenceOf(ok), ref: referenceOf(ok) }),
        ...(typeof ok.state === 'string' && BOOKING_STATES.includes(ok.state) && { state: ok.state as BookingState }),
        ...(typeof ok.payBy === 'number' && { payBy: ok.payBy }),
        seats: Array.isArray(ok.seats) ? (ok.seats as number[]) : [],
        ga,
        seq: field(ok, 'seq', 'number'),
        replayed: ok.replayed === true,
        key,
      };
    } catch (err) {
      // safe to ask again: the key makes a repeated book return the first booking
      const retry = err instanceof RequestError && (err.code === 'DISCONNECTED' || err.code === 'PENDING');
      if (!retry || Date.now() + BOOK_RETRY_PAUSE_MS >= deadline) throw err;
      await new Promise((resolve) => setTimeout(resolve, BOOK_RETRY_PAUSE_MS));
    }
  }
}

function pairs(value: unknown[]): [number, number][] {
  return value.filter((p): p is [number, number] => Array.isArray(p) && p.length === 2 && typeof p[0] === 'number' && typeof p[1] === 'number').map(([a, q]) => [a, q]);
}

function referenceOf(ok: OkFields): string | undefined {
  return typeof ok.reference === 'string' ? ok.reference : typeof ok.ref === 'string' ? ok.ref : undefined;
}

/** Runs a seat operation; a token the server calls unknown or expired is forgotten. */
async function operation(ctx: OperationContext, body: RequestBody, tok: string | undefined, timeoutMs?: number): Promise<OkFields> {
  try {
    return (await ctx.request(body, timeoutMs)) as OkFields;
  } catch (err) {
    if (tok && err instanceof RequestError && err.code === 'EXPIRED') ctx.holds.forget(tok);
    throw err;
  }
}

function field(reply: Record<string, unknown>, name: string, type: 'string'): string;
function field(reply: Record<string, unknown>, name: string, type: 'number'): number;
function field(reply: Record<string, unknown>, name: string, type: 'string' | 'number'): string | number {
  const value = reply[name];
  if (typeof value !== type) throw new Error(`malformed reply: ${name} is not a ${type}`);
  return value as string | number;
}

/** A random idempotency key for `book`. */
export function newIdempotencyKey(): string {
  const uuid = (globalThis as { crypto?: { randomUUID?: () => string } }).crypto?.randomUUID?.();
  if (uuid) return uuid;
  // insecure contexts (plain http on a LAN address) have no randomUUID
  return `k-${Date.now().toString(36)}-${Math.random().toString(36).slice(2)}${Math.random().toString(36).slice(2)}`;
}
