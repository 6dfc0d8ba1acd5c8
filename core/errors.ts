/**
 * The one error catalogue of the system. Lua scripts return these codes, the
 * store passes them through unchanged, and the WebSocket protocol and the
 * HTTP API send them to clients. Each entry holds every fact about its code:
 * the HTTP status, whether a retry makes sense, and the text. A test checks
 * that every code the scripts can return is listed here and that every entry
 * is documented (docs/protocol.md, docs/store.md).
 */

/** The HTTP statuses error codes map to. */
export type ErrorHttpStatus = 400 | 401 | 403 | 404 | 409 | 410 | 429 | 500 | 503;

/**
 * What a client may do after the error:
 * - `no`: the same request gets the same answer; the operation changed nothing;
 * - `later`: the same request may succeed after a while; it changed nothing;
 * - `unknown-outcome`: the operation may have been applied; retry only what is
 *   idempotent (`book` with the same key), or look at the state first.
 */
export type ErrorRetry = 'no' | 'later' | 'unknown-outcome';

export interface ErrorSpec {
  readonly status: ErrorHttpStatus;
  readonly retry: ErrorRetry;
  readonly text: string;
}

export const ERROR_CATALOGUE = {
  BAD_REQUEST: {
    status: 400,
    retry: 'no',
    text: 'The request is malformed: a missing or mistyped field, or an operation that makes no sense (e.g. booking a token that holds no seats).',
  },
  UNAUTHORIZED: { status: 401, retry: 'no', text: 'No valid credentials were presented.' },
  FORBIDDEN: { status: 403, retry: 'no', text: 'The credentials lack the scope this operation needs.' },
  NO_EVENT: { status: 404, retry: 'no', text: 'The event does not exist (or is not loaded).' },
  BAD_SEAT: { status: 400, retry: 'no', text: 'A seat index is out of range or listed twice; `seats` lists the offending indexes.' },
  UNAVAILABLE: {
    status: 409,
    retry: 'no',
    text: 'At least one seat is not in the state the operation needs (held, booked or blocked by someone else); `seats` lists them. Nothing was changed.',
  },
  NOT_HOLDER: {
    status: 403,
    retry: 'no',
    text: 'The hold token belongs to another holder, or a seat to release is not held by this token; `seats` lists those seats when relevant.',
  },
  HOLD_LIMIT: { status: 409, retry: 'no', text: 'The hold would exceed the maximum seats per hold token or per holder.' },
  NO_BLOCK: {
    status: 409,
    retry: 'no',
    text: 'Best available found no seats that fit the request now; `largest` is the size of the biggest block that would fit its filters. Nothing was held.',
  },
  ORPHAN_SEAT: {
    status: 409,
    retry: 'no',
    text: 'The change would leave a single free seat between taken seats (the event\'s orphan policy); `seats` lists the seats it would strand, so the request may add them. Nothing was changed.',
  },
  EXPIRED: { status: 410, retry: 'no', text: 'The hold token is unknown or has expired.' },
  RATE_LIMITED: {
    status: 429,
    retry: 'later',
    text: 'Too many operations (of this connection, or of this holder on this event across all its connections); retry after `retryMs` where given.',
  },
  NOT_ADMITTED: {
    status: 403,
    retry: 'later',
    text: 'The event has a waiting room and this subject is not admitted (not yet, or its admission has ended): join with `queue` and hold once admitted. Nothing was changed.',
  },
  QUEUE_CLOSED: {
    status: 409,
    retry: 'later',
    text: 'The event\'s waiting room is closed (sold out, or the sale has ended); it reopens (`qopen`) when held seats come back. Nothing was changed.',
  },
  CONFLICT: {
    status: 409,
    retry: 'no',
    text: 'The request conflicts with existing state: an idempotency key reused for a different hold, an event that already exists, seats to unblock that are not blocked, or a change the booking\'s state does not allow (docs/bookings.md).',
  },
  NOT_FOUND: { status: 404, retry: 'no', text: 'No booking with this id or reference exists (for the event, where one is named), no webhook with this id, or no sales channel with this key.' },
  PENDING: {
    status: 503,
    retry: 'unknown-outcome',
    text: 'The booking is made in the seat map but Postgres has not confirmed it within the acknowledgement timeout (BOOK_ACK_TIMEOUT_MS), e.g. during a database outage; retry `book` with the same key to learn its outcome. Nothing was booked twice.',
  },
  REFUSED: {
    status: 409,
    retry: 'no',
    text: 'The durable store refused the booking for good; nothing was booked and its seats were released (except any the durable store holds for another booking). Retrying with the same key answers REFUSED again.',
  },
  INTERNAL: { status: 500, retry: 'unknown-outcome', text: 'An unexpected server-side failure; the operation may be retried.' },
} as const satisfies Record<string, ErrorSpec>;

export type ErrorCode = keyof typeof ERROR_CATALOGUE;

export const ERROR_CODES = Object.keys(ERROR_CATALOGUE) as ErrorCode[];

export function isErrorCode(value: unknown): value is ErrorCode {
  return typeof value === 'string' && Object.prototype.hasOwnProperty.call(ERROR_CATALOGUE, value);
}

/** The catalogue text of a code: what `msg` says when nothing more specific is known. */
export function errorText(code: ErrorCode): string {
  return ERROR_CATALOGUE[code].text;
}

/** Whether the operation may have been applied although it was answered with `code`. */
export function outcomeUnknown(code: ErrorCode): boolean {
  return ERROR_CATALOGUE[code].retry === 'unknown-outcome';
}

/** Thrown where a result type is not practical (admin calls, start-up). */
export class SeatMapError extends Error {
  constructor(
    readonly code: ErrorCode,
    message: string = ERROR_CATALOGUE[code].text,
    readonly seats?: number[],
  ) {
    super(message);
    this.name = 'SeatMapError';
  }
}
