/**
 * OpenAPI description of gateway/booking-routes.ts: the bookings admin API
 * (a page of bookings, one with its history and check-ins, cancel of all or
 * some seats), deleting an event; and the booking objects
 * the lifecycle routes (door.ts, payments.ts) answer with too.
 */
import { BOOKING_ACTIONS, BOOKING_STATES } from '../../core/bookings/states.js';
import {
  ADMIN,
  bodyRefusals,
  dateTime,
  eventIdParameter,
  internalRefusal,
  json,
  jsonBody,
  nullable,
  ref,
  refusals,
  safeText,
  seatIndex,
  seatSelection,
  tokenRefusals,
  type ApiPart,
  type Schema,
} from './schema.js';

export const bookingParameter = { name: 'booking', in: 'path', required: true, description: 'the booking id (UUID) or reference (SM-…)', schema: { type: 'string' } };
const admin = tokenRefusals('admin');

const bookingProperties: Record<string, Schema> = {
  id: { type: 'string', format: 'uuid' },
  reference: { type: 'string', pattern: '^SM-', description: 'what a support desk and the buyer use; the WebSocket `book` reply calls it `reference` too' },
  eventId: { type: 'string' },
  holder: { type: 'string' },
  key: { type: 'string', description: 'the idempotency key of the book or checkout' },
  state: { enum: [...BOOKING_STATES], description: 'docs/bookings.md#booking-states' },
  seats: { type: 'array', items: seatIndex, description: 'the seats it has now (a partial cancel removes some)' },
  cancelledSeats: { type: 'array', items: seatIndex, description: 'seats cancelled from it while the rest stayed valid' },
  seq: { type: ['integer', 'null'] },
  epoch: { type: ['integer', 'null'] },
  bookedAt: dateTime,
  committedAt: dateTime,
  payBy: { ...nullable(dateTime), description: 'when an unpaid checkout expires; null for a booking made by `book`' },
  cancelledAt: nullable(dateTime),
  updatedAt: { ...nullable(dateTime), description: 'the last change of state or seats' },
};

const historyEntry: Schema = {
  type: 'object',
  description: 'one edge of the state graph',
  required: ['from', 'to', 'action', 'at', 'detail'],
  properties: {
    from: { enum: ['none', ...BOOKING_STATES] },
    to: { enum: [...BOOKING_STATES] },
    action: { enum: [...Object.keys(BOOKING_ACTIONS), null] },
    at: dateTime,
    detail: { description: 'the commit (`seq`, `epoch`, `entry`, `consumer`) for the first row; `by`, `reason`, `payment`, `seats`, `gate` as they apply for later ones' },
  },
  additionalProperties: false,
};

/** `{booking, changed, freed}`: a change of a booking that may give seats up (cancel, a failed payment). */
export function bookingChange(freed: Schema): Schema {
  return {
    type: 'object',
    required: ['booking', 'changed', 'freed'],
    properties: { booking: ref('Booking'), changed: { type: 'boolean', description: 'false when it had happened already: nothing changed' }, freed },
    additionalProperties: false,
  };
}
export const FREED = { type: 'integer', minimum: 0, description: 'seats set free in the seat map by this call' };
export const NOT_YET_FREED = { type: 'null', description: 'Redis could not free the seats yet: retried in the background (docs/bookings.md#seat-releases-postgres-first-then-redis)' };

