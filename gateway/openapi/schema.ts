/**
 * The building blocks of the OpenAPI document (gateway/openapi/index.ts):
 * the types of a route group's description, the shared components (the error
 * body, with every code of the catalogue), and helpers that keep each route
 * group's description short: refusals with the codes each can carry, request
 * bodies, the common value shapes. OpenAPI 3.1 schemas are JSON Schema 2020-12.
 */
import { ERROR_CODES, type ErrorCode } from '../../core/errors.js';

export type Schema = Record<string, unknown>;

export interface ApiResponse {
  description: string;
  headers?: Record<string, { description: string; schema: Schema }>;
  content?: Record<string, { schema: Schema }>;
}

export interface ApiOperation {
  summary: string;
  description?: string;
  tags: string[];
  operationId: string;
  security?: Record<string, string[]>[];
  parameters?: Record<string, unknown>[];
  requestBody?: { required: boolean; description?: string; content: Record<string, { schema: Schema }> };
  responses: Record<string, ApiResponse>;
}

/** One route group's paths: path (OpenAPI template, `{id}`) → method → operation. */
export type ApiPaths = Record<string, Partial<Record<'get' | 'post' | 'put' | 'patch' | 'delete', ApiOperation>>>;

/**
 * A route group's part of the document: its paths, any schemas of its own
 * (referenced as `#/components/schemas/<name>`), any security schemes of its
 * own, and any requests the gateway itself sends (OpenAPI `webhooks`).
 */
export interface ApiPart {
  tag: { name: string; description: string };
  paths: ApiPaths;
  schemas?: Record<string, Schema>;
  securitySchemes?: Record<string, Schema>;
  webhooks?: Record<string, { post: ApiOperation }>;
}

export const ref = (name: string): Schema => ({ $ref: `#/components/schemas/${name}` });

/** A JSON response. */
export function json(description: string, schema: Schema, headers?: ApiResponse['headers']): ApiResponse {
  return { description, content: { 'application/json': { schema } }, ...(headers && { headers }) };
}

/** Error responses `{code, msg}` for the given statuses, each saying when it comes. */
export function errors(cases: Record<number, string>): Record<string, ApiResponse> {
  const out: Record<string, ApiResponse> = {};
  for (const [status, when] of Object.entries(cases)) out[status] = json(when, ref('Error'));
  return out;
}

const RETRY_AFTER = { 'Retry-After': { description: 'seconds to wait before retrying', schema: { type: 'integer' } } };

/**
 * Refusals, each with the catalogue codes it can carry: status → [when it
 * comes, code, …]. A response with another code fails the HTTP tests' check.
 */
export function refusals(cases: Record<number, readonly [when: string, ...codes: ErrorCode[]]>): Record<string, ApiResponse> {
  const out: Record<string, ApiResponse> = {};
  for (const [status, [when, ...codes]] of Object.entries(cases)) {
    const schema = { allOf: [ref('Error'), { type: 'object', properties: { code: { enum: codes } } }] };
    out[status] = json(when, schema, status === '503' ? RETRY_AFTER : undefined);
  }
  return out;
}

/** The refusals of a route that needs a token with `scope`. */
export const tokenRefusals = (scope: string) =>
  ({
    401: ['no valid token (Authorization: Bearer <jwt>)', 'UNAUTHORIZED'],
    403: [`a token without the ${scope} scope`, 'FORBIDDEN'],
  }) as const;

/** The refusals of a route that reads a request body of at most `max` (gateway/http-body.ts), answered with the connection closed. */
export const bodyRefusals = (max: string) =>
  ({
    413: [`the body is over ${max}`, 'BAD_REQUEST'],
    503: ['the server is receiving too many request bodies at once: nothing was done, retry later', 'RATE_LIMITED'],
  }) as const;

/** The 500 of a route on Postgres: unreachable, or another failure. */
export const internalRefusal = (outcome: string) => ({ 500: [`Postgres unreachable, or another failure; ${outcome}`, 'INTERNAL'] }) as const;

export const ADMIN: Record<string, string[]>[] = [{ bearer: ['admin'] }];

/** A JSON request body; `required: false` when an empty body is the empty object. */
export function jsonBody(schema: Schema, required: boolean, description?: string): NonNullable<ApiOperation['requestBody']> {
  return { required, ...(description && { description }), content: { 'application/json': { schema } } };
}

/** A seat index of the event (docs/layout.md). */
export const seatIndex: Schema = { type: 'integer', minimum: 0, maximum: 0x7fffffff };

/** Some seats of a booking: distinct seat indexes (gateway/json-body.ts `seatList`). */
export const seatSelection: Schema = { type: 'array', minItems: 1, maxItems: 1000, uniqueItems: true, items: seatIndex };

/** Safe text (core/text.ts) of at most `max` characters. */
export const safeText = (max: number, description?: string): Schema => ({ type: 'string', minLength: 1, maxLength: max, ...(description && { description }) });

export const nullable = (schema: Schema): Schema => ({ ...schema, type: [schema.type, 'null'] });

export const dateTime: Schema = { type: 'string', format: 'date-time' };

export const eventIdParameter = {
  name: 'id',
  in: 'path',
  required: true,
  description: 'the event id: 1 to 64 of A-Z a-z 0-9 _ . : -',
  schema: { type: 'string' },
};

export const COMMON_SCHEMAS: Record<string, Schema> = {
  Error: {
    type: 'object',
    description: 'Every refusal: a code of the one error catalogue (docs/protocol.md) and a message saying what happened to this request.',
    required: ['code', 'msg'],
    properties: {
      code: { type: 'string', enum: ERROR_CODES },
      msg: { type: 'string' },
      seats: { type: 'array', items: { type: 'integer' }, description: 'the seats the refusal is about, where there are such' },
      reason: { type: 'string', description: 'what the refusal is about where a code has several causes, e.g. `ga`: places of general-admission areas' },
      areas: { type: 'array', items: { type: 'integer' }, description: 'reason `ga`: the area indexes refused' },
      left: { type: 'array', items: { type: 'integer' }, description: 'reason `ga`, per area of `areas`: the places still on sale (UNAVAILABLE), or blocked (CONFLICT of an unblock)' },
      issues: { type: 'array', items: { type: 'object' }, description: 'POST /events: what is wrong with the layout, with paths' },
    },
  },
  StateCounts: {
    type: 'object',
    required: ['free', 'held', 'booked', 'blocked', 'reserved'],
    properties: {
      free: { type: 'integer', minimum: 0 },
      held: { type: 'integer', minimum: 0 },
      booked: { type: 'integer', minimum: 0 },
      blocked: { type: 'integer', minimum: 0 },
      reserved: { type: 'integer', minimum: 0, description: 'free seats reserved for a sales channel (a presale): free only for its members' },
    },
  },
};
