/**
 * OpenAPI description of gateway/webhook-routes.ts: webhook subscriptions,
 * their deliveries, replaying parked ones, and the pull log (admin scope);
 * and, as an OpenAPI webhook, the delivery the gateway sends to a
 * subscription's URL.
 */
import { LOG_EVENT_TYPES } from '../../core/bookings/event-log.js';
import { WEBHOOK_LIMITS } from '../../core/bookings/webhooks.js';
import { LOG_ENTRY } from './log-entry.js';
import { ADMIN, bodyRefusals, dateTime, eventIdParameter, internalRefusal, json, jsonBody, nullable, ref, refusals, tokenRefusals, type ApiPart } from './schema.js';

const admin = tokenRefusals('admin');
const readFailed = internalRefusal('nothing was changed');
const webhookIdParameter = { name: 'id', in: 'path', required: true, description: 'the webhook id (UUID)', schema: { type: 'string', format: 'uuid' } };
const badId = { 400: ['a malformed webhook id', 'BAD_REQUEST'] } as const;
const noSuchWebhook = { 404: ['there is no such webhook', 'NOT_FOUND'] } as const;
const eventTypes = { type: 'array', minItems: 1, maxItems: LOG_EVENT_TYPES.length, uniqueItems: true, items: { enum: [...LOG_EVENT_TYPES, '*'] }, description: 'the entry types it receives, or `["*"]` for all' };

