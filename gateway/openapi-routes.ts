/** `GET /openapi.json`: the OpenAPI 3.1 document of every HTTP route (gateway/openapi/). */
import type { TemplatedApp } from 'uWebSockets.js';
import { sendRaw } from './http-util.js';
import { OPENAPI_DOCUMENT } from './openapi/index.js';

export function registerOpenApiRoutes(app: TemplatedApp): void {
  const body = JSON.stringify(OPENAPI_DOCUMENT);
  app.get('/openapi.json', (res) => sendRaw(res, 200, { 'Content-Type': 'application/json', 'Cache-Control': 'no-cache' }, body));
}
