/**
 * Results of store operations. Expected refusals (a seat taken, a token
 * expired) are values, not exceptions: they are the hot path at an on-sale.
 */
import { isErrorCode, type ErrorCode } from '../errors.js';

export interface Refusal {
  readonly ok: false;
  readonly code: ErrorCode;
  /** the seats the refusal is about, where it is about seats */
  readonly seats?: number[];
  /** what the refusal is about, where a code has several causes: `accessible`, `companion`, or the field of a best-available BAD_REQUEST */
  readonly reason?: string;
  /** NO_BLOCK: the size of the biggest block that would fit the request's filters now */
  readonly largest?: number;
  /** UNAVAILABLE or NOT_HOLDER with reason `ga`: the general-admission areas the refusal is about */
  readonly areas?: number[];
  /** UNAVAILABLE with reason `ga`: the places still free in each of `areas` */
  readonly left?: number[];
  /** RATE_LIMITED: when the holder's bucket has a token again (ms from now) */
  readonly retryMs?: number;
}

export type OpResult<T> = ({ readonly ok: true } & T) | Refusal;

export function refuse(code: ErrorCode, seats?: number[], extra?: { reason?: string; largest?: number }): Refusal {
  const refusal: { ok: false; code: ErrorCode; seats?: number[]; reason?: string; largest?: number } = { ok: false, code };
  if (seats && seats.length > 0) refusal.seats = seats;
  if (extra?.reason !== undefined) refusal.reason = extra.reason;
  if (extra?.largest !== undefined) refusal.largest = extra.largest;
  return refusal;
}

/** Splits a script reply into its status code and the rest. */
export function parseReply(reply: unknown): { status: string; rest: unknown[] } {
  if (!Array.isArray(reply) || typeof reply[0] !== 'string') {
    throw new Error(`unexpected script reply: ${JSON.stringify(reply)}`);
  }
  return { status: reply[0], rest: reply.slice(1) };
}

/** The refusal a script reported, or throws for a reply outside the catalogue. */
export function refusalFrom(status: string, rest: unknown[]): Refusal {
  if (!isErrorCode(status)) throw new Error(`script returned unknown status ${status}`);
  const seats = Array.isArray(rest[0]) ? rest[0].map(Number) : undefined;
  // a third element: NO_BLOCK's largest block, RATE_LIMITED's retryMs, or the cause of the refusal
  if (status === 'NO_BLOCK') return refuse(status, seats, { largest: Number(rest[1] ?? 0) });
  if (status === 'RATE_LIMITED' && rest[1] !== undefined) return { ...refuse(status, seats), retryMs: Number(rest[1]) };
  if (rest[1] === 'ga' && Array.isArray(rest[2])) {
    const refusal = refuse(status, seats, { reason: 'ga' });
    return { ...refusal, areas: rest[2].map(Number), ...(Array.isArray(rest[3]) && { left: rest[3].map(Number) }) };
  }
  return refuse(status, seats, typeof rest[1] === 'string' ? { reason: rest[1] } : undefined);
}
