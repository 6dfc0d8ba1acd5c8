/**
 * Sales channels (presales) of an event, admin scope, recorded in Postgres
 * for rebuilds (core/bookings/channels.ts; docs/bookings.md#sales-channels):
 *
 *   PUT    /events/:id/channels/:key  {"seats"?, "sections"?, "categories"?, "releaseAt"?}
 *   GET    /events/:id/channels/:key
 *   GET    /events/:id/channels
 *   DELETE /events/:id/channels/:key   its reserved seats go on sale now
 *
 * A put names the channel's seats as seat indexes and/or section and
 * category ids (expanded with the event's layout, as a bulk block does);
 * `releaseAt` (ms since the epoch, or an ISO 8601 date-time) is when its
 * still-free seats go on sale; absent or null: only a delete ends it. The free
 * seats listed turn reserved; the others are reported (`skipped`). A key is
 * 1-32 characters of [A-Za-z0-9_.-]; another is BAD_REQUEST.
 * gateway/openapi/channels.ts describes them.
 */
import type pg from 'pg';
import type { Logger } from 'pino';
import type { HttpRequest, HttpResponse, TemplatedApp } from 'uWebSockets.js';
import { deleteSalesChannel, putSalesChannel } from '../core/bookings/channels.js';
import { EVENT_ID } from '../core/ids.js';
import { LayoutError, seatsOfGroups } from '../core/layout/index.js';
import { Channels, CHANNEL_KEY } from '../core/store/channels.js';
import type { SeatStore } from '../core/store/seat-store.js';
import type { Authenticator } from './auth.js';
import { blockBody } from './block-routes.js';
import type { EventLayouts } from './current-layout.js';
import { authorize } from './http-auth.js';
import { holdBody, readJsonBody, type BodyBudget } from './http-body.js';
import { asyncHandler, sendError, sendJson, type RequestContext } from './http-util.js';
import { listSeats } from './refusal-messages.js';

export interface ChannelRouteDeps {
  pool: pg.Pool;
  store: SeatStore;
  authenticator: Authenticator;
  logger: Logger;
  layouts: EventLayouts;
  bodyBudget?: BodyBudget;
}

/** a put body: a whole venue's seat indexes fit (250,000 indexes of up to 7 characters) */
const CHANNEL_BODY_MAX_BYTES = 2 * 1024 * 1024;
const NO_STORE = { 'Cache-Control': 'no-store' };
/** releaseAt past this (the year 10000) is a mistake */
const MAX_RELEASE_AT = 253_402_300_800_000;

