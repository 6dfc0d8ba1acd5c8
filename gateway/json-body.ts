/**
 * A small JSON request body (the lifecycle routes: cancel, check-in, payment
 * callbacks, webhooks), read once the route has checked the credentials
 * (gateway/http-body.ts), parsed, and refused with a clear answer when it is
 * not a JSON object. An empty body is an empty object: every field of these
 * bodies is optional or checked by the route.
 */
import type { HttpResponse } from 'uWebSockets.js';
import { refuseBodyError, type HeldBody } from './http-body.js';
import { sendError, type RequestContext } from './http-util.js';

/** The body as a JSON object, or null once the request has been answered (too large, not JSON, aborted). */
export async function readJsonObject(res: HttpResponse, ctx: RequestContext, body: HeldBody, shape: string): Promise<{ raw: string; value: Record<string, unknown> } | null> {
  let raw: string;
  try {
    raw = (await body.read()).toString('utf8');
  } catch (err) {
    if (refuseBodyError(body, err)) return null;
    throw err;
  }
  if (ctx.aborted) return null;
  if (raw.trim() === '') return { raw, value: {} };
  let value: unknown;
  try {
    value = JSON.parse(raw);
  } catch {
    sendError(res, 'BAD_REQUEST', `the body must be JSON ${shape}`);
    return null;
  }
  if (value === null || typeof value !== 'object' || Array.isArray(value)) {
    sendError(res, 'BAD_REQUEST', `the body must be a JSON object ${shape}`);
    return null;
  }
  return { raw, value: value as Record<string, unknown> };
}

/** A `seats` field: absent, or a non-empty array of distinct seat indexes (at most `max`); a string says what is wrong. */
export function seatList(value: unknown, max = 1000): number[] | undefined | string {
  if (value === undefined) return undefined;
  if (!Array.isArray(value) || value.length === 0 || value.length > max) return `seats must be a non-empty array of at most ${max} seat indexes`;
  if (!value.every((s) => Number.isSafeInteger(s) && (s as number) >= 0 && (s as number) <= 0x7fffffff)) return 'seats must be seat indexes (non-negative integers)';
  if (new Set(value).size !== value.length) return 'seats must not repeat a seat';
  return value as number[];
}
