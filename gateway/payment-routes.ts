/**
 * The payment provider's callbacks, which end a checkout's payment window:
 *
 *   POST /bookings/:booking/confirm   {"payment"?: "<the provider's id>"}   pending_payment -> confirmed
 *   POST /bookings/:booking/fail      {"reason"?: "..."}                     pending_payment -> failed (seats freed)
 *
 * Who may call: an admin token (`Authorization: Bearer`), or the provider
 * signing the call with PAYMENT_WEBHOOK_SECRET: `Seatmap-Timestamp` (s) and
 * `Seatmap-Signature: v1=<hex HMAC-SHA256(secret, timestamp.path.body)>`
 * (core/bookings/signatures.ts), compared in constant time, the timestamp
 * within PAYMENT_SIGNATURE_TOLERANCE_S of now (a captured call cannot be
 * replayed later; within the window a replay repeats an idempotent call).
 *
 * The body is read only once the credentials are checked as far as they can
 * be without it: a token is verified first; a signature's header and
 * timestamp are checked first, and then the body (at most 8 KiB) is read,
 * because the signature covers it. Idempotent: a second confirm (or fail)
 * answers `changed: false`.
 */
import type pg from 'pg';
import type { Logger } from 'pino';
import type { TemplatedApp } from 'uWebSockets.js';
import { runBookingAction } from '../core/bookings/actions.js';
import { paymentSignature, signatureMatches, timestampFresh } from '../core/bookings/signatures.js';
import type { SeatStore } from '../core/store/seat-store.js';
import { textProblem } from '../core/text.js';
import type { Authenticator } from './auth.js';
import { authorize } from './http-auth.js';
import { holdBody, type BodyBudget } from './http-body.js';
import { asyncHandler, decodePathSegment, sendError, sendJson } from './http-util.js';
import { readJsonObject } from './json-body.js';

export interface PaymentRouteDeps {
  pool: pg.Pool;
  store: SeatStore;
  authenticator: Authenticator;
  logger: Logger;
  /** PAYMENT_WEBHOOK_SECRET; undefined: only admin tokens */
  secret?: string;
  /** PAYMENT_SIGNATURE_TOLERANCE_S */
  toleranceS: number;
  bodyBudget?: BodyBudget;
}

const PAYMENT_BODY_MAX_BYTES = 8 * 1024;
const MAX_REF_LENGTH = 64;
const MAX_PAYMENT_LENGTH = 128;
const MAX_REASON_LENGTH = 500;
const NO_STORE = { 'Cache-Control': 'no-store' };
/** who a signed callback is recorded as, in the history and the log */
export const PAYMENT_PROVIDER = 'payment-provider';

export function registerPaymentRoutes(app: TemplatedApp, deps: PaymentRouteDeps): void {
  const { pool, store, logger } = deps;
  for (const outcome of ['confirm', 'fail'] as const) {
    const field = outcome === 'confirm' ? 'payment' : 'reason';
    const shape = outcome === 'confirm' ? '{"payment"?: "<payment id>"}' : '{"reason"?: "..."}';
    app.post(
      `/bookings/:booking/${outcome}`,
      asyncHandler(async (res, req, ctx) => {
        // read now: the request is only valid until the first await
        const path = req.getUrl();
        const ref = decodePathSegment(req.getParameter(0) ?? '');
        const hasToken = req.getHeader('authorization') !== '';
        const timestamp = req.getHeader('seatmap-timestamp');
        const signature = req.getHeader('seatmap-signature');
        const body = holdBody(res, req, ctx, { maxBytes: PAYMENT_BODY_MAX_BYTES, budget: deps.bodyBudget });

        let by: string | null = PAYMENT_PROVIDER;
        const signed = !hasToken && signature !== '' && deps.secret !== undefined;
        if (signed) {
          if (!/^\d{1,12}$/.test(timestamp) || !timestampFresh(Number(timestamp), deps.toleranceS)) {
            return body.refuse('UNAUTHORIZED', `Seatmap-Timestamp must be the current time in seconds (within ${deps.toleranceS} s)`);
          }
        } else if (hasToken || deps.secret === undefined) {
          const principal = await authorize(req, ctx, deps.authenticator, 'admin', body.refuse);
          if (!principal || ctx.aborted) return;
          by = principal.sub;
        } else {
          return body.refuse('UNAUTHORIZED', 'an admin token (Authorization: Bearer) or a Seatmap-Signature is required');
        }
        if (ref === null || textProblem(ref, MAX_REF_LENGTH)) return body.refuse('BAD_REQUEST', 'bad booking id or reference');

        const parsed = await readJsonObject(res, ctx, body, shape);
        if (!parsed) return;
        if (signed && !signatureMatches(paymentSignature(deps.secret!, Number(timestamp), path, parsed.raw), signature)) {
          return sendError(res, 'UNAUTHORIZED', 'the Seatmap-Signature does not match this request');
        }
        const value = parsed.value[field];
        const problem = value === undefined ? null : textProblem(value, outcome === 'confirm' ? MAX_PAYMENT_LENGTH : MAX_REASON_LENGTH);
        if (problem) return sendError(res, 'BAD_REQUEST', `${field} ${problem}`);

        const result = await runBookingAction(
          pool,
          store,
          { booking: ref },
          { action: outcome, by, detail: value === undefined ? undefined : { [field]: value as string } },
          (err) => logger.error({ err, booking: ref }, `payment ${outcome}: recorded in Postgres, seats not yet freed in Redis (retried)`),
        );
        if (ctx.aborted) return;
        if (!result.ok) return sendError(res, result.code, result.msg, result.seats ? { seats: result.seats } : {});
        if (result.changed) logger.info({ bookingId: result.booking.id, outcome, by, signed }, 'payment callback applied');
        sendJson(res, result.freed === null ? 202 : 200, { booking: result.booking, changed: result.changed, freed: result.freed }, NO_STORE);
      }, logger),
    );
  }
}
