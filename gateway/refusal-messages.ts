/**
 * The `msg` of a refused seat operation: what happened to this request,
 * naming the field it is about (`seats`, `tok`, `key`) and, for a hold
 * limit, the limit. The catalogue's sentence (core/errors.ts) says what a
 * code means in general; this says what it meant here. Limits and seat
 * counts are read from the event's meta only on the refusals that name them
 * (rare, off the hot path).
 */
import type { ErrorCode } from '../core/errors.js';
import type { HoldRules } from '../core/store/index.js';
import type { SeatOperationRequest as SeatOperation } from '../core/protocol/index.js';

/** What a refusal message may look up about the event. */
export interface RefusalFacts {
  /** the event's seat count and hold rules, or null when it has none */
  eventFacts(eventId: string): Promise<{ seatCount: number; rules: HoldRules } | null>;
}

const NOTHING_DONE: Record<SeatOperation['t'], string> = {
  hold: 'nothing was held',
  release: 'nothing was released',
  extend: 'the hold was not extended',
  book: 'nothing was booked',
  checkout: 'nothing was booked',
};

/** `3`, `3 and 4`, `3, 4 and 9` (at most 10 listed, then "and N more"). */
export function listSeats(seats: readonly number[]): string {
  const shown = seats.slice(0, 10).map(String);
  if (seats.length > 10) return `${shown.join(', ')} and ${seats.length - 10} more`;
  if (shown.length <= 1) return shown.join('');
  return `${shown.slice(0, -1).join(', ')} and ${shown[shown.length - 1]}`;
}

/** "seat 3" / "seats 3 and 4" */
export function seatsPhrase(seats: readonly number[]): string {
  return `${seats.length === 1 ? 'seat' : 'seats'} ${listSeats(seats)}`;
}

/** "seat 3 is" / "seats 3 and 4 are" */
export function seatsAre(seats: readonly number[]): string {
  return `${seatsPhrase(seats)} ${seats.length === 1 ? 'is' : 'are'}`;
}

export function plural(n: number, one: string, many = `${one}s`): string {
  return `${n.toLocaleString('en-US')} ${n === 1 ? one : many}`;
}

/** The message for `code` refusing `request` (`seats`: the seats the store named). */
export async function refusalMessage(request: SeatOperation, code: ErrorCode, seats: readonly number[] | undefined, facts?: RefusalFacts): Promise<string | undefined> {
  const done = NOTHING_DONE[request.t];
  const named = seats && seats.length > 0 ? seats : undefined;
  switch (code) {
    case 'NO_EVENT':
      return `there is no event ${request.ev}; ${done}`;
    case 'BAD_SEAT': {
      const event = await facts?.eventFacts(request.ev).catch(() => null);
      const range = event ? ` (event ${request.ev} has seats 0 to ${event.seatCount - 1})` : '';
      return named
        ? `seats: ${seatsAre(named)} out of range or listed twice${range}; ${done}`
        : `seats: an index is out of range or listed twice${range}; ${done}`;
    }
    case 'UNAVAILABLE':
      return named
        ? `seats: ${seatsAre(named)} not free (held, booked or blocked by someone else); ${done}`
        : `seats: a seat is not in the state ${request.t} needs; ${done}`;
    case 'NOT_HOLDER':
      return named
        ? `seats: ${seatsAre(named)} not held by tok ${tokOf(request)}; ${done}`
        : `tok: the hold token belongs to another holder; ${done}`;
    case 'HOLD_LIMIT': {
      const event = await facts?.eventFacts(request.ev).catch(() => null);
      const asked = request.t === 'hold' ? `holding ${plural(request.seats.length, 'more seat')}` : 'this';
      if (!event) return `${asked} would exceed the seats allowed per hold token or per holder; ${done}`;
      const { maxSeatsPerToken, maxSeatsPerHolder } = event.rules;
      return `${asked} would exceed the limit of ${plural(maxSeatsPerToken, 'seat')} per hold token or ${plural(maxSeatsPerHolder, 'seat')} per holder for event ${request.ev}; ${done}`;
    }
    case 'EXPIRED':
      return `tok: the hold token ${tokOf(request)} is unknown or has expired; ${done}`;
    case 'CONFLICT':
      return request.t === 'book' || request.t === 'checkout' ? `key: ${JSON.stringify(request.key)} was already used to book another hold; ${done}` : undefined;
    case 'BAD_REQUEST':
      return badRequest(request, done);
    case 'NOT_ADMITTED':
      return `event ${request.ev} has a waiting room and you are not admitted (not yet, or your admission has ended): send queue and hold once admitted; ${done}`;
    case 'QUEUE_CLOSED':
      return `the waiting room of event ${request.ev} is closed (sold out or ended); it reopens when held seats come back; ${done}`;
    default:
      return undefined; // the catalogue's sentence (RATE_LIMITED, INTERNAL, PENDING, … carry their own)
  }
}

/** The store's BAD_REQUEST after the protocol's checks passed: what is left to be wrong. */
function badRequest(request: SeatOperation, done: string): string {
  switch (request.t) {
    case 'hold':
      return `tok: ${tokOf(request)} is not a hold token (8 to 64 of A-Z a-z 0-9 _ -); ${done}`;
    case 'release':
    case 'extend':
      return `tok: ${tokOf(request)} is not a hold token (8 to 64 of A-Z a-z 0-9 _ -); ${done}`;
    case 'book':
    case 'checkout':
      return `tok: the hold token ${request.tok} holds no seats, or key is not safe text of at most 128 characters; ${done}`;
  }
}

function tokOf(request: SeatOperation): string {
  return 'tok' in request && typeof request.tok === 'string' ? request.tok : '(none)';
}
