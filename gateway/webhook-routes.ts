/**
 * Events out, for the systems around the gateway (admin scope):
 *
 *   POST   /webhooks                  {"url", "events": [...] or ["*"], "secret"}   201 the webhook
 *   GET    /webhooks                                                             {webhooks}
 *   GET    /webhooks/:id                                                         the webhook
 *   DELETE /webhooks/:id                                                         {id, deleted: true}
 *   GET    /webhooks/:id/deliveries?state=parked|pending|delivered&limit=        {deliveries}
 *   POST   /webhooks/:id/replay                                                  {replayed}: parked deliveries queued again
 *   GET    /events/:id/log?after=<seq>&limit=                                    {entries, next}: the pull log, in commit order
 *
 * A secret is never shown again after registration. The gateway connects to
 * whatever http(s) URL an admin registers (core/bookings/webhooks.ts).
 */
import type pg from 'pg';
import type { Logger } from 'pino';
import type { HttpRequest, HttpResponse, TemplatedApp } from 'uWebSockets.js';
import { readLog } from '../core/bookings/event-log.js';
import { createWebhook, deleteWebhook, getWebhook, listDeliveries, listWebhooks, parseWebhook, replayParked, type DeliveryState } from '../core/bookings/webhooks.js';
import { EVENT_ID } from '../core/ids.js';
import type { Authenticator, Principal } from './auth.js';
import { authorize, type Refuse } from './http-auth.js';
import { holdBody, type BodyBudget } from './http-body.js';
import { asyncHandler, sendError, sendJson, type RequestContext } from './http-util.js';
import { readJsonObject } from './json-body.js';

export interface WebhookRouteDeps {
  pool: pg.Pool;
  authenticator: Authenticator;
  logger: Logger;
  bodyBudget?: BodyBudget;
}

const WEBHOOK_BODY_MAX_BYTES = 16 * 1024;
const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;
const DELIVERY_STATES = new Set<DeliveryState>(['pending', 'delivered', 'parked']);
const NO_STORE = { 'Cache-Control': 'no-store' };
const LOG_LIMIT_MAX = 1000;

/** A query parameter that must be a whole number in [min, max]; undefined when absent, null when malformed. */
function wholeNumber(text: string | undefined, min: number, max: number): number | undefined | null {
  if (text === undefined || text === '') return undefined;
  if (!/^\d{1,16}$/.test(text)) return null;
  const n = Number(text);
  return Number.isSafeInteger(n) && n >= min && n <= max ? n : null;
}

