/**
 * The schema of an event log entry (core/bookings/event-log.ts), exactly as
 * the pull log returns it and a webhook receives it: one variant per entry
 * type, each with the `data` docs/bookings.md#event-types-and-payloads lists.
 */
import { BOOKING_STATES } from '../../core/bookings/states.js';
import { LOG_EVENT_TYPES, type LogEventType } from '../../core/bookings/event-log.js';
import { dateTime, nullable, seatIndex, type Schema } from './schema.js';

const seats = { type: 'array', items: seatIndex };

/** The booking after the change, as an entry carries it: what a receiver needs without asking back. */
const bookingSummary: Schema = {
  type: 'object',
  required: ['id', 'reference', 'holder', 'key', 'state', 'seats', 'cancelledSeats', 'payBy'],
  properties: {
    id: { type: 'string', format: 'uuid' },
    reference: { type: 'string', pattern: '^SM-' },
    holder: { type: 'string' },
    key: { type: 'string', description: 'the client\'s idempotency key, e.g. the order id' },
    state: { enum: [...BOOKING_STATES] },
    seats,
    cancelledSeats: seats,
    payBy: { ...nullable(dateTime), description: 'null for a booking made by `book`' },
  },
  additionalProperties: false,
};

/** A booking entry's data: the booking, the state it came from, who caused it, and what else `extra` names (`?` when it may be absent). */
function bookingData(from: Schema, by: Schema, extra: Record<string, Schema> = {}, required: string[] = []): Schema {
  return {
    type: 'object',
    required: ['booking', 'from', 'by', ...required],
    properties: { booking: bookingSummary, from, by, ...extra },
    additionalProperties: false,
  };
}

const someone = { type: ['string', 'null'], description: 'a token\'s subject, `payment-provider` for a signed callback' };
const fromState = { enum: [...BOOKING_STATES] };
const reason = { type: 'string' };

const DATA: Record<LogEventType, Schema> = {
  'booking.pending_payment': bookingData({ const: 'none' }, { type: 'string', description: 'the holder' }),
  'booking.confirmed': bookingData({ enum: ['none', 'pending_payment'], description: '`none` for a `book`, `pending_payment` for a payment' }, someone, { payment: { type: 'string' } }),
  'booking.failed': bookingData(fromState, someone, { reason }),
  'booking.expired': bookingData(fromState, { type: 'null', description: 'the gateway' }, { reason }, ['reason']),
  'booking.cancelled': bookingData(fromState, someone, { reason, seats: { ...seats, description: 'when the last seats were cancelled by name' } }),
  'booking.seats_cancelled': bookingData(fromState, someone, { reason, seats: { ...seats, description: 'those cancelled now' } }, ['seats']),
  'booking.checked_in': bookingData(fromState, { type: ['string', 'null'], description: 'the scanner' }, { gate: { type: ['string', 'null'], description: 'null when the scan named none' }, seats: { ...seats, description: 'those checked in now' } }, ['gate', 'seats']),
  'hold.expired': {
    type: 'object',
    required: ['token', 'holder', 'seats', 'expiredAt'],
    properties: { token: { type: 'string' }, holder: { type: 'string' }, seats: { ...seats, description: 'freed' }, expiredAt: dateTime },
    additionalProperties: false,
  },
  'event.soldout': {
    type: 'object',
    required: ['seatCount', 'taken'],
    properties: { seatCount: { type: 'integer' }, taken: { type: 'integer', description: 'seats in active bookings or blocked: all of them' } },
    additionalProperties: false,
  },
  'event.rebuilt': {
    type: 'object',
    required: ['epoch', 'seatCount', 'booked', 'blocked', 'bookings'],
    properties: {
      epoch: { type: 'integer', description: 'the new one' },
      seatCount: { type: 'integer' },
      booked: { type: 'integer' },
      blocked: { type: 'integer' },
      bookings: { type: 'integer' },
    },
    additionalProperties: false,
  },
};

export const LOG_ENTRY: Schema = {
  description: 'An entry of an event\'s log (docs/bookings.md#the-event-log): the pull log\'s and a webhook delivery\'s body',
  oneOf: LOG_EVENT_TYPES.map((type) => ({
    type: 'object',
    required: ['id', 'type', 'eventId', 'seq', 'at', 'data'],
    properties: {
      id: { type: 'string', format: 'uuid', description: 'unique: the `Seatmap-Id` of its deliveries; deduplicate on it' },
      type: { const: type },
      eventId: { type: 'string' },
      seq: { type: 'integer', minimum: 1, description: 'the position in the event\'s log, in commit order' },
      at: { ...dateTime, description: 'the time of the writing transaction' },
      data: DATA[type],
    },
    additionalProperties: false,
  })),
};