export function registerChannelRoutes(app: TemplatedApp, deps: ChannelRouteDeps): void {
  const { pool, store, logger } = deps;
  const channels = new Channels(store);

  app.put(
    '/events/:id/channels/:key',
    asyncHandler(async (res, req, ctx) => {
      const eventId = req.getParameter(0) ?? '';
      const key = req.getParameter(1) ?? '';
      const body = holdBody(res, req, ctx, { maxBytes: CHANNEL_BODY_MAX_BYTES, budget: deps.bodyBudget });
      const principal = await authorize(req, ctx, deps.authenticator, 'admin', body.refuse);
      if (!principal || ctx.aborted) return;
      if (!EVENT_ID.test(eventId)) return body.refuse('BAD_REQUEST', 'bad event id');
      if (!CHANNEL_KEY.test(key)) return body.refuse('BAD_REQUEST', 'bad channel key: 1 to 32 characters of A-Z a-z 0-9 _ . -');
      const input = await readJsonBody(res, body, ctx, 'the body must be JSON {"seats"?: [seat indexes], "sections"?: [ids], "categories"?: [ids], "releaseAt"?: ms or date-time}');
      if (input === undefined || ctx.aborted) return;
      if (input === null || typeof input !== 'object' || Array.isArray(input)) return sendError(res, 'BAD_REQUEST', 'the body must be a JSON object {"seats"?, "sections"?, "categories"?, "releaseAt"?}');
      const { releaseAt: rawReleaseAt, ...groups } = input as Record<string, unknown>;
      const releaseAt = parseReleaseAt(rawReleaseAt);
      if (releaseAt === undefined) return sendError(res, 'BAD_REQUEST', 'releaseAt must be ms since the epoch (a positive integer), an ISO 8601 date-time, or null');
      const parsed = blockBody(groups);
      if (typeof parsed === 'string') return sendError(res, 'BAD_REQUEST', parsed);

      let seats = parsed.seats ?? [];
      if (parsed.sections || parsed.categories) {
        let layout: Awaited<ReturnType<EventLayouts['current']>>;
        try {
          layout = await deps.layouts.current(eventId);
        } catch (err) {
          if (!(err instanceof LayoutError)) throw err;
          logger.error({ err, eventId }, 'stored layout is invalid');
          return sendError(res, 'INTERNAL', 'the stored layout is invalid, so sections and categories cannot be told; nothing was changed');
        }
        if (ctx.aborted) return;
        if (layout === 'none') return sendError(res, 'NO_EVENT', `there is no event ${eventId}; nothing was changed`);
        if (layout === 'no-layout') return sendError(res, 'BAD_REQUEST', `event ${eventId} has no layout, so it has no sections or categories: name seats; nothing was changed`);
        const group = seatsOfGroups(layout.compiled, parsed);
        if (!group.ok) {
          const unknown = [...group.unknownSections.map((s) => `section ${JSON.stringify(s)}`), ...group.unknownCategories.map((c) => `category ${JSON.stringify(c)}`)];
          return sendError(res, 'BAD_REQUEST', `event ${eventId} has no ${unknown.slice(0, 10).join(', ')}; nothing was changed`);
        }
        seats = group.seats;
      }
      const result = await putSalesChannel(pool, store, eventId, key, seats, releaseAt);
      if (ctx.aborted) return;
      if (!result.ok) {
        const msg =
          result.code === 'BAD_SEAT' && result.seats ? `seats ${listSeats(result.seats)} out of range; nothing was changed`
          : result.code === 'NO_EVENT' ? `there is no event ${eventId}; nothing was changed`
          : result.reason === 'channels' ? `event ${eventId} has 100 sales channels already; nothing was changed`
          : 'nothing was changed';
        return sendError(res, result.code, msg, result.seats ? { seats: result.seats } : {});
      }
      logger.info({ eventId, key, seats: result.seats.length, skipped: result.skipped.length, releaseAt, by: principal.sub }, 'sales channel put');
      sendJson(res, 200, { key, seq: result.seq, seats: result.seats, skipped: result.skipped, releaseAt }, NO_STORE);
    }, logger),
  );

  app.get(
    '/events/:id/channels',
    asyncHandler(async (res, req, ctx) => {
      const eventId = req.getParameter(0) ?? '';
      if (!(await admin(res, req, ctx, deps)) || ctx.aborted) return;
      if (!EVENT_ID.test(eventId)) return sendError(res, 'BAD_REQUEST', 'bad event id');
      const [exists] = await store.eventsExist([eventId]);
      if (ctx.aborted) return;
      if (!exists) return sendError(res, 'NO_EVENT', `there is no event ${eventId}`);
      const list = await channels.list(eventId);
      if (!ctx.aborted) sendJson(res, 200, { channels: list }, NO_STORE);
    }, logger),
  );

  app.get(
    '/events/:id/channels/:key',
    asyncHandler(async (res, req, ctx) => {
      const eventId = req.getParameter(0) ?? '';
      const key = req.getParameter(1) ?? '';
      if (!(await admin(res, req, ctx, deps)) || ctx.aborted) return;
      if (!EVENT_ID.test(eventId)) return sendError(res, 'BAD_REQUEST', 'bad event id');
      if (!CHANNEL_KEY.test(key)) return sendError(res, 'BAD_REQUEST', 'bad channel key: 1 to 32 characters of A-Z a-z 0-9 _ . -');
      const [exists] = await store.eventsExist([eventId]);
      if (ctx.aborted) return;
      if (!exists) return sendError(res, 'NO_EVENT', `there is no event ${eventId}`);
      const channel = await channels.get(eventId, key);
      if (ctx.aborted) return;
      if (!channel) return sendError(res, 'NOT_FOUND', `event ${eventId} has no sales channel ${key} (never put, deleted, or released)`);
      sendJson(res, 200, channel, NO_STORE);
    }, logger),
  );

  app.del(
    '/events/:id/channels/:key',
    asyncHandler(async (res, req, ctx) => {
      const eventId = req.getParameter(0) ?? '';
      const key = req.getParameter(1) ?? '';
      const principal = await admin(res, req, ctx, deps);
      if (!principal || ctx.aborted) return;
      if (!EVENT_ID.test(eventId)) return sendError(res, 'BAD_REQUEST', 'bad event id');
      if (!CHANNEL_KEY.test(key)) return sendError(res, 'BAD_REQUEST', 'bad channel key: 1 to 32 characters of A-Z a-z 0-9 _ . -');
      const result = await deleteSalesChannel(pool, store, eventId, key);
      if (ctx.aborted) return;
      if (!result.ok) return sendError(res, result.code, result.code === 'NO_EVENT' ? `there is no event ${eventId}` : `event ${eventId} has no sales channel ${key}`);
      logger.info({ eventId, key, released: result.released, by: principal.sub }, 'sales channel deleted');
      sendJson(res, 200, { key, deleted: true, seq: result.seq, released: result.released }, NO_STORE);
    }, logger),
  );
}

function admin(res: HttpResponse, req: HttpRequest, ctx: RequestContext, deps: ChannelRouteDeps) {
  return authorize(req, ctx, deps.authenticator, 'admin', (code, msg) => sendError(res, code, msg));
}

/** releaseAt as ms: a positive integer or an ISO 8601 date-time; null/absent = none; undefined = malformed. */
function parseReleaseAt(value: unknown): number | null | undefined {
  if (value === undefined || value === null) return null;
  const ms = typeof value === 'number' ? value : typeof value === 'string' && /^\d{4}-\d{2}-\d{2}T/.test(value) ? Date.parse(value) : NaN;
  return Number.isSafeInteger(ms) && ms > 0 && ms < MAX_RELEASE_AT ? ms : undefined;
}
