/** OpenAPI description of gateway/event-routes.ts: layouts, availability, creating events. */
import { ADMIN, errors, eventIdParameter, json, ref, type ApiPart } from './schema.js';

const layoutView = {
  type: 'object',
  description: 'Columnar: a seat\'s position in the `seats` arrays is its seat index, the one the WebSocket protocol uses (docs/layout.md).',
  required: ['id', 'epoch', 'name', 'currency', 'seatCount', 'focal', 'selection', 'categories', 'sections', 'areas', 'rows', 'seats'],
  properties: {
    id: { type: 'string' },
    epoch: { type: 'integer' },
    name: { type: 'string' },
    currency: { type: 'string' },
    seatCount: { type: 'integer', minimum: 1 },
    focal: {
      type: 'object',
      description: 'the stage: the layout\'s focal point, or the centre of the seats\' bounding box',
      required: ['x', 'y'],
      properties: { x: { type: 'number' }, y: { type: 'number' } },
    },
    selection: {
      type: 'object',
      description: 'how the event sells seats (docs/layout.md#selection-settings)',
      required: ['orphanPolicy', 'accessible'],
      properties: {
        orphanPolicy: { enum: ['off', 'lenient', 'strict'] },
        accessible: {
          type: 'object',
          required: ['protectUntil', 'maxCompanionsPerWheelchair'],
          properties: { protectUntil: { type: ['integer', 'null'], description: 'epoch ms; null: wheelchair seats are not protected' }, maxCompanionsPerWheelchair: { type: 'integer', minimum: 1, maximum: 3 } },
        },
      },
    },
    categories: {
      type: 'array',
      items: { type: 'object', required: ['id', 'label', 'price'], properties: { id: { type: 'string' }, label: { type: 'string' }, price: { type: 'integer', description: 'minor units of currency' } } },
    },
    sections: {
      type: 'array',
      items: { type: 'object', required: ['id', 'label', 'rows'], properties: { id: { type: 'string' }, label: { type: 'string' }, rows: { type: 'array', items: { type: 'integer' } } } },
    },
    areas: {
      type: 'array',
      description: 'the general-admission areas (sections of kind "ga"), sold by quantity; an area\'s position is its area index, the one hold/release `ga` and snap/diff `ga` use (docs/layout.md#general-admission-areas)',
      items: {
        type: 'object',
        required: ['id', 'label', 'category', 'capacity', 'shape'],
        properties: {
          id: { type: 'string' },
          label: { type: 'string' },
          category: { type: 'integer', description: 'index into categories' },
          capacity: { type: 'integer', minimum: 1 },
          shape: {
            type: 'object',
            description: 'an axis-aligned rectangle in seat coordinates: top-left corner and size',
            required: ['x', 'y', 'width', 'height'],
            properties: { x: { type: 'number' }, y: { type: 'number' }, width: { type: 'number' }, height: { type: 'number' } },
          },
        },
      },
    },
    rows: {
      type: 'array',
      items: {
        type: 'object',
        required: ['label', 'section', 'first', 'count'],
        properties: { label: { type: 'string' }, section: { type: 'integer' }, first: { type: 'integer' }, count: { type: 'integer' } },
      },
    },
    seats: {
      type: 'object',
      required: ['label', 'x', 'y', 'category', 'rank', 'attrs'],
      properties: {
        label: { type: 'array', items: { type: 'string' } },
        x: { type: 'array', items: { type: 'number' } },
        y: { type: 'array', items: { type: 'number' } },
        category: { type: 'array', items: { type: 'integer' } },
        rank: { type: 'array', items: { type: 'integer', minimum: 0 }, description: 'per seat, 0 best: the order best available picks seats in (equal = a tie)' },
        attrs: {
          type: 'object',
          description: 'per attribute, the indexes of the seats that have it (ascending)',
          required: ['wheelchair', 'companion', 'aisle', 'restrictedView'],
          additionalProperties: false,
          properties: Object.fromEntries(['wheelchair', 'companion', 'aisle', 'restrictedView'].map((a) => [a, { type: 'array', items: { type: 'integer' } }])),
        },
      },
    },
  },
};

const freeBlock = {
  type: 'object',
  description: 'the largest block of adjacent free seats (same row, consecutive seat indexes: docs/layout.md#blocks-of-adjacent-seats)',
  required: ['size', 'first'],
  properties: { size: { type: 'integer', minimum: 0 }, first: { type: ['integer', 'null'], minimum: 0, description: 'its first seat index; null when no seat is free' } },
  additionalProperties: false,
};

const groupCounts = (what: string) => ({
  type: 'array',
  description: `per ${what} of the layout, in its order; empty for an event stored without one`,
  items: {
    allOf: [
      ref('StateCounts'),
      { type: 'object', required: ['id', 'label', 'largestBlock'], properties: { id: { type: 'string' }, label: { type: 'string' }, largestBlock: freeBlock } },
    ],
  },
});

