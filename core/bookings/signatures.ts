/**
 * HMAC-SHA256 signatures: the gateway signs every webhook delivery, and a
 * payment provider signs its callbacks to the gateway. Both sign the
 * timestamp with the content, so a captured request cannot be replayed
 * outside the tolerance, and both are compared in constant time.
 *
 * - webhook:  `v1=` + hex(HMAC(secret, `${id}.${timestamp}.${body}`)), sent as
 *   `Seatmap-Signature` with `Seatmap-Id` and `Seatmap-Timestamp`;
 * - payment callback: `v1=` + hex(HMAC(secret, `${timestamp}.${path}.${body}`)),
 *   the path naming the booking and the outcome (`/bookings/<id>/confirm`).
 *
 * `timestamp` is whole seconds since the Unix epoch. A header may carry
 * several signatures separated by spaces (a secret being rotated): one match
 * is enough. docs/bookings.md shows a receiver.
 */
import { createHmac, timingSafeEqual } from 'node:crypto';

export const SIGNATURE_PREFIX = 'v1=';

function sign(secret: string, content: string): string {
  return SIGNATURE_PREFIX + createHmac('sha256', secret).update(content, 'utf8').digest('hex');
}

/** The `Seatmap-Signature` of a webhook delivery. */
export function webhookSignature(secret: string, id: string, timestamp: number, body: string): string {
  return sign(secret, `${id}.${timestamp}.${body}`);
}

/** The `Seatmap-Signature` a payment provider sends with a callback to `path`. */
export function paymentSignature(secret: string, timestamp: number, path: string, body: string): string {
  return sign(secret, `${timestamp}.${path}.${body}`);
}

/** Whether any signature in `header` (space-separated) equals `expected`, compared in constant time. */
export function signatureMatches(expected: string, header: string): boolean {
  const want = Buffer.from(expected, 'utf8');
  let found = false;
  for (const candidate of header.split(' ')) {
    const got = Buffer.from(candidate.trim(), 'utf8');
    // equal lengths first: timingSafeEqual throws otherwise (the length of a hex digest is no secret)
    if (got.length === want.length && timingSafeEqual(got, want)) found = true;
  }
  return found;
}

/** Whether `timestamp` (s) is within `toleranceS` of `nowMs`. */
export function timestampFresh(timestamp: number, toleranceS: number, nowMs = Date.now()): boolean {
  return Number.isSafeInteger(timestamp) && Math.abs(nowMs / 1000 - timestamp) <= toleranceS;
}
