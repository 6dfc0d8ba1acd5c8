/** OpenAPI description of gateway/block-routes.ts: blocking and unblocking seats, one by one or by section and category. */
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
    description: 'At least one field. `seats` alone: all or nothing. With `sections` or `categories`: a bulk call over the union of the seats listed, the sections\' and the categories\' seats (docs/bookings.md#blocking-seats).',
    minProperties: 1,
    properties: {
      seats: { type: 'array', minItems: 1, items: { type: 'integer' }, description: 'seat indexes; at most 1,000 in a call of seats alone' },
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
              400: ['not JSON, seats not integers, an unknown section or category id, an event without a layout asked by section or category (BAD_REQUEST), or (BAD_SEAT) indexes out of range or repeated: `seats` lists every one', 'BAD_REQUEST', 'BAD_SEAT'],
              404: ['no such event', 'NO_EVENT'],
              409: op === 'block' ? ['seats alone: seats not free (`seats`)', 'UNAVAILABLE'] : ['seats alone: seats not blocked (`seats`)', 'CONFLICT'],
              ...bodyRefusals('64 KiB'),
              ...internalRefusal('the outcome is unknown: look at the seats before trying again (a bulk call may simply be repeated)'),
            }),
          },
        },
      },
    ]),
  ),
};
