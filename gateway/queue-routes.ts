/**
 * The waiting room's admin API (admin scope; docs/onsale.md):
 * `PUT /events/:id/queue` puts a waiting room on an event or changes its
 * settings (places and admissions are kept), `GET` tells its settings and
 * state, `DELETE` takes it off (everyone may hold again).
 * gateway/openapi/queue.ts describes them.
 */
import type { Logger } from 'pino';
import type { TemplatedApp } from 'uWebSockets.js';
import { EVENT_ID } from '../core/ids.js';
import { parseQueueSettings } from '../core/queue-settings.js';
import type { QueueState, WaitingRooms } from '../core/store/index.js';
import type { Authenticator } from './auth.js';
import { authorize } from './http-auth.js';
import { holdBody, type BodyBudget } from './http-body.js';
import { asyncHandler, sendError, sendJson } from './http-util.js';
import { readJsonObject } from './json-body.js';

export interface QueueRouteDeps {
  rooms: WaitingRooms;
  authenticator: Authenticator;
  logger: Logger;
  bodyBudget?: BodyBudget;
}

const NO_STORE = { 'Cache-Control': 'no-store' };
const SETTINGS_SHAPE = '{"onSaleAt": <epoch ms>, "admitPerMinute": <n>, ...}';

/** The answer of GET and PUT. */
function view(eventId: string, state: QueueState): Record<string, unknown> {
  return { id: eventId, ...state.settings, state: { closed: state.closed || null, waiting: state.waiting, active: state.active, admittedTotal: state.admittedTotal } };
}

export function registerQueueRoutes(app: TemplatedApp, deps: QueueRouteDeps): void {
  const { rooms, logger } = deps;

  app.put(
    '/events/:id/queue',
    asyncHandler(async (res, req, ctx) => {
      const eventId = req.getParameter(0);
      const body = holdBody(res, req, ctx, { maxBytes: 4096, budget: deps.bodyBudget });
      const principal = await authorize(req, ctx, deps.authenticator, 'admin', body.refuse);
      if (!principal || ctx.aborted) return;
      if (!EVENT_ID.test(eventId)) return sendError(res, 'BAD_REQUEST', 'bad event id');
      const parsed = await readJsonObject(res, ctx, body, SETTINGS_SHAPE);
      if (!parsed) return;
      const settings = parseQueueSettings(parsed.value);
      if (typeof settings === 'string') return sendError(res, 'BAD_REQUEST', settings);
      const done = await rooms.configure(eventId, settings);
      if (ctx.aborted) return;
      if (!done.ok) return sendError(res, done.code, `no event ${eventId}`);
      const state = await rooms.state(eventId);
      if (ctx.aborted) return;
      logger.info({ eventId, settings, created: done.created, by: principal.sub }, 'waiting room set');
      sendJson(res, done.created ? 201 : 200, view(eventId, state!), NO_STORE);
    }, logger),
  );

  app.get(
    '/events/:id/queue',
    asyncHandler(async (res, req, ctx) => {
      const eventId = req.getParameter(0);
      const principal = await authorize(req, ctx, deps.authenticator, 'admin', (code, msg) => sendError(res, code, msg));
      if (!principal || ctx.aborted) return;
      if (!EVENT_ID.test(eventId)) return sendError(res, 'BAD_REQUEST', 'bad event id');
      const state = await rooms.state(eventId);
      if (ctx.aborted) return;
      if (!state) return sendError(res, 'NOT_FOUND', `event ${eventId} has no waiting room`);
      sendJson(res, 200, view(eventId, state), NO_STORE);
    }, logger),
  );

  app.del(
    '/events/:id/queue',
    asyncHandler(async (res, req, ctx) => {
      const eventId = req.getParameter(0);
      const principal = await authorize(req, ctx, deps.authenticator, 'admin', (code, msg) => sendError(res, code, msg));
      if (!principal || ctx.aborted) return;
      if (!EVENT_ID.test(eventId)) return sendError(res, 'BAD_REQUEST', 'bad event id');
      const removed = await rooms.remove(eventId);
      if (ctx.aborted) return;
      if (!removed) return sendError(res, 'NOT_FOUND', `event ${eventId} has no waiting room`);
      logger.info({ eventId, by: principal.sub }, 'waiting room removed');
      sendJson(res, 200, { id: eventId, deleted: true }, NO_STORE);
    }, logger),
  );
}
