/**
 * Health, readiness and metrics: `GET /healthz` (the process runs),
 * `GET /readyz` (what is true now: gateway/readiness.ts; 503 while draining)
 * and `GET /metrics` (Prometheus text).
 */
import type { Logger } from 'pino';
import type { TemplatedApp } from 'uWebSockets.js';
import { asyncHandler, sendJson, sendRaw } from './http-util.js';
import type { GatewayMetrics } from './metrics.js';

export interface HealthRouteDeps {
  metrics: GatewayMetrics;
  logger: Logger;
  /** true once shutdown has begun: /readyz answers 503 */
  isDraining(): boolean;
  /** named readiness checks, e.g. {redis:true, postgres:false, scripts:true} */
  checkReadiness(): Promise<Record<string, boolean>>;
}

export function registerHealthRoutes(app: TemplatedApp, deps: HealthRouteDeps): void {
  const { logger } = deps;
  app.get('/healthz', (res) => {
    sendJson(res, 200, { status: 'ok' }, { 'Cache-Control': 'no-store' });
  });

  app.get(
    '/readyz',
    asyncHandler(async (res, _req, ctx) => {
      let checks: Record<string, boolean>;
      try {
        checks = await deps.checkReadiness();
      } catch (err) {
        logger.warn({ err }, 'readiness check failed');
        checks = { readiness: false };
      }
      if (ctx.aborted) return;
      const draining = deps.isDraining();
      // Postgres is reported but not required: holds and books go on in Redis while it is down (acks wait)
      const ready = !draining && Object.entries(checks).every(([name, ok]) => ok === true || name === 'postgres');
      sendJson(res, ready ? 200 : 503, { status: draining ? 'draining' : ready ? 'ready' : 'not ready', checks }, { 'Cache-Control': 'no-store' });
    }, logger),
  );

  app.get(
    '/metrics',
    asyncHandler(async (res, _req, ctx) => {
      const text = await deps.metrics.registry.metrics();
      if (ctx.aborted) return;
      sendRaw(res, 200, { 'Content-Type': deps.metrics.registry.contentType, 'Cache-Control': 'no-store' }, text);
    }, logger),
  );
}
