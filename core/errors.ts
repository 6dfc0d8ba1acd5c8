/**
 * The one error catalogue of the system. Lua scripts return these codes, the
 * store passes them through unchanged, and the WebSocket protocol sends them to
 * clients. A test checks that every code the scripts can return is listed here
 * and that every entry is documented.
 */
export const ERROR_CATALOGUE = {
  BAD_REQUEST: 'The request is malformed: a missing or mistyped field, or an operation that makes no sense (e.g. booking a token that holds no seats).',
  UNAUTHORIZED: 'No valid credentials were presented.',
  FORBIDDEN: 'The credentials lack the scope this operation needs.',
  NO_EVENT: 'The event does not exist (or is not loaded).',
  BAD_SEAT: 'A seat index is out of range or listed twice; `seats` lists the offending indexes.',
  UNAVAILABLE: 'At least one seat is not in the state the operation needs (held, booked or blocked by someone else); `seats` lists them. Nothing was changed.',
  NOT_HOLDER: 'The hold token belongs to another holder, or a seat to release is not held by this token; `seats` lists those seats when relevant.',
  HOLD_LIMIT: 'The hold would exceed the maximum seats per hold token or per holder.',
  EXPIRED: 'The hold token is unknown or has expired.',
  RATE_LIMITED: 'Too many operations; retry later.',
  CONFLICT: 'The request conflicts with existing state: an idempotency key reused for a different hold, an event that already exists, or seats to unblock that are not blocked.',
  NOT_FOUND: 'No booking with this id or reference exists for the event.',
  PENDING: 'The booking is made in the seat map but Postgres has not confirmed it within the acknowledgement timeout (BOOK_ACK_TIMEOUT_MS), e.g. during a database outage; retry `book` with the same key to learn its outcome. Nothing was booked twice.',
  INTERNAL: 'An unexpected server-side failure; the operation may be retried.',
} as const;

export type ErrorCode = keyof typeof ERROR_CATALOGUE;

export const ERROR_CODES = Object.keys(ERROR_CATALOGUE) as ErrorCode[];

export function isErrorCode(value: unknown): value is ErrorCode {
  return typeof value === 'string' && Object.prototype.hasOwnProperty.call(ERROR_CATALOGUE, value);
}

/** Thrown where a result type is not practical (admin calls, start-up). */
export class SeatMapError extends Error {
  constructor(
    readonly code: ErrorCode,
    message: string = ERROR_CATALOGUE[code],
    readonly seats?: number[],
  ) {
    super(message);
    this.name = 'SeatMapError';
  }
}
