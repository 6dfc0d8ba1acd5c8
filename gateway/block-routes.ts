/**
 * Taking seats off sale and back (admin scope), recorded in Postgres for
 * rebuilds (core/bookings/blocks.ts):
 *
 *   POST /events/:id/block    {"seats"?, "areas"?, "sections"?, "categories"?}   free seats -> blocked
 *   POST /events/:id/unblock  {"seats"?, "areas"?, "sections"?, "categories"?}   blocked seats -> free
 *
 * A body of `seats` alone is all or nothing, answered `{seq}` (as it always
 * was); `areas` ([[area, qty], …]: places of general-admission areas) goes
 * with it or alone, in the same all-or-nothing call and change-log entry. A body naming `sections` or `categories` is a bulk call: the ids are
 * expanded to seat indexes with the event's layout (unknown ids are
 * BAD_REQUEST, naming them), together with any `seats`; the seats in the
 * right state move, held and booked seats are left and reported, one
 * change-log entry for the call. gateway/openapi/blocks.ts describes both.
 */
import type pg from 'pg';
import type { Logger } from 'pino';
import type { TemplatedApp } from 'uWebSockets.js';
import { setSeatsBlocked, setSeatsBlockedBulk, type BlockOperation } from '../core/bookings/blocks.js';
import { ERROR_CATALOGUE, type ErrorCode } from '../core/errors.js';
import { MAX_GA_QUANTITY } from '../core/protocol/index.js';
import { EVENT_ID } from '../core/ids.js';
import { LayoutError, MAX_ID_LENGTH, seatsOfGroups } from '../core/layout/index.js';
import { STORE_LIMITS } from '../core/store/index.js';
import type { SeatStore } from '../core/store/seat-store.js';
import type { Authenticator } from './auth.js';
import type { EventLayouts } from './current-layout.js';
import { authorize } from './http-auth.js';
import { holdBody, readJsonBody, type BodyBudget } from './http-body.js';
import { asyncHandler, sendError, sendJson } from './http-util.js';
import { seatsAre } from './refusal-messages.js';

export interface BlockRouteDeps {
  pool: pg.Pool;
  store: SeatStore;
  authenticator: Authenticator;
  logger: Logger;
  /** the event's current layout, to expand section and category ids */
  layouts: EventLayouts;
  /** what request bodies may buffer in all; absent: the process-wide budget (gateway/http-body.ts) */
  bodyBudget?: BodyBudget;
}

/** a block or unblock body: up to the store's 1,000 seats, or ids of sections and categories */
const BLOCK_BODY_MAX_BYTES = 64 * 1024;
/** [area, qty] pairs in one body: a layout has at most 1,000 areas */
const MAX_AREA_PAIRS = 1000;
/** ids in one list: more than a layout has categories (1,000) is a mistake */
const MAX_IDS = 1000;
const NO_STORE = { 'Cache-Control': 'no-store' };

/** A bulk call's answer: what moved and what was left as it is (gateway/openapi/blocks.ts). */
export interface BulkBlockAnswer {
  seq: number;
  /** seats moved: blocked (block) or put on sale (unblock) */
  changed: number;
  /** seats already blocked (block) or already free (unblock) */
  unchanged: number;
  /** seats held or booked: left as they are */
  held: number[];
  booked: number[];
}

