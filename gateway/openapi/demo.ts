/** OpenAPI description of gateway/demo-routes.ts: the demo seat map and its development tokens. */
import { errors, json, type ApiPart } from './schema.js';

export const DEMO_API: ApiPart = {
  tag: { name: 'demo', description: 'The demo seat map served at / (docs/client.md)' },
  paths: {
    '/': {
      get: { summary: 'The demo page', tags: ['demo'], operationId: 'getDemoPage', responses: { '200': { description: 'HTML', content: { 'text/html': { schema: { type: 'string' } } } } } },
    },
    '/favicon.ico': {
      get: { summary: 'No icon (an empty answer keeps the 404 out of browser consoles)', tags: ['demo'], operationId: 'getFavicon', responses: { '204': { description: 'empty' } } },
    },
    '/demo/app.js': {
      get: {
        summary: 'The page\'s script, built from the client SDK\'s entry points',
        tags: ['demo'],
        operationId: 'getDemoScript',
        parameters: [{ name: 'v', in: 'query', description: 'the content hash the page asks for (then cached for good)', schema: { type: 'string' } }],
        responses: { '200': { description: 'JavaScript', content: { 'text/javascript': { schema: { type: 'string' } } } } },
      },
    },
    '/demo/token': {
      get: {
        summary: 'A development token for a guest (only on a gateway running on the development secret)',
        tags: ['demo'],
        operationId: 'getDemoToken',
        parameters: [{ name: 'sub', in: 'query', description: 'guest-… to keep a subject across reloads', schema: { type: 'string' } }],
        responses: {
          '200': json('a token with seats:read seats:hold seats:book, 15 minutes', {
            type: 'object',
            required: ['token', 'sub', 'expiresAt'],
            properties: { token: { type: 'string' }, sub: { type: 'string', pattern: '^guest-' }, expiresAt: { type: 'integer' } },
          }),
          ...errors({ 403: 'the gateway does not run on the development secret' }),
        },
      },
    },
  },
};
