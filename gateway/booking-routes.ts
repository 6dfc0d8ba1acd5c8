/**
 * The bookings admin API (admin scope), read from and written to Postgres,
 * the durable record:
 *
 *   GET  /events/:id/bookings?limit=&state=&holder=&cursor=   a page, newest first
 *   GET  /events/:id/bookings/:booking                        one booking (id or reference) with its history
 *   POST /events/:id/bookings/:booking/cancel?reason=         {"seats"?: [...], "reason"?: "..."}: the booking, or some of
 *                                                            its seats, cancelled; frees the seats
 *   DELETE /events/:id                                          the event, on purpose (not rebuilt; bookings kept)
 *
 * Blocking and unblocking seats are gateway/block-routes.ts.
 */
import type pg from 'pg';
import type { Logger } from 'pino';
import type { HttpRequest, HttpResponse, TemplatedApp } from 'uWebSockets.js';
import { deleteEvent } from '../core/bookings/delete-event.js';
import { cancelBooking, getBooking, isValidCursor, listBookings } from '../core/bookings/lifecycle.js';
import { BOOKING_STATES, type BookingState } from '../core/bookings/states.js';
import type { SeatStore } from '../core/store/seat-store.js';
import { EVENT_ID } from '../core/ids.js';
import { textProblem } from '../core/text.js';
import type { Authenticator, Principal } from './auth.js';
import { authorize, type Refuse } from './http-auth.js';
import { holdBody, type BodyBudget } from './http-body.js';
import { asyncHandler, decodePathSegment, sendError, sendJson, type RequestContext } from './http-util.js';
import { readJsonObject, seatList } from './json-body.js';

export interface BookingRouteDeps {
  pool: pg.Pool;
  store: SeatStore;
  authenticator: Authenticator;
  logger: Logger;
  /** what request bodies may buffer in all; absent: the process-wide budget (gateway/http-body.ts) */
  bodyBudget?: BodyBudget;
}

const STATES = new Set<string>(BOOKING_STATES);
const NO_STORE = { 'Cache-Control': 'no-store' };
/** query and path text, checked as safe text (core/text.ts) before it reaches Postgres */
const MAX_HOLDER_LENGTH = 128;
const MAX_REF_LENGTH = 64;
const MAX_REASON_LENGTH = 500;
/** a cancel body: some seats of one booking, and a reason */
const CANCEL_BODY_MAX_BYTES = 16 * 1024;

