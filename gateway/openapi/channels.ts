/** OpenAPI description of gateway/channel-routes.ts: sales channels (presales) of an event. */
import { ADMIN, bodyRefusals, eventIdParameter, internalRefusal, json, jsonBody, refusals, tokenRefusals, type ApiPart, type Schema } from './schema.js';

const keyParameter = {
  name: 'key',
  in: 'path',
  required: true,
  description: 'the channel key, what a token carries in its `chan` claim: 1 to 32 of A-Z a-z 0-9 _ . -',
  schema: { type: 'string', pattern: '^[A-Za-z0-9_.-]{1,32}$' },
};

const ids = (what: string): Schema => ({
  type: 'array',
  minItems: 1,
  maxItems: 1000,
  items: { type: 'string', minLength: 1, maxLength: 32 },
  description: `${what} ids of the event's layout, expanded to their seats; an unknown one refuses the call (BAD_REQUEST)`,
});

const releaseAt: Schema = {
  type: ['integer', 'null'],
  description: 'when the channel\'s still-free seats go on sale, ms since the epoch; null: only a delete ends the channel',
};

const channel: Schema = {
  type: 'object',
  required: ['key', 'seats', 'releaseAt'],
  properties: {
    key: { type: 'string' },
    seats: { type: 'array', items: { type: 'integer', minimum: 0 }, description: 'the channel\'s seats, ascending: reserved (state 4), or held and booked by its members' },
    releaseAt,
  },
  additionalProperties: false,
};

const admin = tokenRefusals('admin');

export const CHANNELS_API: ApiPart = {
  tag: { name: 'channels', description: 'Admin: sales channels (presales): seats only tokens carrying the channel key in their `chan` claim may hold, until the channel is released (kept in Postgres for rebuilds)' },
  paths: {
    '/events/{id}/channels': {
      get: {
        summary: 'The event\'s sales channels',
        tags: ['channels'],
        operationId: 'listChannels',
        security: ADMIN,
        parameters: [eventIdParameter],
        responses: {
          '200': json('the channels, in the order they were made', { type: 'object', required: ['channels'], properties: { channels: { type: 'array', items: channel } }, additionalProperties: false }),
          ...refusals({ ...admin, 400: ['a bad event id', 'BAD_REQUEST'], 404: ['no such event', 'NO_EVENT'] }),
        },
      },
    },
    '/events/{id}/channels/{key}': {
      put: {
        summary: 'Create or replace a sales channel: its free seats turn reserved (one change-log entry)',
        tags: ['channels'],
        operationId: 'putChannel',
        security: ADMIN,
        parameters: [eventIdParameter, keyParameter],
        requestBody: jsonBody(
          {
            type: 'object',
            description: 'At least one of seats, sections, categories: the channel\'s seats are their union. Put again, the channel gives up the seats it no longer lists (reserved ones go on sale).',
            properties: {
              seats: { type: 'array', minItems: 1, items: { type: 'integer' }, description: 'seat indexes' },
              sections: ids('section'),
              categories: ids('category'),
              releaseAt: { oneOf: [releaseAt, { type: 'string', format: 'date-time' }], description: 'ms since the epoch or an ISO 8601 date-time; absent or null: none' },
            },
          },
          true,
        ),
        responses: {
          '200': json('the channel as it is now', {
            type: 'object',
            required: ['key', 'seq', 'seats', 'skipped', 'releaseAt'],
            properties: {
              key: { type: 'string' },
              seq: { type: 'integer', description: 'the change-log entry of the call; the event\'s current seq when no seat changed' },
              seats: { type: 'array', items: { type: 'integer' }, description: 'the channel\'s seats' },
              skipped: { type: 'array', items: { type: 'integer' }, description: 'listed seats left as they were: held, booked, blocked, or another channel\'s' },
              releaseAt,
            },
            additionalProperties: false,
          }),
          ...refusals({
            ...admin,
            400: ['a bad key, event id, body or releaseAt, an unknown section or category, an event with 100 channels already (BAD_REQUEST), or (BAD_SEAT) indexes out of range, listed in `seats`', 'BAD_REQUEST', 'BAD_SEAT'],
            404: ['no such event', 'NO_EVENT'],
            ...bodyRefusals('2 MiB'),
            ...internalRefusal('the put may be repeated'),
          }),
        },
      },
      get: {
        summary: 'One sales channel',
        tags: ['channels'],
        operationId: 'getChannel',
        security: ADMIN,
        parameters: [eventIdParameter, keyParameter],
        responses: {
          '200': json('the channel', channel),
          ...refusals({ ...admin, 400: ['a bad key or event id', 'BAD_REQUEST'], 404: ['no such event (NO_EVENT), or no such channel: never put, deleted or released (NOT_FOUND)', 'NO_EVENT', 'NOT_FOUND'] }),
        },
      },
      delete: {
        summary: 'End a sales channel now: its reserved seats go on sale (one change-log entry)',
        tags: ['channels'],
        operationId: 'deleteChannel',
        security: ADMIN,
        parameters: [eventIdParameter, keyParameter],
        responses: {
          '200': json('deleted', {
            type: 'object',
            required: ['key', 'deleted', 'seq', 'released'],
            properties: {
              key: { type: 'string' },
              deleted: { const: true },
              seq: { type: ['integer', 'null'], description: 'the event\'s seq after the release; null when the channel had been released at its releaseAt already' },
              released: { type: 'integer', minimum: 0, description: 'reserved seats put on sale' },
            },
            additionalProperties: false,
          }),
          ...refusals({ ...admin, 400: ['a bad key or event id', 'BAD_REQUEST'], 404: ['no such event (NO_EVENT), or no such channel (NOT_FOUND)', 'NO_EVENT', 'NOT_FOUND'], ...internalRefusal('the delete may be repeated') }),
        },
      },
    },
  },
};
