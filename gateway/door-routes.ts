/**
 * Check-in at the door (scope `seats:door`, the scanners' tokens):
 *
 *   POST /events/:id/bookings/:booking/check-in   {"seats"?: [...], "gate"?: "North 3"}
 *
 * Every seat of the booking, or the seats scanned; idempotent: a seat scanned
 * again answers when, where and by whom it was first checked in (`already`).
 * core/bookings/check-in.ts holds the rules.
 */
import type pg from 'pg';
import type { Logger } from 'pino';
import type { TemplatedApp } from 'uWebSockets.js';
import { checkIn } from '../core/bookings/check-in.js';
import { EVENT_ID } from '../core/ids.js';
import { textProblem } from '../core/text.js';
import type { Authenticator } from './auth.js';
import { authorize } from './http-auth.js';
import { holdBody, type BodyBudget } from './http-body.js';
import { asyncHandler, decodePathSegment, sendError, sendJson } from './http-util.js';
import { readJsonObject, seatList } from './json-body.js';

export interface DoorRouteDeps {
  pool: pg.Pool;
  authenticator: Authenticator;
  logger: Logger;
  bodyBudget?: BodyBudget;
}

const CHECK_IN_BODY_MAX_BYTES = 16 * 1024;
const MAX_REF_LENGTH = 64;
const MAX_GATE_LENGTH = 64;
const NO_STORE = { 'Cache-Control': 'no-store' };

export function registerDoorRoutes(app: TemplatedApp, deps: DoorRouteDeps): void {
  const { pool, logger } = deps;
  app.post(
    '/events/:id/bookings/:booking/check-in',
    asyncHandler(async (res, req, ctx) => {
      const eventId = req.getParameter(0) ?? '';
      const ref = decodePathSegment(req.getParameter(1) ?? '');
      const body = holdBody(res, req, ctx, { maxBytes: CHECK_IN_BODY_MAX_BYTES, budget: deps.bodyBudget });
      const principal = await authorize(req, ctx, deps.authenticator, 'seats:door', body.refuse);
      if (!principal || ctx.aborted) return;
      if (!EVENT_ID.test(eventId)) return body.refuse('BAD_REQUEST', 'bad event id');
      if (ref === null || textProblem(ref, MAX_REF_LENGTH)) return body.refuse('BAD_REQUEST', 'bad booking id or reference');
      const parsed = await readJsonObject(res, ctx, body, '{"seats"?: [seat indexes], "gate"?: "..."}');
      if (!parsed) return;
      const seats = seatList(parsed.value.seats);
      if (typeof seats === 'string') return sendError(res, 'BAD_REQUEST', seats);
      const gate = parsed.value.gate;
      const gateProblem = gate === undefined ? null : textProblem(gate, MAX_GATE_LENGTH);
      if (gateProblem) return sendError(res, 'BAD_REQUEST', `gate ${gateProblem}`);
      const result = await checkIn(pool, { booking: ref, eventId, seats, gate: gate as string | undefined, by: principal.sub });
      if (ctx.aborted) return;
      if (!result.ok) return sendError(res, result.code, result.msg, result.seats ? { seats: result.seats } : {});
      if (result.changed) logger.info({ eventId, bookingId: result.booking.id, seats: result.checkedIn.map((c) => c.seat), gate }, 'checked in');
      sendJson(res, 200, { booking: result.booking, changed: result.changed, checkedIn: result.checkedIn, already: result.already }, NO_STORE);
    }, logger),
  );
}