export function registerBlockRoutes(app: TemplatedApp, deps: BlockRouteDeps): void {
  const { pool, store, logger } = deps;
  for (const operation of ['block', 'unblock'] as const) {
    app.post(
      `/events/:id/${operation}`,
      asyncHandler(async (res, req, ctx) => {
        const eventId = req.getParameter(0) ?? '';
        // taken in charge now (uWS drops data nobody listens for), read only for an admin (gateway/http-body.ts)
        const body = holdBody(res, req, ctx, { maxBytes: BLOCK_BODY_MAX_BYTES, budget: deps.bodyBudget });
        const principal = await authorize(req, ctx, deps.authenticator, 'admin', body.refuse);
        if (!principal || ctx.aborted) return;
        if (!EVENT_ID.test(eventId)) return body.refuse('BAD_REQUEST', 'bad event id');
        const input = await readJsonBody(res, body, ctx, 'the body must be JSON {"seats"?: [seat indexes], "areas"?: [[area, qty]], "sections"?: [ids], "categories"?: [ids]}');
        if (input === undefined || ctx.aborted) return;
        const parsed = blockBody(input);
        if (typeof parsed === 'string') return sendError(res, 'BAD_REQUEST', parsed);

        if (!parsed.sections && !parsed.categories) {
          const seats = parsed.seats ?? [];
          const result = await setSeatsBlocked(pool, store, operation, eventId, seats, parsed.areas);
          if (ctx.aborted) return;
          if (!result.ok) {
            if (result.reason === 'ga') return sendError(res, result.code, placesRefusal(operation, result.code, result.areas, result.left), { reason: 'ga', ...(result.areas && { areas: result.areas }), ...(result.left && { left: result.left }) });
            return sendError(res, result.code, blockRefusal(operation, result.code, result.seats), result.seats ? { seats: result.seats } : {});
          }
          logger.info({ eventId, operation, seats: seats.length, places: (parsed.areas ?? []).reduce((n, [, q]) => n + q, 0), by: principal.sub }, `seats ${operation}ed`);
          return sendJson(res, 200, { seq: result.seq }, NO_STORE);
        }

        let layout: Awaited<ReturnType<EventLayouts['current']>>;
        try {
          layout = await deps.layouts.current(eventId);
        } catch (err) {
          if (!(err instanceof LayoutError)) throw err;
          logger.error({ err, eventId }, 'stored layout is invalid');
          return sendError(res, 'INTERNAL', 'the stored layout is invalid, so sections and categories cannot be told; nothing was changed');
        }
        if (ctx.aborted) return;
        if (layout === 'none') return sendError(res, 'NO_EVENT', `there is no event ${eventId}; nothing was ${operation}ed`);
        if (layout === 'no-layout') return sendError(res, 'BAD_REQUEST', `event ${eventId} has no layout, so it has no sections or categories: name seats; nothing was ${operation}ed`);
        const group = seatsOfGroups(layout.compiled, parsed);
        if (!group.ok) return sendError(res, 'BAD_REQUEST', unknownIds(eventId, group.unknownSections, group.unknownCategories, operation));

        let answer: BulkBlockAnswer;
        if (group.seats.length === 0) {
          // categories the layout declares but gives no seat: nothing to do
          const meta = await store.meta(eventId);
          if (ctx.aborted) return;
          if (!meta) return sendError(res, 'NO_EVENT', `there is no event ${eventId}; nothing was ${operation}ed`);
          answer = { seq: meta.seq, changed: 0, unchanged: 0, held: [], booked: [] };
        } else {
          const result = await setSeatsBlockedBulk(pool, store, operation, eventId, group.seats);
          if (ctx.aborted) return;
          if (!result.ok) return sendError(res, result.code, blockRefusal(operation, result.code, result.seats), result.seats ? { seats: result.seats } : {});
          answer = { seq: result.seq, changed: result.changed.length, unchanged: result.unchanged.length, held: result.held, booked: result.booked };
        }
        logger.info({ eventId, operation, sections: parsed.sections?.length ?? 0, categories: parsed.categories?.length ?? 0, changed: answer.changed, by: principal.sub }, `seats ${operation}ed in bulk`);
        sendJson(res, 200, answer, NO_STORE);
      }, logger),
    );
  }
}

interface BlockBody {
  seats?: number[];
  /** places of general-admission areas: [area, qty] pairs, each area once */
  areas?: [number, number][];
  sections?: string[];
  categories?: string[];
}

