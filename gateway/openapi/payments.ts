/**
 * OpenAPI description of gateway/payment-routes.ts: the payment provider's
 * callbacks, which end a checkout's payment window. Called with an admin
 * token, or signed by the provider (the two `Seatmap-` headers together).
 */
import { FREED, NOT_YET_FREED, bookingChange, bookingParameter } from './bookings.js';
import { bodyRefusals, internalRefusal, json, jsonBody, refusals, safeText, tokenRefusals, type ApiOperation, type ApiPart } from './schema.js';

const SIGNED_OR_ADMIN: Record<string, string[]>[] = [{ bearer: ['admin'] }, { paymentSignature: [], paymentTimestamp: [] }];

function callback(outcome: 'confirm' | 'fail'): ApiOperation {
  const confirm = outcome === 'confirm';
  return {
    summary: confirm ? 'The payment succeeded: pending_payment → confirmed' : 'The payment failed: pending_payment → failed, its seats freed for every watcher',
    description:
      'Idempotent: a second call answers `changed: false`. A token is checked before the body is read; a signature\'s header and timestamp too, then the body (which it covers). ' +
      (confirm ? 'A confirm after the payment window expired the booking is CONFLICT: refund it.' : 'A fail after a confirm is CONFLICT.'),
    tags: ['payments'],
    operationId: confirm ? 'confirmPayment' : 'failPayment',
    security: SIGNED_OR_ADMIN,
    parameters: [{ ...bookingParameter, description: 'the booking id (UUID) or reference (SM-…): the provider knows the booking, not the event' }],
    requestBody: jsonBody(
      {
        type: 'object',
        properties: confirm ? { payment: safeText(128, 'the provider\'s payment id, kept in the history and the log entry') } : { reason: safeText(500, 'kept in the history and the log entry') },
      },
      false,
      'optional (at most 8 KiB); a signature covers its raw bytes (empty for no body)',
    ),
    responses: {
      // a confirm gives no seats up: nothing to free, never a 202
      '200': json(confirm ? 'confirmed (or already)' : 'failed (or already)', bookingChange(confirm ? { const: 0, description: 'a confirm frees no seats' } : FREED)),
      ...(confirm ? {} : { '202': json('failed in Postgres, the seats not yet free in Redis: freed in the background', bookingChange(NOT_YET_FREED)) }),
      ...refusals({
        ...tokenRefusals('admin'),
        401: ['no credentials, a token that is not valid, a Seatmap-Timestamp outside PAYMENT_SIGNATURE_TOLERANCE_S, or a Seatmap-Signature that does not match this path and body', 'UNAUTHORIZED'],
        400: ['a malformed booking, or a body that is not a JSON object with safe text in `' + (confirm ? 'payment' : 'reason') + '`', 'BAD_REQUEST'],
        404: ['there is no such booking', 'NOT_FOUND'],
        409: [confirm ? 'the booking is not awaiting payment (failed, expired, cancelled)' : 'the booking is not awaiting payment (confirmed, checked in, expired, cancelled)', 'CONFLICT'],
        ...bodyRefusals('8 KiB'),
        ...internalRefusal('the outcome is unknown: calling again is safe'),
      }),
    },
  };
}

export const PAYMENTS_API: ApiPart = {
  tag: { name: 'payments', description: 'The payment provider\'s callbacks (docs/bookings.md#payment-callbacks)' },
  securitySchemes: {
    paymentSignature: {
      type: 'apiKey',
      in: 'header',
      name: 'Seatmap-Signature',
      description:
        '`v1=<hex HMAC-SHA256(PAYMENT_WEBHOOK_SECRET, "<timestamp>.<path>.<body>")>`: the path as sent (`/bookings/SM-7K2M9QXD/confirm`, no query), the body\'s raw bytes; several signatures separated by spaces while a secret is rotated (one must match). With Seatmap-Timestamp.',
    },
    paymentTimestamp: {
      type: 'apiKey',
      in: 'header',
      name: 'Seatmap-Timestamp',
      description: 'the signing time, in seconds since the Unix epoch, within PAYMENT_SIGNATURE_TOLERANCE_S (300 s) of the gateway\'s clock. With Seatmap-Signature.',
    },
  },
  paths: {
    '/bookings/{booking}/confirm': { post: callback('confirm') },
    '/bookings/{booking}/fail': { post: callback('fail') },
  },
};