const availability = {
  type: 'object',
  required: ['id', 'epoch', 'seq', 'seatCount', 'totals', 'categories', 'sections', 'areas'],
  properties: {
    id: { type: 'string' },
    epoch: { type: 'integer' },
    seq: { type: 'integer' },
    seatCount: { type: 'integer' },
    totals: ref('StateCounts'),
    categories: groupCounts('category'),
    sections: groupCounts('section'),
    channels: {
      type: 'array',
      description: "only for a token with the admin scope: each sales channel's seats and how many are in each state now (reserved: still free for its members)",
      items: {
        type: 'object',
        required: ['key', 'releaseAt', 'seats', 'reserved', 'held', 'booked', 'blocked'],
        properties: {
          key: { type: 'string' },
          releaseAt: { type: ['integer', 'null'] },
          seats: { type: 'integer' },
          reserved: { type: 'integer' },
          held: { type: 'integer' },
          booked: { type: 'integer' },
          blocked: { type: 'integer' },
        },
      },
    },
    areas: {
      type: 'array',
      description: 'per general-admission area, in area index order: its places by state (free = capacity − held − booked − blocked, as snap/diff `ga`); empty for an event without areas or without a layout. Seats only are in `totals`, `categories` and `sections`.',
      items: {
        type: 'object',
        required: ['area', 'id', 'label', 'capacity', 'free', 'held', 'booked', 'blocked'],
        additionalProperties: false,
        properties: {
          area: { type: 'integer', minimum: 0, description: 'the area index (hold/release `ga`, snap/diff `ga`)' },
          id: { type: 'string' },
          label: { type: 'string' },
          capacity: { type: 'integer', minimum: 1 },
          free: { type: 'integer', minimum: 0 },
          held: { type: 'integer', minimum: 0 },
          booked: { type: 'integer', minimum: 0 },
          blocked: { type: 'integer', minimum: 0 },
        },
      },
    },
  },
};

export const EVENTS_API: ApiPart = {
  tag: { name: 'events', description: 'Event layouts and availability, and creating events' },
  paths: {
    '/events': {
      post: {
        summary: 'Create an event from a venue layout',
        description:
          'The body is `{"id": "...", "layout": {...}}`, or `{"layout": {...}}`, or the layout itself (what `npm run venue` writes): without an id, the gateway makes one and answers it.',
        tags: ['events'],
        operationId: 'createEvent',
        security: ADMIN,
        requestBody: {
          required: true,
          content: {
            'application/json': {
              schema: {
                oneOf: [
                  { type: 'object', required: ['layout'], properties: { id: { type: 'string', description: 'optional; generated when left out' }, layout: { type: 'object' } } },
                  { type: 'object', required: ['sections'], description: 'a bare layout (docs/layout.md)' },
                ],
              },
            },
          },
        },
        responses: {
          '201': json('created', {
            type: 'object',
            required: ['id', 'epoch', 'seatCount'],
            properties: { id: { type: 'string' }, epoch: { type: 'integer' }, seatCount: { type: 'integer' } },
            additionalProperties: false,
          }),
          ...errors({
            400: 'not JSON, a bad id, or an invalid layout (`issues` lists what is wrong)',
            401: 'no valid token',
            403: 'a token without the admin scope',
            409: 'the event exists (in Redis, or in Postgres)',
            413: 'the body is over MAX_BODY_BYTES',
            500: 'Postgres unreachable: it cannot be checked that the event is new',
            503: 'the server is receiving too many request bodies at once',
          }),
        },
      },
    },
    '/events/{id}': {
      get: {
        summary: 'The event\'s layout, cached per epoch',
        tags: ['events'],
        operationId: 'getLayout',
        parameters: [eventIdParameter],
        responses: {
          '200': json('the layout view (gzip when accepted; ETag per epoch)', layoutView),
          '304': { description: 'If-None-Match matched the ETag' },
          ...errors({ 400: 'a malformed event id', 404: 'no such event, or one stored without a layout', 500: 'the stored layout is invalid' }),
        },
      },
    },
    '/events/{id}/availability': {
      get: {
        summary: 'Seats free, held, booked and blocked, in total, per category and per section, with the largest blocks of adjacent free seats',
        tags: ['events'],
        operationId: 'getAvailability',
        description: 'Open to anyone. A token is optional; when one is sent it must be valid (else 401), and one with the admin scope adds the counts per sales channel.',
        security: [{}, { bearer: [] }],
        parameters: [eventIdParameter],
        responses: { '200': json('the counts now', availability), ...errors({ 400: 'a malformed event id', 401: 'a token was sent and is not valid', 404: 'no such event' }) },
      },
    },
  },
};
