/** OpenAPI description of gateway/health-routes.ts: /healthz, /readyz, /metrics. */
import { json, type ApiPart } from './schema.js';

const readiness = {
  type: 'object',
  required: ['status', 'checks'],
  properties: {
    status: { enum: ['ready', 'not ready', 'draining'] },
    checks: { type: 'object', additionalProperties: { type: 'boolean' }, description: 'named checks, e.g. redis, postgres, scripts' },
  },
};

export const HEALTH_API: ApiPart = {
  tag: { name: 'health', description: 'Liveness, readiness and Prometheus metrics' },
  paths: {
    '/healthz': {
      get: {
        summary: 'The process runs',
        tags: ['health'],
        operationId: 'getHealth',
        responses: { '200': json('always, while the process serves HTTP', { type: 'object', required: ['status'], properties: { status: { const: 'ok' } }, additionalProperties: false }) },
      },
    },
    '/readyz': {
      get: {
        summary: 'The process can serve seat maps now',
        description: 'Ready when every check passes; Postgres is reported but not required (holds and books go on in Redis while it is down). 503 while draining.',
        tags: ['health'],
        operationId: 'getReadiness',
        responses: { '200': json('ready', readiness), '503': json('not ready, or draining', readiness) },
      },
    },
    '/metrics': {
      get: {
        summary: 'Prometheus metrics (docs/gateway.md lists them)',
        tags: ['health'],
        operationId: 'getMetrics',
        responses: { '200': { description: 'Prometheus text exposition', content: { 'text/plain': { schema: { type: 'string' } } } } },
      },
    },
  },
};
