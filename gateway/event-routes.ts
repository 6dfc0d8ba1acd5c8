/**
 * The event routes: `GET /events/:id` (the layout view, cached per epoch),
 * `GET /events/:id/availability` (counts from this node's room, else a Redis
 * snapshot: per state, category and section, with the largest blocks of
 * adjacent free seats; per sales channel too for an admin's token) and `POST /events` (admin: create an event from a layout; an id
 * is made when the body has none). gateway/openapi/events.ts describes them.
 */
import { randomBytes } from 'node:crypto';
import type { Logger } from 'pino';
import type { TemplatedApp } from 'uWebSockets.js';
import { createEventFromLayout } from '../core/events.js';
import { LayoutError, countAvailability, type AvailabilityCounts } from '../core/layout/index.js';
import type { SeatStore } from '../core/store/seat-store.js';
import { Channels, type Channel } from '../core/store/channels.js';
import { EVENT_ID, EVENT_ID_RULE } from '../core/ids.js';
import { bearerToken, hasScope, type Authenticator } from './auth.js';
import { authorize } from './http-auth.js';
import { holdBody, readJsonBody, type BodyBudget } from './http-body.js';
import { JSON_TYPE, asyncHandler, sendError, sendJson, sendRaw } from './http-util.js';
import { EpochMoved, eventLayouts } from './current-layout.js';
import type { LayoutCache, LayoutCacheEntry } from './layout-view.js';

export interface EventRouteDeps {
  store: SeatStore;
  authenticator: Authenticator;
  logger: Logger;
  layouts: LayoutCache;
  /** live seat states this node holds in memory for an event, or null: then read store.snapshot() */
  liveStatus(eventId: string): { epoch: number; seq: number; status: Uint8Array; ga?: number[] } | null;
  /** largest accepted request body (POST /events), bytes */
  maxBodyBytes: number;
  /** what request bodies may buffer in all; absent: the process-wide budget (gateway/http-body.ts) */
  bodyBudget?: BodyBudget;
  /** true when Postgres already has the event (POST /events then answers CONFLICT: it is rebuilt, not created); absent: not checked */
  eventRecorded?(eventId: string): Promise<boolean>;
}

export const LAYOUT_CACHE_CONTROL = 'public, max-age=60';

export interface Availability extends AvailabilityCounts {
  id: string;
  epoch: number;
  seq: number;
  seatCount: number;
  /** per general-admission area of the layout, in area index order; empty without areas or a layout */
  areas: AreaAvailability[];
  /** admins only: each sales channel's seats by state */
  channels?: ChannelAvailability[];
}

export interface ChannelAvailability {
  key: string;
  releaseAt: number | null;
  /** the channel's seats, and how many of them are in each state now */
  seats: number;
  reserved: number;
  held: number;
  booked: number;
  blocked: number;
}

export interface AreaAvailability {
  /** the area index (hold/release `ga`, snap/diff `ga`) */
  area: number;
  id: string;
  label: string;
  capacity: number;
  free: number;
  held: number;
  booked: number;
  blocked: number;
}

/** A channel's seats counted by their state in `status` (its free seats are reserved, state 4, until it is released). */
export function channelAvailability(channel: Channel, status: Uint8Array): ChannelAvailability {
  const by = [0, 0, 0, 0, 0];
  let seats = 0;
  for (const seat of channel.seats) {
    const state = status[seat];
    if (state === undefined) continue;
    seats++;
    if (state < by.length) by[state]!++;
  }
  return { key: channel.key, releaseAt: channel.releaseAt, seats, reserved: by[4]!, held: by[1]!, booked: by[2]!, blocked: by[3]! };
}

/**
 * The areas' counters from the published `[area, free, held, booked, ...]`
 * and the layout's capacities: blocked = capacity − free − held − booked, as
 * docs/protocol.md defines free. An area the state does not name has no
 * counter (an event created before its layout had areas): left out.
 */