/** The fields of a block or unblock body, or what is wrong with them. */
export function blockBody(input: unknown): BlockBody | string {
  if (input === null || typeof input !== 'object' || Array.isArray(input)) return 'the body must be a JSON object {"seats"?: [seat indexes], "areas"?: [[area, qty]], "sections"?: [ids], "categories"?: [ids]}';
  const { seats, sections, categories, areas } = input as Record<string, unknown>;
  const out: BlockBody = {};
  if (areas !== undefined) {
    const rule = `areas must be a non-empty array of at most ${MAX_AREA_PAIRS} [area, quantity] pairs: area indexes named once, quantities 1 to ${MAX_GA_QUANTITY}`;
    if (!Array.isArray(areas) || areas.length === 0 || areas.length > MAX_AREA_PAIRS) return rule;
    const seen = new Set<number>();
    for (const pair of areas) {
      if (!Array.isArray(pair) || pair.length !== 2) return rule;
      const [area, qty] = pair as unknown[];
      if (!Number.isSafeInteger(area) || (area as number) < 0 || seen.has(area as number)) return rule;
      if (!Number.isSafeInteger(qty) || (qty as number) < 1 || (qty as number) > MAX_GA_QUANTITY) return rule;
      seen.add(area as number);
    }
    out.areas = (areas as [number, number][]).map(([a, q]) => [a, q]);
    if (sections !== undefined || categories !== undefined) return 'areas go with seats, not with sections or categories: block places in a call of their own';
  }
  if (seats !== undefined) {
    // range (negative indexes too) is the store's: its BAD_SEAT lists every offending index
    if (!Array.isArray(seats) || seats.length === 0 || !seats.every((s) => Number.isSafeInteger(s))) return 'seats must be a non-empty array of integer seat indexes';
    out.seats = seats as number[];
  }
  for (const [name, value] of [['sections', sections], ['categories', categories]] as const) {
    if (value === undefined) continue;
    if (!Array.isArray(value) || value.length === 0 || value.length > MAX_IDS) return `${name} must be a non-empty array of at most ${MAX_IDS} ids`;
    if (!value.every((id) => typeof id === 'string' && id.length >= 1 && id.length <= MAX_ID_LENGTH)) return `${name} must be ids of the layout (strings of 1 to ${MAX_ID_LENGTH} characters)`;
    out[name] = value as string[];
  }
  // seats alone (or with areas) are one all-or-nothing script call of at most maxSeatsPerCall; a bulk call takes a venue
  if (out.seats && !out.sections && !out.categories && out.seats.length > STORE_LIMITS.maxSeatsPerCall) {
    return `seats: at most ${STORE_LIMITS.maxSeatsPerCall} seat indexes in one call, got ${out.seats.length} (name sections or categories to change more at once)`;
  }
  if (!out.seats && !out.areas && !out.sections && !out.categories) return 'name the seats to change: seats (a non-empty array of seat indexes), areas ([[area, qty]] places of general-admission areas), sections or categories (arrays of ids of the layout)';
  return out;
}

/** "sections: event E has no section X or Y; categories: … ; nothing was blocked" */
function unknownIds(eventId: string, sections: string[], categories: string[], operation: BlockOperation): string {
  const list = (ids: string[]) => ids.slice(0, 10).map((id) => JSON.stringify(id)).join(', ') + (ids.length > 10 ? ` and ${ids.length - 10} more` : '');
  const parts: string[] = [];
  if (sections.length > 0) parts.push(`sections: event ${eventId} has no section ${list(sections)}`);
  if (categories.length > 0) parts.push(`categories: event ${eventId} has no category ${list(categories)}`);
  return `${parts.join('; ')}; nothing was ${operation}ed`;
}

/** A refused block or unblock of places (the store's reason `ga`). */
function placesRefusal(operation: BlockOperation, code: ErrorCode, areas: number[] | undefined, left: number[] | undefined): string {
  const done = `nothing was ${operation}ed`;
  const each = (areas ?? []).map((a, i) => `area ${a} has ${left?.[i] ?? 0}`);
  if (code === 'UNAVAILABLE') return `areas: not enough places on sale (${each.join(', ')} left that are not held, booked or blocked); ${done}`;
  if (code === 'CONFLICT') return `areas: fewer places blocked than that (${each.join(', ')} blocked); ${done}`;
  return `areas: a quantity is out of 1 to ${MAX_GA_QUANTITY}, an area is named twice, or the event has no such area; ${done}`;
}

/** What a refused block or unblock did not do, naming the seats. */
function blockRefusal(operation: BlockOperation, code: ErrorCode, seats: number[] | undefined): string {
  const named = seats && seats.length > 0 ? seatsAre(seats) : null;
  const done = `nothing was ${operation}ed`;
  switch (code) {
    case 'BAD_SEAT':
      return named ? `seats: ${named} out of range or listed twice; ${done}` : `seats: an index is out of range or listed twice; ${done}`;
    case 'UNAVAILABLE':
      return named ? `seats: ${named} not free (held or booked); ${done}` : `seats: a seat is not free; ${done}`;
    case 'CONFLICT':
      return named ? `seats: ${named} not blocked; ${done}` : `seats: a seat is not blocked; ${done}`;
    case 'NO_EVENT':
      return `there is no such event; ${done}`;
    default:
      return ERROR_CATALOGUE[code].text;
  }
}