export const BOOKINGS_API: ApiPart = {
  tag: { name: 'bookings', description: 'Admin: bookings from Postgres, cancel, delete an event' },
  schemas: {
    Booking: { type: 'object', required: Object.keys(bookingProperties), properties: bookingProperties, additionalProperties: false },
    CheckIn: {
      type: 'object',
      description: 'a seat checked in at the door: when, where (the gate) and by whom (the scanner token\'s subject), the first time',
      required: ['seat', 'at', 'gate', 'by'],
      properties: { seat: seatIndex, at: dateTime, gate: { type: ['string', 'null'] }, by: { type: ['string', 'null'] } },
      additionalProperties: false,
    },
  },
  paths: {
    '/events/{id}': {
      delete: {
        summary: 'Delete the event on purpose (not rebuilt from Postgres; its bookings are kept)',
        tags: ['bookings'],
        operationId: 'deleteEvent',
        security: ADMIN,
        parameters: [eventIdParameter],
        responses: {
          '200': json('deleted', { type: 'object', required: ['id', 'deleted'], properties: { id: { type: 'string' }, deleted: { const: true } }, additionalProperties: false }),
          ...refusals({ ...admin, 400: ['a malformed event id', 'BAD_REQUEST'], 404: ['neither Redis nor Postgres has the event', 'NO_EVENT'], ...internalRefusal('deleting again is safe') }),
        },
      },
    },
    '/events/{id}/bookings': {
      get: {
        summary: 'A page of the event\'s bookings, newest first',
        tags: ['bookings'],
        operationId: 'listBookings',
        security: ADMIN,
        parameters: [
          eventIdParameter,
          { name: 'limit', in: 'query', description: 'default 100', schema: { type: 'integer', minimum: 1, maximum: 500 } },
          { name: 'state', in: 'query', schema: { enum: [...BOOKING_STATES] } },
          { name: 'holder', in: 'query', schema: safeText(128) },
          { name: 'cursor', in: 'query', description: 'the `next` of the previous page', schema: { type: 'string' } },
        ],
        responses: {
          '200': json('a page (empty for an event without bookings)', {
            type: 'object',
            required: ['bookings', 'next'],
            properties: { bookings: { type: 'array', items: ref('Booking') }, next: { type: ['string', 'null'], description: 'null on the last page' } },
            additionalProperties: false,
          }),
          ...refusals({ ...admin, 400: ['a malformed id, limit, state, holder or cursor', 'BAD_REQUEST'], ...internalRefusal('nothing was changed') }),
        },
      },
    },
    '/events/{id}/bookings/{booking}': {
      get: {
        summary: 'One booking, by id or reference, with its history and its check-ins',
        tags: ['bookings'],
        operationId: 'getBooking',
        security: ADMIN,
        parameters: [eventIdParameter, bookingParameter],
        responses: {
          '200': json('the booking', {
            type: 'object',
            required: [...Object.keys(bookingProperties), 'history', 'checkIns'],
            properties: { ...bookingProperties, history: { type: 'array', items: historyEntry }, checkIns: { type: 'array', items: ref('CheckIn'), description: 'by seat' } },
            additionalProperties: false,
          }),
          ...refusals({ ...admin, 400: ['a malformed event id or booking', 'BAD_REQUEST'], 404: ['the event has no such booking', 'NOT_FOUND'], ...internalRefusal('nothing was changed') }),
        },
      },
    },
    '/events/{id}/bookings/{booking}/cancel': {
      post: {
        summary: 'Cancel a booking, or some of its seats: Postgres first, then the seats are freed for every watcher',
        description:
          'Without `seats`, the whole booking (awaiting payment or confirmed; not one with a seat checked in). With `seats`, only those: the rest stays valid; seats cancelled before are ignored, and cancelling every seat left cancels the booking (docs/bookings.md#cancelling). Idempotent: a repeat answers `changed: false`.',
        tags: ['bookings'],
        operationId: 'cancelBooking',
        security: ADMIN,
        parameters: [eventIdParameter, bookingParameter, { name: 'reason', in: 'query', description: 'the body\'s `reason` wins', schema: safeText(500) }],
        requestBody: jsonBody(
          { type: 'object', properties: { seats: seatSelection, reason: safeText(500, 'kept in the history and the log entry') } },
          false,
          'optional (at most 16 KiB): an empty body cancels the whole booking',
        ),
        responses: {
          '200': json('cancelled (or already)', bookingChange(FREED)),
          '202': json('cancelled in Postgres, the seats not yet free in Redis: freed in the background, or by cancelling again', bookingChange(NOT_YET_FREED)),
          ...refusals({
            ...admin,
            400: ['a malformed event id, booking, body, `seats` or reason (BAD_REQUEST), or (BAD_SEAT) seats the booking never had, listed in `seats`', 'BAD_REQUEST', 'BAD_SEAT'],
            404: ['the event has no such booking', 'NOT_FOUND'],
            409: ['the booking\'s state does not allow it (failed, expired; a seat checked in, listed in `seats`; a booking awaiting payment cancelled seat by seat)', 'CONFLICT'],
            ...bodyRefusals('16 KiB'),
            ...internalRefusal('the outcome is unknown: cancelling again is safe'),
          }),
        },
      },
    },
  },
};
