/** OpenAPI description of gateway/booking-routes.ts: the bookings admin API, blocking seats, deleting an event. */
import { ADMIN, errors, eventIdParameter, json, ref, type ApiPart } from './schema.js';

const bookingParameter = { name: 'booking', in: 'path', required: true, description: 'the booking id (UUID) or reference (SM-…)', schema: { type: 'string' } };
const seatsBody = {
  required: true,
  content: { 'application/json': { schema: { type: 'object', required: ['seats'], properties: { seats: { type: 'array', minItems: 1, maxItems: 1000, items: { type: 'integer' } } } } } },
};
const adminRefusals = { 401: 'no valid token', 403: 'a token without the admin scope' };

export const BOOKINGS_API: ApiPart = {
  tag: { name: 'bookings', description: 'Admin: bookings from Postgres, cancel, block and unblock seats, delete an event' },
  schemas: {
    Booking: {
      type: 'object',
      required: ['id', 'reference', 'eventId', 'holder', 'key', 'state', 'seats', 'seq', 'epoch', 'bookedAt', 'committedAt', 'cancelledAt'],
      properties: {
        id: { type: 'string', format: 'uuid' },
        reference: { type: 'string', pattern: '^SM-', description: 'what a support desk and the buyer use; the WebSocket `book` reply calls it `reference` too' },
        eventId: { type: 'string' },
        holder: { type: 'string' },
        key: { type: 'string', description: 'the idempotency key of the book' },
        state: { enum: ['confirmed', 'cancelled'] },
        seats: { type: 'array', items: { type: 'integer' } },
        seq: { type: ['integer', 'null'] },
        epoch: { type: ['integer', 'null'] },
        bookedAt: { type: 'string', format: 'date-time' },
        committedAt: { type: 'string', format: 'date-time' },
        cancelledAt: { type: ['string', 'null'], format: 'date-time' },
      },
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
          '200': json('deleted', { type: 'object', required: ['id', 'deleted'], properties: { id: { type: 'string' }, deleted: { const: true } } }),
          ...errors({ ...adminRefusals, 400: 'a malformed event id', 404: 'no such event' }),
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
          { name: 'limit', in: 'query', schema: { type: 'integer', minimum: 1, maximum: 500 } },
          { name: 'state', in: 'query', schema: { enum: ['confirmed', 'cancelled'] } },
          { name: 'holder', in: 'query', schema: { type: 'string' } },
          { name: 'cursor', in: 'query', description: 'the `next` of the previous page', schema: { type: 'string' } },
        ],
        responses: {
          '200': json('a page', { type: 'object', required: ['bookings', 'next'], properties: { bookings: { type: 'array', items: ref('Booking') }, next: { type: ['string', 'null'] } } }),
          ...errors({ ...adminRefusals, 400: 'a malformed id, limit, state, holder or cursor' }),
        },
      },
    },
    '/events/{id}/bookings/{booking}': {
      get: {
        summary: 'One booking, by id or reference, with its history',
        tags: ['bookings'],
        operationId: 'getBooking',
        security: ADMIN,
        parameters: [eventIdParameter, bookingParameter],
        responses: {
          '200': json('the booking', {
            allOf: [
              ref('Booking'),
              {
                type: 'object',
                required: ['history'],
                properties: { history: { type: 'array', items: { type: 'object', required: ['from', 'to', 'at'], properties: { from: { type: 'string' }, to: { type: 'string' }, at: { type: 'string' } } } } },
              },
            ],
          }),
          ...errors({ ...adminRefusals, 400: 'a malformed event id or booking', 404: 'no such booking' }),
        },
      },
    },
    '/events/{id}/bookings/{booking}/cancel': {
      post: {
        summary: 'Cancel a booking: Postgres first, then its seats are freed for every watcher',
        tags: ['bookings'],
        operationId: 'cancelBooking',
        security: ADMIN,
        parameters: [eventIdParameter, bookingParameter, { name: 'reason', in: 'query', schema: { type: 'string' } }],
        responses: {
          '200': json('cancelled (or already)', { type: 'object', required: ['booking', 'changed', 'freed'], properties: { booking: ref('Booking'), changed: { type: 'boolean' }, freed: { type: 'integer' } } }),
          '202': json('cancelled in Postgres, the seats not yet free in Redis: cancel again to finish', {
            type: 'object',
            required: ['booking', 'changed', 'freed'],
            properties: { booking: ref('Booking'), changed: { type: 'boolean' }, freed: { type: 'null' } },
          }),
          ...errors({ ...adminRefusals, 400: 'a malformed event id, booking or reason', 404: 'no such booking', 409: 'the booking cannot be cancelled' }),
        },
      },
    },
    ...Object.fromEntries(
      (['block', 'unblock'] as const).map((op) => [
        `/events/{id}/${op}`,
        {
          post: {
            summary: op === 'block' ? 'Take free seats off sale (kept in Postgres for rebuilds)' : 'Put blocked seats back on sale',
            tags: ['bookings'],
            operationId: `${op}Seats`,
            security: ADMIN,
            parameters: [eventIdParameter],
            requestBody: seatsBody,
            responses: {
              '200': json('done', { type: 'object', required: ['seq'], properties: { seq: { type: 'integer' } } }),
              ...errors({
                ...adminRefusals,
                400: 'not JSON, seats not integers, or (BAD_SEAT) indexes out of range or repeated: `seats` lists every one',
                404: 'no such event',
                409: op === 'block' ? 'seats not free (`seats`)' : 'seats not blocked (`seats`)',
                413: 'the body is over 64 KiB',
              }),
            },
          },
        },
      ]),
    ),
  },
};