export function areaAvailability(ga: readonly number[] | undefined, areas: readonly { id: string; label: string; capacity: number }[]): AreaAvailability[] {
  const out: AreaAvailability[] = [];
  for (let i = 0; ga && i + 3 < ga.length; i += 4) {
    const [area, free, held, booked] = [ga[i]!, ga[i + 1]!, ga[i + 2]!, ga[i + 3]!];
    const layout = areas[area];
    if (!layout) continue;
    out.push({ area, id: layout.id, label: layout.label, capacity: layout.capacity, free, held, booked, blocked: Math.max(0, layout.capacity - free - held - booked) });
  }
  return out.sort((a, b) => a.area - b.area);
}

export function registerEventRoutes(app: TemplatedApp, deps: EventRouteDeps): void {
  const { store, layouts, logger } = deps;

  const { loadDocument, current: currentLayout } = eventLayouts(store, layouts);
  const channels = new Channels(store);

  app.get(
    '/events/:id',
    asyncHandler(async (res, req, ctx) => {
      // the request is only valid until the first await
      const eventId = req.getParameter(0);
      const gzip = acceptsGzip(req.getHeader('accept-encoding'));
      const ifNoneMatch = req.getHeader('if-none-match');
      if (!EVENT_ID.test(eventId)) return sendError(res, 'BAD_REQUEST', 'bad event id');

      let entry: Awaited<ReturnType<typeof currentLayout>>;
      try {
        entry = await currentLayout(eventId);
      } catch (err) {
        if (!(err instanceof LayoutError)) throw err;
        logger.error({ err, eventId }, 'stored layout is invalid');
        return sendError(res, 'INTERNAL', 'stored layout is invalid');
      }
      if (ctx.aborted) return;
      if (entry === 'none') return sendError(res, 'NO_EVENT', `no event ${eventId}`);
      if (entry === 'no-layout') return sendError(res, 'NO_EVENT', `event ${eventId} has no layout`);

      const headers: Record<string, string> = { ETag: entry.etag, 'Cache-Control': LAYOUT_CACHE_CONTROL, Vary: 'Accept-Encoding' };
      if (etagMatches(ifNoneMatch, entry.etag)) return sendRaw(res, 304, headers);
      headers['Content-Type'] = JSON_TYPE;
      if (gzip) headers['Content-Encoding'] = 'gzip';
      sendRaw(res, 200, headers, gzip ? entry.gzip : entry.body);
    }, logger),
  );

  app.get(
    '/events/:id/availability',
    asyncHandler(async (res, req, ctx) => {
      const eventId = req.getParameter(0);
      // optional: anonymous callers get the public counts; a token must be valid, and an admin's adds the channels
      const token = bearerToken(req.getHeader('authorization'));
      const hasAuthorization = req.getHeader('authorization') !== '';
      if (!EVENT_ID.test(eventId)) return sendError(res, 'BAD_REQUEST', 'bad event id');
      let admin = false;
      if (hasAuthorization) {
        const auth = token ? await deps.authenticator.verify(token) : { ok: false as const, reason: 'the Authorization header is not "Bearer <jwt>"' };
        if (ctx.aborted) return;
        if (!auth.ok) return sendError(res, 'UNAUTHORIZED', auth.reason);
        admin = hasScope(auth.principal, 'admin');
      }

      const state = deps.liveStatus(eventId) ?? (await store.snapshot(eventId));
      if (ctx.aborted) return;
      if (!state) return sendError(res, 'NO_EVENT', `no event ${eventId}`);

      let entry: LayoutCacheEntry | null = null;
      try {
        entry = await layouts.getOrLoad(eventId, state.epoch, () => loadDocument(eventId, state.epoch));
      } catch (err) {
        // Counts by category are a bonus: without a usable layout the totals still answer.
        if (!(err instanceof EpochMoved)) logger.warn({ err, eventId }, 'no layout for availability');
      }
      if (ctx.aborted) return;
      const compiled = entry && entry.compiled.seatCount === state.status.length ? entry.compiled : null;
      const body: Availability = {
        id: eventId,
        epoch: state.epoch,
        seq: state.seq,
        seatCount: state.status.length,
        ...countAvailability(state.status, compiled),
        areas: compiled ? areaAvailability(state.ga, compiled.areas) : [],
      };
      if (admin) {
        const list = await channels.list(eventId);
        if (ctx.aborted) return;
        body.channels = list.map((c) => channelAvailability(c, state.status));
      }
      sendJson(res, 200, body, { 'Cache-Control': 'no-cache' });
    }, logger),
  );

  app.post(
    '/events',
    asyncHandler(async (res, req, ctx) => {
      // Taken in charge now (uWS drops data nobody listens for) but not read before the credentials are checked.
      const body = holdBody(res, req, ctx, { maxBytes: deps.maxBodyBytes, budget: deps.bodyBudget });
      const principal = await authorize(req, ctx, deps.authenticator, 'admin', body.refuse);
      if (!principal || ctx.aborted) return;

      const input = await readJsonBody(res, body, ctx, 'the body is not valid JSON');
      if (input === undefined || ctx.aborted) return;
      if (typeof input !== 'object' || input === null || Array.isArray(input)) {
        return sendError(res, 'BAD_REQUEST', 'the body must be an object: {"id": ..., "layout": {...}}, {"layout": {...}} or a layout');
      }
      const parts = eventBody(input as Record<string, unknown>);
      if (parts.id !== undefined && (typeof parts.id !== 'string' || !EVENT_ID.test(parts.id))) {
        return sendError(res, 'BAD_REQUEST', `id must be ${EVENT_ID_RULE} (or left out: one is made)`);
      }
      const id = typeof parts.id === 'string' ? parts.id : newEventId();
      const layout = parts.layout;

      let recorded: boolean;
      try {
        recorded = (await deps.eventRecorded?.(id)) ?? false;
      } catch (err) {
        logger.warn({ err, eventId: id }, 'cannot ask Postgres whether the event exists');
        return sendError(res, 'INTERNAL', 'Postgres is unreachable, so it cannot be checked that the event is new; retry');
      }
      if (ctx.aborted) return;
      if (recorded) return sendError(res, 'CONFLICT', `event ${id} already exists (in Postgres; Redis gets it back from there)`);

      let created: Awaited<ReturnType<typeof createEventFromLayout>>;
      try {
        created = await createEventFromLayout(store, id, layout);
      } catch (err) {
        if (!(err instanceof LayoutError)) throw err;
        return sendError(res, 'BAD_REQUEST', err.message, { issues: err.issues });
      }
      if (!created.ok) {
        const why = created.code === 'CONFLICT' ? `event ${id} already exists` : `the store refused event ${id} (${created.code}: its seat count or hold settings are out of range); nothing was created`;
        return sendError(res, created.code, why);
      }
      logger.info({ eventId: id, epoch: created.epoch, seatCount: created.compiled.seatCount, sub: principal.sub }, 'event created');
      sendJson(res, 201, { id, epoch: created.epoch, seatCount: created.compiled.seatCount });
    }, logger),
  );
}

