/**
 * OpenAPI description of gateway/queue-routes.ts: an event's waiting room
 * (admin scope; docs/onsale.md).
 */
import { ADMIN, bodyRefusals, eventIdParameter, json, jsonBody, ref, refusals, tokenRefusals, type ApiPart, type Schema } from './schema.js';

const admin = tokenRefusals('admin');
const redisFailed = { 500: ['Redis did not answer; nothing is known to have changed', 'INTERNAL'] } as const;
const noRoom = { 404: ['the event has no waiting room', 'NOT_FOUND'] } as const;
const epochMs = (description: string): Schema => ({ type: 'integer', minimum: 0, description });

const settings: Record<string, Schema> = {
  onSaleAt: epochMs('epoch ms: admission starts; who waits then is in the pre-queue'),
  prequeueFrom: epochMs('epoch ms from which joining is possible (0: at once); before it `queue` answers QUEUE_CLOSED'),
  admitPerMinute: { type: 'integer', minimum: 1, maximum: 10_000_000, description: 'admissions per minute (fractions carried between steps)' },
  maxActive: { type: 'integer', minimum: 0, description: 'most subjects admitted at once (0: no cap)' },
  admissionTtlMs: { type: 'integer', minimum: 1000, maximum: 86_400_000, description: 'how long an admission lets its subject hold (default 600000)' },
  order: { enum: ['random-then-fifo', 'fifo'], description: 'random-then-fifo (default): everyone waiting at onSaleAt gets a random place, later arrivals queue in order; fifo: arrival order throughout' },
  closeWhenSoldOut: { type: 'boolean', description: 'close the room (QUEUE_CLOSED, qclosed SOLD_OUT) while no seat is free, and open it again when one is (default true)' },
  endsAt: epochMs('epoch ms: the sale ends, the room closes for everyone (0: never)'),
};

export const QUEUE_API: ApiPart = {
  tag: { name: 'queue', description: 'An event\'s waiting room (docs/onsale.md)' },
  schemas: {
    Queue: {
      type: 'object',
      required: ['id', ...Object.keys(settings), 'state'],
      properties: {
        id: { type: 'string' },
        ...settings,
        state: {
          type: 'object',
          required: ['closed', 'waiting', 'active', 'admittedTotal'],
          properties: {
            closed: { enum: [null, 'SOLD_OUT', 'ENDED'], description: 'null while open' },
            waiting: { type: 'integer', minimum: 0, description: 'subjects waiting (pre-queue included)' },
            active: { type: 'integer', minimum: 0, description: 'subjects whose admission runs' },
            admittedTotal: { type: 'integer', minimum: 0 },
          },
          additionalProperties: false,
        },
      },
      additionalProperties: false,
    },
  },
  paths: {
    '/events/{id}/queue': {
      put: {
        summary: 'Put a waiting room on the event, or change its settings (places and admissions are kept)',
        tags: ['queue'],
        operationId: 'putQueue',
        security: ADMIN,
        parameters: [eventIdParameter],
        requestBody: jsonBody({ type: 'object', required: ['onSaleAt', 'admitPerMinute'], properties: settings, additionalProperties: false }, true, 'at most 4 KiB'),
        responses: {
          '200': json('the settings were changed', ref('Queue')),
          '201': json('the waiting room was put on', ref('Queue')),
          ...refusals({ ...admin, 400: ['a bad event id; not a JSON object; a setting missing, unknown or out of range', 'BAD_REQUEST'], 404: ['no such event', 'NO_EVENT'], ...bodyRefusals('4 KiB'), ...redisFailed }),
        },
      },
      get: {
        summary: 'The waiting room\'s settings and state',
        tags: ['queue'],
        operationId: 'getQueue',
        security: ADMIN,
        parameters: [eventIdParameter],
        responses: { '200': json('the waiting room', ref('Queue')), ...refusals({ ...admin, 400: ['a bad event id', 'BAD_REQUEST'], ...noRoom, ...redisFailed }) },
      },
      delete: {
        summary: 'Take the waiting room off: places and admissions are dropped, everyone may hold',
        tags: ['queue'],
        operationId: 'deleteQueue',
        security: ADMIN,
        parameters: [eventIdParameter],
        responses: {
          '200': json('removed', { type: 'object', required: ['id', 'deleted'], properties: { id: { type: 'string' }, deleted: { const: true } }, additionalProperties: false }),
          ...refusals({ ...admin, 400: ['a bad event id', 'BAD_REQUEST'], ...noRoom, ...redisFailed }),
        },
      },
    },
  },
};
