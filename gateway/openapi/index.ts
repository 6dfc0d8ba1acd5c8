/**
 * The OpenAPI 3.1 document of every HTTP route of a gateway process, served
 * at GET /openapi.json (gateway/openapi-routes.ts) and checked against every
 * response the HTTP tests see (test/support/openapi.ts).
 *
 * Adding routes: describe them in a file of this folder (an `ApiPart`: a tag,
 * its paths, any schemas and security schemes of its own; see events.ts) and
 * add it to API_PARTS. Requests the gateway sends (webhook deliveries) are
 * the part's `webhooks` (OpenAPI 3.1's top-level `webhooks`; webhooks.ts).
 * A route the server registers that is not described here fails
 * test/openapi.test.ts, and a response a test sees that the document does not
 * allow fails that test.
 */
import { BLOCKS_API } from './blocks.js';
import { BOOKINGS_API } from './bookings.js';
import { CHANNELS_API } from './channels.js';
import { DEMO_API } from './demo.js';
import { DOOR_API } from './door.js';
import { EVENTS_API } from './events.js';
import { HEALTH_API } from './health.js';
import { PAYMENTS_API } from './payments.js';
import { QUEUE_API } from './queue.js';
import { COMMON_SCHEMAS, json, type ApiPart, type ApiPaths, type Schema } from './schema.js';
import { WEBHOOKS_API } from './webhooks.js';

const OPENAPI_API: ApiPart = {
  tag: { name: 'meta', description: 'This document' },
  paths: {
    '/openapi.json': {
      get: {
        summary: 'The OpenAPI 3.1 document of every HTTP route',
        tags: ['meta'],
        operationId: 'getOpenApi',
        responses: { '200': json('this document', { type: 'object', required: ['openapi', 'paths'] }) },
      },
    },
  },
};

/** Every route group's description, in the order the server registers them. */
export const API_PARTS: readonly ApiPart[] = [HEALTH_API, EVENTS_API, QUEUE_API, OPENAPI_API, BOOKINGS_API, BLOCKS_API, CHANNELS_API, DOOR_API, PAYMENTS_API, WEBHOOKS_API, DEMO_API];

export type OpenApiDocument = {
  openapi: string;
  info: Record<string, unknown>;
  tags: { name: string; description: string }[];
  paths: ApiPaths;
  /** requests the gateway itself sends (webhook deliveries) */
  webhooks: NonNullable<ApiPart['webhooks']>;
  components: { schemas: Record<string, Schema>; securitySchemes: Record<string, unknown> };
};

/** Merges route groups' parts into one document; two parts describing the same method of a path is a mistake. */
export function buildOpenApiDocument(parts: readonly ApiPart[] = API_PARTS): OpenApiDocument {
  const paths: ApiPaths = {};
  const schemas: Record<string, Schema> = { ...COMMON_SCHEMAS };
  const securitySchemes: Record<string, unknown> = {
    bearer: { type: 'http', scheme: 'bearer', bearerFormat: 'JWT', description: 'a JWT; each route names the scope it needs (admin, seats:door)' },
  };
  const webhooks: OpenApiDocument['webhooks'] = {};
  for (const part of parts) {
    for (const [path, methods] of Object.entries(part.paths)) {
      const entry = (paths[path] ??= {});
      for (const [method, operation] of Object.entries(methods)) {
        if (method in entry) throw new Error(`OpenAPI: ${method.toUpperCase()} ${path} is described twice`);
        (entry as Record<string, unknown>)[method] = operation;
      }
    }
    for (const [name, schema] of Object.entries(part.schemas ?? {})) {
      if (name in schemas) throw new Error(`OpenAPI: schema ${name} is defined twice`);
      schemas[name] = schema;
    }
    for (const [name, scheme] of Object.entries(part.securitySchemes ?? {})) {
      if (name in securitySchemes) throw new Error(`OpenAPI: security scheme ${name} is defined twice`);
      securitySchemes[name] = scheme;
    }
    for (const [name, hook] of Object.entries(part.webhooks ?? {})) {
      if (name in webhooks) throw new Error(`OpenAPI: webhook ${name} is described twice`);
      webhooks[name] = hook;
    }
  }
  return {
    openapi: '3.1.0',
    info: {
      title: 'Seatmap gateway HTTP API',
      version: '1',
      description:
        'The HTTP side of the gateway. The seat map itself (holds, books, live diffs) is the WebSocket protocol at /ws, described in docs/protocol.md.',
    },
    tags: parts.map((p) => p.tag),
    paths,
    webhooks,
    components: { schemas, securitySchemes },
  };
}

export const OPENAPI_DOCUMENT: OpenApiDocument = buildOpenApiDocument();