/**
 * The id and layout of a POST /events body: `{id, layout}`, `{layout}`, or a
 * bare layout (what `npm run venue` writes: it has `sections`). Without an id
 * the gateway makes one, as seats.io does with an event key.
 */
export function eventBody(body: Record<string, unknown>): { id?: unknown; layout: unknown } {
  if (!('layout' in body) && 'sections' in body) return { layout: body };
  return { ...('id' in body && { id: body.id }), layout: body.layout };
}

/** A new event id: `ev-` and 12 random hex digits. */
export function newEventId(): string {
  return `ev-${randomBytes(6).toString('hex')}`;
}

/** Whether an Accept-Encoding header accepts gzip (and does not refuse it with q=0). */
export function acceptsGzip(header: string): boolean {
  for (const part of header.split(',')) {
    const [coding, ...params] = part.trim().toLowerCase().split(';');
    if (coding?.trim() !== 'gzip' && coding?.trim() !== 'x-gzip') continue;
    const q = params.map((p) => p.trim()).find((p) => p.startsWith('q='));
    return q === undefined || Number(q.slice(2)) > 0;
  }
  return false;
}

/** If-None-Match: `*`, or a list of (possibly weak) entity tags one of which is the ETag. */
export function etagMatches(header: string, etag: string): boolean {
  if (header === '') return false;
  if (header.trim() === '*') return true;
  return header.split(',').some((tag) => tag.trim().replace(/^W\//, '') === etag);
}
