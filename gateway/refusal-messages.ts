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
  swap: 'nothing was swapped',
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

/** A refusal about general-admission places (the store's reason `ga`). */
function placesMessage(code: ErrorCode, detail: { areas?: number[]; left?: number[] }, done: string): string {
  const areas = detail.areas ?? [];
  if (code === 'UNAVAILABLE') {
    const each = areas.map((a, i) => `area ${a} has ${plural(detail.left?.[i] ?? 0, 'place')} left`).join(', ');
    return `ga: not enough room: ${each}; ${done}`;
  }
  if (code === 'NOT_HOLDER') return `ga: the token holds fewer places than that in area${areas.length === 1 ? '' : 's'} ${areas.join(', ')}; ${done}`;
  return `ga: a quantity is out of 1 to 1000, an area is named twice, or the event has no such area; ${done}`;
}

/** The message for `code` refusing `request` (`seats`: the seats the store named; `detail`: its reason or largest block). */
export async function refusalMessage(
  request: SeatOperation,
  code: ErrorCode,
  seats: readonly number[] | undefined,
  facts?: RefusalFacts,
  detail: { reason?: string; largest?: number; areas?: number[]; left?: number[] } = {},
): Promise<string | undefined> {
  const done = NOTHING_DONE[request.t];
  const named = seats && seats.length > 0 ? seats : undefined;
  if (detail.reason === 'ga') return placesMessage(code, detail, done);
  switch (code) {
    case 'NO_BLOCK': {
      const largest = detail.largest ?? 0;
      const wanted = 'best' in request ? plural(request.best.n, 'seat') : 'the seats';
      return `best: no ${wanted} fit the request now; the biggest block that would is ${plural(largest, 'seat')}; ${done}`;
    }
    case 'ORPHAN_SEAT':
      return named
        ? `seats: this would leave ${seatsPhrase(named)} alone between taken seats, which nobody could buy; add ${named.length === 1 ? 'it' : 'them'} to the request or choose seats beside taken ones; ${done}`
        : `seats: this would leave a single seat alone between taken seats; ${done}`;
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
      if (detail.reason === 'channel') {
        return `seats: ${named ? seatsAre(named) : 'a seat is'} reserved for a presale (a sales channel) this token carries no key of (the chan claim); ${done}`;
      }
      if (detail.reason === 'accessible') {
        return named
          ? `seats: ${seatsAre(named)} wheelchair seats, kept for accessible bookings until the event opens them to all; ${done}`
          : `best: wheelchair seats are kept for accessible bookings (a token with the acc claim or the seats:box-office scope); ${done}`;
      }
      return named
        ? `seats: ${seatsAre(named)} not free (held, booked or blocked by someone else); ${done}`
        : `seats: a seat is not in the state ${request.t} needs; ${done}`;
    case 'NOT_HOLDER':
      return named
        ? `seats: ${seatsAre(named)} not held by tok ${tokOf(request)}; ${done}`
        : `tok: the hold token belongs to another holder; ${done}`;
    case 'HOLD_LIMIT': {
      const event = await facts?.eventFacts(request.ev).catch(() => null);
      const asked = request.t === 'hold' ? `holding ${plural('best' in request ? request.best.n : request.seats.length, 'more seat')}` : 'this';
      if (!event) return `${asked} would exceed the seats allowed per hold token or per holder; ${done}`;
      const { maxSeatsPerToken, maxSeatsPerHolder } = event.rules;
      return `${asked} would exceed the limit of ${plural(maxSeatsPerToken, 'seat')} per hold token or ${plural(maxSeatsPerHolder, 'seat')} per holder for event ${request.ev}; ${done}`;
    }
    case 'EXPIRED':
      if (isDirectBook(request)) return `key: the booking made with ${JSON.stringify(request.key)} is void (its event was rebuilt from Postgres before it was committed); ${done}`;
      return `tok: the hold token ${tokOf(request)} is unknown or has expired; ${done}`;
    case 'CONFLICT':
      if (isDirectBook(request)) return `key: ${JSON.stringify(request.key)} was already used to book other seats, by another holder, or for a hold; ${done}`;
      return request.t === 'book' || request.t === 'checkout' ? `key: ${JSON.stringify(request.key)} was already used to book another hold; ${done}` : undefined;
    case 'BAD_REQUEST':
      if (detail.reason === 'companion') {
        return `seats: companion ${seatsPhrase(named ?? [])} need a wheelchair seat in the same hold token (at most the event's companions per wheelchair seat); ${done}`;
      }
      if (detail.reason !== undefined && request.t === 'hold' && 'best' in request) return bestBadRequest(request.ev, detail.reason, done, facts);
      return badRequest(request, done);
    case 'NOT_ADMITTED':
      return `event ${request.ev} has a waiting room and you are not admitted (not yet, or your admission has ended): send queue and hold once admitted; ${done}`;
    case 'QUEUE_CLOSED':
      return `the waiting room of event ${request.ev} is closed (sold out or ended); it reopens when held seats come back; ${done}`;
    default:
      return undefined; // the catalogue's sentence (RATE_LIMITED, INTERNAL, PENDING, … carry their own)
  }
}

/** A best-available BAD_REQUEST, by the field the store named. */
async function bestBadRequest(eventId: string, reason: string, done: string, facts?: RefusalFacts): Promise<string> {
  switch (reason) {
    case 'n': {
      const event = await facts?.eventFacts(eventId).catch(() => null);
      return `best.n: must be from 1 to ${event ? event.rules.maxSeatsPerToken : 'the seats allowed per hold token'}; ${done}`;
    }
    case 'accessible':
      return `best.accessible: must not exceed best.n; ${done}`;
    case 'categories':
      return `best.categories: names a category the event's layout does not have; ${done}`;
    case 'sections':
      return `best.sections: names a section the event's layout does not have; ${done}`;
    default:
      return `best: event ${eventId} has no layout to pick seats from; ${done}`;
  }
}

/** The store's BAD_REQUEST after the protocol's checks passed: what is left to be wrong. */
function badRequest(request: SeatOperation, done: string): string {
  switch (request.t) {
    case 'hold':
      return `tok: ${tokOf(request)} is not a hold token (8 to 64 of A-Z a-z 0-9 _ -); ${done}`;
    case 'swap':
      return `release, hold: a seat is in both lists, or tok ${request.tok} is not a hold token; ${done}`;
    case 'release':
    case 'extend':
      return `tok: ${tokOf(request)} is not a hold token (8 to 64 of A-Z a-z 0-9 _ -); ${done}`;
    case 'book':
    case 'checkout':
      if (isDirectBook(request)) return `key: not safe text of at most 128 characters; ${done}`;
      return `tok: the hold token ${tokOf(request)} holds no seats, or key is not safe text of at most 128 characters; ${done}`;
  }
}

/** A `book` of free seats (the box office), not of a hold token. */
function isDirectBook(request: SeatOperation): request is Extract<SeatOperation, { t: 'book'; seats: number[] }> {
  return request.t === 'book' && 'seats' in request;
}

function tokOf(request: SeatOperation): string {
  return 'tok' in request && typeof request.tok === 'string' ? request.tok : '(none)';
}
