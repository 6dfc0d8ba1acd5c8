/** OpenAPI description of gateway/door-routes.ts: check-in at the door (scope `seats:door`). */
import { bookingParameter } from './bookings.js';
import { bodyRefusals, eventIdParameter, internalRefusal, json, jsonBody, ref, refusals, safeText, seatSelection, tokenRefusals, type ApiPart } from './schema.js';

export const DOOR_API: ApiPart = {
  tag: { name: 'door', description: 'Check-in at the door, with the scanners\' tokens (scope seats:door; admin does not imply it)' },
  paths: {
    '/events/{id}/bookings/{booking}/check-in': {
      post: {
        summary: 'Check in every seat of a booking, or the seats scanned',
        description:
          'The first seat checked in takes the booking `confirmed → checked_in`; the seat map does not change. Idempotent: a seat scanned again changes nothing, and `already` says when, where and by whom it was first checked in (docs/bookings.md#check-in-at-the-door).',
        tags: ['door'],
        operationId: 'checkIn',
        security: [{ bearer: ['seats:door'] }],
        parameters: [eventIdParameter, bookingParameter],
        requestBody: jsonBody(
          { type: 'object', properties: { seats: seatSelection, gate: safeText(64, 'where: the gate or scanner') } },
          false,
          'optional (at most 16 KiB): an empty body checks in every seat of the booking',
        ),
        responses: {
          '200': json('checked in (or already)', {
            type: 'object',
            required: ['booking', 'changed', 'checkedIn', 'already'],
            properties: {
              booking: ref('Booking'),
              changed: { type: 'boolean', description: 'false when every seat was checked in before' },
              checkedIn: { type: 'array', items: ref('CheckIn'), description: 'seats checked in by this call' },
              already: { type: 'array', items: ref('CheckIn'), description: 'seats checked in before: the first time' },
            },
            additionalProperties: false,
          }),
          ...refusals({
            ...tokenRefusals('seats:door'),
            400: ['a malformed event id, booking, body, `seats` or gate (BAD_REQUEST), or (BAD_SEAT) seats the booking does not have, listed in `seats`', 'BAD_REQUEST', 'BAD_SEAT'],
            404: ['the event has no such booking', 'NOT_FOUND'],
            409: ['the booking admits no one (awaiting payment, cancelled, failed, expired), or seats cancelled from it (`seats`)', 'CONFLICT'],
            ...bodyRefusals('16 KiB'),
            ...internalRefusal('the outcome is unknown: scanning again is safe'),
          }),
        },
      },
    },
  },
};