export function registerBookingRoutes(app: TemplatedApp, deps: BookingRouteDeps): void {
  const { pool, store, logger } = deps;

  app.get(
    '/events/:id/bookings',
    asyncHandler(async (res, req, ctx) => {
      const eventId = req.getParameter(0) ?? '';
      const query = { limit: req.getQuery('limit'), state: req.getQuery('state'), holder: req.getQuery('holder'), cursor: req.getQuery('cursor') };
      if (!(await admin(res, req, ctx, deps)) || ctx.aborted) return;
      if (!EVENT_ID.test(eventId)) return sendError(res, 'BAD_REQUEST', 'bad event id');
      const limit = query.limit ? Number(query.limit) : undefined;
      if (limit !== undefined && !(Number.isInteger(limit) && limit >= 1 && limit <= 500)) return sendError(res, 'BAD_REQUEST', 'limit must be 1 to 500');
      if (query.state && !STATES.has(query.state)) return sendError(res, 'BAD_REQUEST', `state must be one of ${BOOKING_STATES.join(', ')}`);
      if (query.cursor && !isValidCursor(query.cursor)) return sendError(res, 'BAD_REQUEST', 'cursor is not a `next` value of this API');
      const holderProblem = query.holder ? textProblem(query.holder, MAX_HOLDER_LENGTH) : null;
      if (holderProblem) return sendError(res, 'BAD_REQUEST', `holder ${holderProblem}`);
      const page = await listBookings(pool, eventId, {
        limit,
        state: (query.state || undefined) as BookingState | undefined,
        holder: query.holder || undefined,
        cursor: query.cursor || undefined,
      });
      if (!ctx.aborted) sendJson(res, 200, page, NO_STORE);
    }, logger),
  );

  app.get(
    '/events/:id/bookings/:booking',
    asyncHandler(async (res, req, ctx) => {
      const eventId = req.getParameter(0) ?? '';
      const ref = decodePathSegment(req.getParameter(1) ?? '');
      if (!(await admin(res, req, ctx, deps)) || ctx.aborted) return;
      if (!EVENT_ID.test(eventId)) return sendError(res, 'BAD_REQUEST', 'bad event id');
      if (ref === null || textProblem(ref, MAX_REF_LENGTH)) return sendError(res, 'BAD_REQUEST', 'bad booking id or reference');
      const booking = await getBooking(pool, eventId, ref);
      if (ctx.aborted) return;
      if (!booking) return sendError(res, 'NOT_FOUND', `event ${eventId} has no booking ${ref}`);
      sendJson(res, 200, booking, NO_STORE);
    }, logger),
  );

  app.post(
    '/events/:id/bookings/:booking/cancel',
    asyncHandler(async (res, req, ctx) => {
      const eventId = req.getParameter(0) ?? '';
      const ref = decodePathSegment(req.getParameter(1) ?? '');
      const queryReason = req.getQuery('reason') || undefined;
      // an optional body: {"seats": [...]} cancels only those seats (gateway/http-body.ts: read once the token is checked)
      const body = holdBody(res, req, ctx, { maxBytes: CANCEL_BODY_MAX_BYTES, budget: deps.bodyBudget });
      const principal = await admin(res, req, ctx, deps, (code, msg) => body.refuse(code, msg));
      if (!principal || ctx.aborted) return;
      if (!EVENT_ID.test(eventId)) return body.refuse('BAD_REQUEST', 'bad event id');
      if (ref === null || textProblem(ref, MAX_REF_LENGTH)) return body.refuse('BAD_REQUEST', 'bad booking id or reference');
      const parsed = await readJsonObject(res, ctx, body, '{"seats"?: [seat indexes], "reason"?: "..."}');
      if (!parsed) return;
      const seats = seatList(parsed.value.seats);
      if (typeof seats === 'string') return sendError(res, 'BAD_REQUEST', seats);
      const reason = parsed.value.reason ?? queryReason;
      const reasonProblem = reason !== undefined ? textProblem(reason, MAX_REASON_LENGTH) : null;
      if (reasonProblem) return sendError(res, 'BAD_REQUEST', `reason ${reasonProblem}`);
      const result = await cancelBooking(pool, store, eventId, ref, {
        by: principal.sub,
        reason: reason as string | undefined,
        seats,
        onRedisError: (err) => logger.error({ err, eventId, booking: ref }, 'cancelled in Postgres, seats not yet freed in Redis (retried)'),
      });
      if (ctx.aborted) return;
      if (!result.ok) return sendError(res, result.code, result.msg, result.seats ? { seats: result.seats } : {});
      if (result.changed) logger.info({ eventId, bookingId: result.booking.id, by: principal.sub, seats, freed: result.freed }, seats ? 'booking seats cancelled' : 'booking cancelled');
      // 202: durable in Postgres, but the seats are not free in Redis yet; cancelling again finishes it
      sendJson(res, result.freed === null ? 202 : 200, { booking: result.booking, changed: result.changed, freed: result.freed }, NO_STORE);
    }, logger),
  );

  app.del(
    '/events/:id',
    asyncHandler(async (res, req, ctx) => {
      const eventId = req.getParameter(0) ?? '';
      const principal = await admin(res, req, ctx, deps);
      if (!principal || ctx.aborted) return;
      if (!EVENT_ID.test(eventId)) return sendError(res, 'BAD_REQUEST', 'bad event id');
      const existed = await deleteEvent(pool, store, eventId);
      if (ctx.aborted) return;
      if (!existed) return sendError(res, 'NO_EVENT', `there is no event ${eventId}`);
      logger.info({ eventId, by: principal.sub }, 'event deleted');
      sendJson(res, 200, { id: eventId, deleted: true }, NO_STORE);
    }, logger),
  );
}

/** The principal of a valid admin token, or null after answering 401/403 (through `refuse`, when a route holds a body). Call before any await. */
function admin(res: HttpResponse, req: HttpRequest, ctx: RequestContext, deps: BookingRouteDeps, refuse: Refuse = (code, msg) => sendError(res, code, msg)): Promise<Principal | null> {
  return authorize(req, ctx, deps.authenticator, 'admin', refuse);
}
