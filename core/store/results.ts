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
  /** RATE_LIMITED: when the holder's bucket has a token again (ms from now) */
  readonly retryMs?: number;
}

export type OpResult<T> = ({ readonly ok: true } & T) | Refusal;

export function refuse(code: ErrorCode, seats?: number[]): Refusal {
  return seats && seats.length > 0 ? { ok: false, code, seats } : { ok: false, code };
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
  if (status === 'RATE_LIMITED' && rest[1] !== undefined) return { ...refuse(status, seats), retryMs: Number(rest[1]) };
  return refuse(status, seats);
}
