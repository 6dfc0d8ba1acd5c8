/** OpenAPI description of gateway/block-routes.ts: blocking and unblocking seats, one by one or by section and category, and places of general-admission areas. */
import { ADMIN, bodyRefusals, eventIdParameter, internalRefusal, json, jsonBody, refusals, tokenRefusals, type ApiPart, type Schema } from './schema.js';

const ids = (what: string): Schema => ({
  type: 'array',
  minItems: 1,
  maxItems: 1000,
  items: { type: 'string', minLength: 1, maxLength: 32 },
  description: `${what} ids of the event's layout; an unknown one refuses the call (BAD_REQUEST, naming it)`,
});

const blockBody = jsonBody(
  {
    type: 'object',
    description: 'At least one field. `seats` and/or `areas`: all or nothing, one change-log entry. With `sections` or `categories`: a bulk call over the union of the seats listed, the sections\' and the categories\' seats (docs/bookings.md#blocking-seats); `areas` does not go with them.',
    minProperties: 1,
    properties: {
      seats: { type: 'array', minItems: 1, items: { type: 'integer' }, description: 'seat indexes; at most 1,000 in a call of seats alone' },
      areas: {
        type: 'array',
        minItems: 1,
        maxItems: 1000,
        items: { type: 'array', prefixItems: [{ type: 'integer', minimum: 0 }, { type: 'integer', minimum: 1, maximum: 1000 }], minItems: 2, maxItems: 2 },
        description: 'places of general-admission areas, `[area, qty]` pairs, each area once: block takes `qty` more off sale (held + booked + blocked + qty ≤ capacity, else UNAVAILABLE reason `ga` with `areas` and `left`); unblock puts `qty` blocked places back (more than are blocked: CONFLICT reason `ga`)',
      },
      sections: ids('section'),
      categories: ids('category'),
    },
  },
  true,
);

const seqOnly: Schema = { type: 'object', required: ['seq'], properties: { seq: { type: 'integer' } }, additionalProperties: false };

const bulkAnswer = (op: 'block' | 'unblock'): Schema => ({
  type: 'object',
  description: 'A bulk call: what moved, and what was left as it was. One change-log entry (none when nothing moved).',
  required: ['seq', 'changed', 'unchanged', 'held', 'booked'],
  properties: {
    seq: { type: 'integer', description: 'the change-log entry of the call; the event\'s current seq when nothing moved' },
    changed: { type: 'integer', minimum: 0, description: op === 'block' ? 'free seats now blocked' : 'blocked seats now free' },
    unchanged: { type: 'integer', minimum: 0, description: op === 'block' ? 'seats that were blocked already' : 'seats that were free already' },
    held: { type: 'array', items: { type: 'integer' }, description: 'seats held: left as they are' },
    booked: { type: 'array', items: { type: 'integer' }, description: 'seats booked: left as they are' },
  },
  additionalProperties: false,
});

export const BLOCKS_API: ApiPart = {
  tag: { name: 'blocks', description: 'Admin: taking seats off sale and back, one by one or by section and category (kept in Postgres for rebuilds)' },
  paths: Object.fromEntries(
    (['block', 'unblock'] as const).map((op) => [
      `/events/{id}/${op}`,
      {
        post: {
          summary: op === 'block' ? 'Take free seats off sale (kept in Postgres for rebuilds)' : 'Put blocked seats back on sale',
          tags: ['blocks'],
          operationId: `${op}Seats`,
          security: ADMIN,
          parameters: [eventIdParameter],
          requestBody: blockBody,
          responses: {
            '200': json('done: `{seq}` for a call of seats alone, the bulk answer for one naming sections or categories', { oneOf: [seqOnly, bulkAnswer(op)] }),
            ...refusals({
              ...tokenRefusals('admin'),
              400: ['not JSON, seats not integers, malformed `areas` or an area the event does not have (reason `ga`), `areas` with `sections` or `categories`, an unknown section or category id, an event without a layout asked by section or category (BAD_REQUEST), or (BAD_SEAT) indexes out of range or repeated: `seats` lists every one', 'BAD_REQUEST', 'BAD_SEAT'],
              404: ['no such event', 'NO_EVENT'],
              409: op === 'block' ? ['seats alone: seats not free (`seats`), or an area without room for the places (reason `ga`, `areas`, `left`)', 'UNAVAILABLE'] : ['seats alone: seats not blocked (`seats`), or fewer places blocked in an area than asked (reason `ga`, `areas`, `left`)', 'CONFLICT'],
              ...bodyRefusals('64 KiB'),
              ...internalRefusal('the outcome is unknown: look at the seats before trying again (a bulk call may simply be repeated)'),
            }),
          },
        },
      },
    ]),
  ),
};
