/**
 * The building blocks of the OpenAPI document (gateway/openapi/index.ts):
 * the types of a route group's description, the shared components (the error
 * body, with every code of the catalogue), and helpers that keep each route
 * group's description short. OpenAPI 3.1 schemas are JSON Schema 2020-12.
 */
import { ERROR_CODES } from '../../core/errors.js';

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
  requestBody?: { required: boolean; content: Record<string, { schema: Schema }> };
  responses: Record<string, ApiResponse>;
}

/** One route group's paths: path (OpenAPI template, `{id}`) → method → operation. */
export type ApiPaths = Record<string, Partial<Record<'get' | 'post' | 'put' | 'patch' | 'delete', ApiOperation>>>;

/** A route group's part of the document: its paths and any schemas of its own (referenced as `#/components/schemas/<name>`). */
export interface ApiPart {
  tag: { name: string; description: string };
  paths: ApiPaths;
  schemas?: Record<string, Schema>;
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

export const ADMIN: Record<string, string[]>[] = [{ bearer: ['admin'] }];

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
      issues: { type: 'array', items: { type: 'object' }, description: 'POST /events: what is wrong with the layout, with paths' },
    },
  },
  StateCounts: {
    type: 'object',
    required: ['free', 'held', 'booked', 'blocked'],
    properties: {
      free: { type: 'integer', minimum: 0 },
      held: { type: 'integer', minimum: 0 },
      booked: { type: 'integer', minimum: 0 },
      blocked: { type: 'integer', minimum: 0 },
    },
  },
};