export const WEBHOOKS_API: ApiPart = {
  tag: { name: 'webhooks', description: 'Events out: webhook subscriptions and the pull log (docs/bookings.md#events-out)' },
  schemas: {
    LogEntry: LOG_ENTRY,
    Webhook: {
      type: 'object',
      description: 'a subscription; its secret is never shown after registration',
      required: ['id', 'url', 'events', 'createdAt', 'createdBy', 'pending', 'parked'],
      properties: {
        id: { type: 'string', format: 'uuid' },
        url: { type: 'string', format: 'uri' },
        events: { ...eventTypes, description: 'the entry types it receives (sorted), or `["*"]` for all' },
        createdAt: dateTime,
        createdBy: { type: ['string', 'null'], description: 'the admin token\'s subject' },
        pending: { type: 'integer', minimum: 0, description: 'deliveries waiting or being retried' },
        parked: { type: 'integer', minimum: 0, description: 'deliveries given up after the retry window: replay them' },
      },
      additionalProperties: false,
    },
    WebhookDelivery: {
      type: 'object',
      required: ['eventId', 'seq', 'id', 'type', 'state', 'attempts', 'queuedAt', 'nextAttemptAt', 'lastStatus', 'lastError', 'deliveredAt', 'parkedAt'],
      properties: {
        eventId: { type: 'string' },
        seq: { type: 'integer', minimum: 1, description: 'the entry\'s position in the event\'s log' },
        id: { type: 'string', format: 'uuid', description: 'the entry\'s id (`Seatmap-Id`)' },
        type: { enum: [...LOG_EVENT_TYPES] },
        state: { enum: ['pending', 'delivered', 'parked'] },
        attempts: { type: 'integer', minimum: 0 },
        queuedAt: dateTime,
        nextAttemptAt: { ...nullable(dateTime), description: 'null unless pending' },
        lastStatus: { type: ['integer', 'null'], description: 'the HTTP status of the last attempt; null when none came' },
        lastError: { type: ['string', 'null'], description: 'what went wrong with the last attempt, in a few words' },
        deliveredAt: nullable(dateTime),
        parkedAt: nullable(dateTime),
      },
      additionalProperties: false,
    },
  },
  paths: {
    '/webhooks': {
      post: {
        summary: 'Register a webhook: log entries of the types it names, appended from now on, are delivered to its URL',
        description:
          'The gateway connects to whatever http(s) URL is registered (only the scheme is checked): restrict where gateway processes may connect at the network level if that matters.',
        tags: ['webhooks'],
        operationId: 'createWebhook',
        security: ADMIN,
        requestBody: jsonBody(
          {
            type: 'object',
            required: ['url', 'events', 'secret'],
            properties: {
              url: { type: 'string', maxLength: WEBHOOK_LIMITS.maxUrlLength, description: 'an absolute http or https URL' },
              events: eventTypes,
              secret: { type: 'string', minLength: WEBHOOK_LIMITS.minSecretLength, maxLength: WEBHOOK_LIMITS.maxSecretLength, description: 'safe text; signs every delivery; never shown again' },
            },
          },
          true,
          'at most 16 KiB',
        ),
        responses: {
          '201': json('registered', ref('Webhook')),
          ...refusals({ ...admin, 400: ['not a JSON object; a URL that is not absolute http or https; no or unknown event types; a secret that is not 16 to 256 characters of safe text', 'BAD_REQUEST'], ...bodyRefusals('16 KiB'), ...internalRefusal('look at GET /webhooks before registering again') }),
        },
      },
      get: {
        summary: 'Every webhook, oldest first',
        tags: ['webhooks'],
        operationId: 'listWebhooks',
        security: ADMIN,
        responses: {
          '200': json('the webhooks', { type: 'object', required: ['webhooks'], properties: { webhooks: { type: 'array', items: ref('Webhook') } }, additionalProperties: false }),
          ...refusals({ ...admin, ...readFailed }),
        },
      },
    },
    '/webhooks/{id}': {
      get: {
        summary: 'One webhook',
        tags: ['webhooks'],
        operationId: 'getWebhook',
        security: ADMIN,
        parameters: [webhookIdParameter],
        responses: { '200': json('the webhook', ref('Webhook')), ...refusals({ ...admin, ...badId, ...noSuchWebhook, ...readFailed }) },
      },
      delete: {
        summary: 'Delete a webhook and its deliveries, sent or not',
        tags: ['webhooks'],
        operationId: 'deleteWebhook',
        security: ADMIN,
        parameters: [webhookIdParameter],
        responses: {
          '200': json('deleted', { type: 'object', required: ['id', 'deleted'], properties: { id: { type: 'string', format: 'uuid' }, deleted: { const: true } }, additionalProperties: false }),
          ...refusals({ ...admin, ...badId, ...noSuchWebhook, ...internalRefusal('deleting again is safe') }),
        },
      },
    },
    '/webhooks/{id}/deliveries': {
      get: {
        summary: 'A webhook\'s deliveries in one state, oldest first',
        tags: ['webhooks'],
        operationId: 'listWebhookDeliveries',
        security: ADMIN,
        parameters: [
          webhookIdParameter,
          { name: 'state', in: 'query', schema: { enum: ['parked', 'pending', 'delivered'], default: 'parked' } },
          { name: 'limit', in: 'query', schema: { type: 'integer', minimum: 1, maximum: 500, default: 100 } },
        ],
        responses: {
          '200': json('the deliveries', { type: 'object', required: ['deliveries'], properties: { deliveries: { type: 'array', items: ref('WebhookDelivery') } }, additionalProperties: false }),
          ...refusals({ ...admin, 400: ['a malformed webhook id, state or limit', 'BAD_REQUEST'], ...noSuchWebhook, ...readFailed }),
        },
      },
    },
    '/webhooks/{id}/replay': {
      post: {
        summary: 'Queue every parked delivery of a webhook again, with a fresh retry window',
        tags: ['webhooks'],
        operationId: 'replayWebhookDeliveries',
        security: ADMIN,
        parameters: [webhookIdParameter],
        requestBody: jsonBody({ type: 'object' }, false, 'none, or `{}` (at most 1 KiB)'),
        responses: {
          '200': json('queued', { type: 'object', required: ['replayed'], properties: { replayed: { type: 'integer', minimum: 0, description: 'how many' } }, additionalProperties: false }),
          ...refusals({ ...admin, 400: ['a malformed webhook id, or a body that is not a JSON object', 'BAD_REQUEST'], ...noSuchWebhook, ...bodyRefusals('1 KiB'), ...internalRefusal('replaying again is safe') }),
        },
      },
    },
    '/events/{id}/log': {
      get: {
        summary: 'The pull log: the event\'s log entries after a position, in commit order',
        description:
          'The reconciliation path: read from the last position seen and get every entry, in order. An empty page (also for an event without entries) answers `next` = `after`: poll again later.',
        tags: ['webhooks'],
        operationId: 'readEventLog',
        security: ADMIN,
        parameters: [
          eventIdParameter,
          { name: 'after', in: 'query', description: 'a position: the `next` of the previous page', schema: { type: 'integer', minimum: 0, default: 0 } },
          { name: 'limit', in: 'query', schema: { type: 'integer', minimum: 1, maximum: 1000, default: 100 } },
        ],
        responses: {
          '200': json('a page', {
            type: 'object',
            required: ['entries', 'next'],
            properties: { entries: { type: 'array', items: ref('LogEntry') }, next: { type: 'integer', minimum: 0, description: 'pass it as `after` for the next page' } },
            additionalProperties: false,
          }),
          ...refusals({ ...admin, 400: ['a malformed event id, after or limit (whole numbers)', 'BAD_REQUEST'], ...readFailed }),
        },
      },
    },
  },
  webhooks: {
    logEntry: {
      post: {
        summary: 'A log entry, delivered to a webhook\'s URL (docs/bookings.md#webhooks)',
        description:
          'At least once (deduplicate on Seatmap-Id), in order per booking, retried with backoff for WEBHOOK_RETRY_FOR_MS (24 h) after it was queued, then parked. Verify the signature over the raw body before parsing it (docs/bookings.md#receiving-webhooks).',
        tags: ['webhooks'],
        operationId: 'deliverLogEntry',
        parameters: [
          { name: 'Seatmap-Id', in: 'header', required: true, description: 'the entry\'s id', schema: { type: 'string', format: 'uuid' } },
          { name: 'Seatmap-Timestamp', in: 'header', required: true, description: 'seconds since the Unix epoch, when this attempt was signed', schema: { type: 'integer' } },
          { name: 'Seatmap-Signature', in: 'header', required: true, description: '`v1=<hex HMAC-SHA256(secret, "<id>.<timestamp>.<body>")>`', schema: { type: 'string' } },
          { name: 'Seatmap-Attempt', in: 'header', required: true, description: '1, 2, …', schema: { type: 'integer', minimum: 1 } },
        ],
        requestBody: jsonBody(ref('LogEntry'), true),
        responses: {
          '2XX': { description: 'delivered, if it came within WEBHOOK_TIMEOUT_MS' },
          default: { description: 'any other answer (a redirect too, never followed), or none in time: the attempt failed and is retried' },
        },
      },
    },
  },
};