export function registerWebhookRoutes(app: TemplatedApp, deps: WebhookRouteDeps): void {
  const { pool, logger } = deps;

  app.post(
    '/webhooks',
    asyncHandler(async (res, req, ctx) => {
      const body = holdBody(res, req, ctx, { maxBytes: WEBHOOK_BODY_MAX_BYTES, budget: deps.bodyBudget });
      const principal = await admin(req, ctx, deps, body.refuse);
      if (!principal || ctx.aborted) return;
      const parsed = await readJsonObject(res, ctx, body, '{"url": "https://...", "events": ["booking.confirmed", ...], "secret": "..."}');
      if (!parsed) return;
      const hook = parseWebhook(parsed.value);
      if (typeof hook === 'string') return sendError(res, 'BAD_REQUEST', hook);
      const created = await createWebhook(pool, hook, principal.sub);
      if (ctx.aborted) return;
      logger.info({ webhook: created.id, url: created.url, events: created.events, by: principal.sub }, 'webhook registered');
      sendJson(res, 201, created, NO_STORE);
    }, logger),
  );

  app.get(
    '/webhooks',
    asyncHandler(async (res, req, ctx) => {
      if (!(await admin(req, ctx, deps, refuser(res))) || ctx.aborted) return;
      const webhooks = await listWebhooks(pool);
      if (!ctx.aborted) sendJson(res, 200, { webhooks }, NO_STORE);
    }, logger),
  );

  app.get(
    '/webhooks/:id',
    asyncHandler(async (res, req, ctx) => {
      const id = req.getParameter(0) ?? '';
      if (!(await admin(req, ctx, deps, refuser(res))) || ctx.aborted) return;
      if (!UUID.test(id)) return sendError(res, 'BAD_REQUEST', 'bad webhook id');
      const hook = await getWebhook(pool, id);
      if (ctx.aborted) return;
      if (!hook) return sendError(res, 'NOT_FOUND', `there is no webhook ${id}`);
      sendJson(res, 200, hook, NO_STORE);
    }, logger),
  );

  app.del(
    '/webhooks/:id',
    asyncHandler(async (res, req, ctx) => {
      const id = req.getParameter(0) ?? '';
      const principal = await admin(req, ctx, deps, refuser(res));
      if (!principal || ctx.aborted) return;
      if (!UUID.test(id)) return sendError(res, 'BAD_REQUEST', 'bad webhook id');
      const deleted = await deleteWebhook(pool, id);
      if (ctx.aborted) return;
      if (!deleted) return sendError(res, 'NOT_FOUND', `there is no webhook ${id}`);
      logger.info({ webhook: id, by: principal.sub }, 'webhook deleted');
      sendJson(res, 200, { id, deleted: true }, NO_STORE);
    }, logger),
  );

  app.get(
    '/webhooks/:id/deliveries',
    asyncHandler(async (res, req, ctx) => {
      const id = req.getParameter(0) ?? '';
      const state = req.getQuery('state') || 'parked';
      const limitText = req.getQuery('limit');
      if (!(await admin(req, ctx, deps, refuser(res))) || ctx.aborted) return;
      if (!UUID.test(id)) return sendError(res, 'BAD_REQUEST', 'bad webhook id');
      if (!DELIVERY_STATES.has(state as DeliveryState)) return sendError(res, 'BAD_REQUEST', 'state must be pending, delivered or parked');
      const limit = wholeNumber(limitText, 1, 500);
      if (limit === null) return sendError(res, 'BAD_REQUEST', 'limit must be 1 to 500');
      if (!(await getWebhook(pool, id))) return ctx.aborted ? undefined : sendError(res, 'NOT_FOUND', `there is no webhook ${id}`);
      const deliveries = await listDeliveries(pool, id, state as DeliveryState, limit ?? 100);
      if (!ctx.aborted) sendJson(res, 200, { deliveries }, NO_STORE);
    }, logger),
  );

  app.post(
    '/webhooks/:id/replay',
    asyncHandler(async (res, req, ctx) => {
      const id = req.getParameter(0) ?? '';
      const body = holdBody(res, req, ctx, { maxBytes: 1024, budget: deps.bodyBudget });
      const principal = await admin(req, ctx, deps, body.refuse);
      if (!principal || ctx.aborted) return;
      if (!UUID.test(id)) return body.refuse('BAD_REQUEST', 'bad webhook id');
      if (!(await readJsonObject(res, ctx, body, '{}'))) return;
      if (!(await getWebhook(pool, id))) return ctx.aborted ? undefined : sendError(res, 'NOT_FOUND', `there is no webhook ${id}`);
      const replayed = await replayParked(pool, id);
      if (ctx.aborted) return;
      logger.info({ webhook: id, replayed, by: principal.sub }, 'parked webhook deliveries queued again');
      sendJson(res, 200, { replayed }, NO_STORE);
    }, logger),
  );

  app.get(
    '/events/:id/log',
    asyncHandler(async (res, req, ctx) => {
      const eventId = req.getParameter(0) ?? '';
      const afterText = req.getQuery('after');
      const limitText = req.getQuery('limit');
      if (!(await admin(req, ctx, deps, refuser(res))) || ctx.aborted) return;
      if (!EVENT_ID.test(eventId)) return sendError(res, 'BAD_REQUEST', 'bad event id');
      const after = wholeNumber(afterText, 0, Number.MAX_SAFE_INTEGER);
      if (after === null) return sendError(res, 'BAD_REQUEST', 'after must be a log position (a non-negative integer, the `next` of the previous page)');
      const limit = wholeNumber(limitText, 1, LOG_LIMIT_MAX);
      if (limit === null) return sendError(res, 'BAD_REQUEST', `limit must be 1 to ${LOG_LIMIT_MAX}`);
      const page = await readLog(pool, eventId, after ?? 0, limit ?? 100);
      if (!ctx.aborted) sendJson(res, 200, page, NO_STORE);
    }, logger),
  );
}

function refuser(res: HttpResponse): Refuse {
  return (code, msg) => sendError(res, code, msg);
}

function admin(req: HttpRequest, ctx: RequestContext, deps: WebhookRouteDeps, refuse: Refuse): Promise<Principal | null> {
  return authorize(req, ctx, deps.authenticator, 'admin', refuse);
}
