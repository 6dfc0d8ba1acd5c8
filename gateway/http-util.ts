/**
 * Small helpers for uWebSockets.js HTTP handlers.
 *
 * The uWS rules they encode:
 * - an HttpRequest is only valid during the synchronous part of the handler: read
 *   headers and parameters before the first await;
 * - a handler that responds after an await must call `res.onAborted` first, and must
 *   not touch `res` once it was aborted (asyncHandler does both);
 * - writes after an await must be corked (every send helper here corks);
 * - `onData` chunks are neutered when the callback returns: they must be copied
 *   (request bodies: gateway/http-body.ts).
 */
import type { Logger } from 'pino';
import type { HttpRequest, HttpResponse } from 'uWebSockets.js';
import { ERROR_CATALOGUE, type ErrorCode } from '../core/errors.js';

const STATUS_TEXT: Record<number, string> = {
  200: 'OK',
  201: 'Created',
  204: 'No Content',
  304: 'Not Modified',
  400: 'Bad Request',
  401: 'Unauthorized',
  403: 'Forbidden',
  404: 'Not Found',
  405: 'Method Not Allowed',
  409: 'Conflict',
  410: 'Gone',
  413: 'Payload Too Large',
  415: 'Unsupported Media Type',
  429: 'Too Many Requests',
  500: 'Internal Server Error',
  503: 'Service Unavailable',
};

/** The status line uWS wants, e.g. `404 Not Found`. */
export function statusLine(status: number): string {
  const text = STATUS_TEXT[status];
  return text === undefined ? String(status) : `${status} ${text}`;
}

/** The HTTP status of an error code, from its catalogue entry (docs/protocol.md lists them). */
export function errorStatus(code: ErrorCode): number {
  return ERROR_CATALOGUE[code].status;
}

/** Responses that were aborted by the client: nothing may be written to them. */
const aborted = new WeakSet<HttpResponse>();
/** Responses already ended by one of the helpers here. */
const responded = new WeakSet<HttpResponse>();

/** Whether the response was aborted (only known for responses managed by asyncHandler) or already ended here. */
export function isFinished(res: HttpResponse): boolean {
  return aborted.has(res) || responded.has(res);
}

/**
 * Writes a whole response, corked (safe before and after an await). Does nothing
 * when the response was aborted or already sent. `body` undefined sends no body
 * and no Content-Length (for 304); `closeConnection` only applies with a body.
 */
export function sendRaw(
  res: HttpResponse,
  status: number,
  headers: Record<string, string>,
  body?: string | Uint8Array,
  closeConnection = false,
): void {
  if (isFinished(res)) return;
  responded.add(res);
  res.cork(() => {
    res.writeStatus(statusLine(status));
    for (const [key, value] of Object.entries(headers)) res.writeHeader(key, value);
    // No arguments: this uWS build writes a bogus Content-Length for an explicit
    // `undefined` length and fails on (undefined, false), so no-body answers
    // (304) never close the connection.
    if (body === undefined) res.endWithoutBody();
    else res.end(body, closeConnection);
  });
}

export const JSON_TYPE = 'application/json; charset=utf-8';

export function sendJson(res: HttpResponse, status: number, body: unknown, headers: Record<string, string> = {}): void {
  sendRaw(res, status, { 'Content-Type': JSON_TYPE, ...headers }, JSON.stringify(body));
}

/** `{code, msg, ...extra}` with the code's HTTP status. */
export function sendError(res: HttpResponse, code: ErrorCode, msg: string, extra: object = {}): void {
  sendJson(res, errorStatus(code), { code, msg, ...extra });
}

/** An error carrying the HTTP status it should be answered with (request bodies: 413, 503; gateway/http-body.ts). */
export class HttpError extends Error {
  constructor(
    readonly status: number,
    message: string,
  ) {
    super(message);
    this.name = 'HttpError';
  }
}

/** A request body's read fails with this when the client went away. */
export class AbortedError extends Error {
  constructor() {
    super('request aborted');
    this.name = 'AbortedError';
  }
}

/** The per-request state asyncHandler hands to the handler. */
export interface RequestContext {
  /** true once the client aborted: `res` must not be touched any more */
  readonly aborted: boolean;
  /** runs `fn` when the request is aborted (at once if it already was) */
  onAbort(fn: () => void): void;
}


export type AsyncRouteHandler = (res: HttpResponse, req: HttpRequest, ctx: RequestContext) => void | Promise<void>;

/**
 * Wraps a route handler that may respond after an await: attaches onAborted
 * before the handler runs (so before any await of it), hands it a context with
 * the abort flag, and answers a thrown error (or rejection) with 500
 * `{code:'INTERNAL'}`, logged, unless the response was aborted or already sent.
 * The handler runs synchronously up to its first await, so it can still read `req`.
 */
export function asyncHandler(handler: AsyncRouteHandler, logger?: Pick<Logger, 'error'>): (res: HttpResponse, req: HttpRequest) => void {
  return (res, req) => {
    // captured synchronously: req is not valid after the handler returns
    const url = req.getUrl();
    let isAborted = false;
    const listeners: (() => void)[] = [];
    const ctx: RequestContext = {
      get aborted() {
        return isAborted;
      },
      onAbort(fn) {
        if (isAborted) fn();
        else listeners.push(fn);
      },
    };
    res.onAborted(() => {
      isAborted = true;
      aborted.add(res);
      for (const fn of listeners.splice(0)) {
        try {
          fn();
        } catch {
          // an abort listener must not break the others
        }
      }
    });
    const fail = (err: unknown) => {
      if (logger) logger.error({ err, url }, 'http handler failed');
      else console.error('http handler failed', err);
      if (!isFinished(res)) sendError(res, 'INTERNAL', 'internal error');
    };
    try {
      const result = handler(res, req, ctx);
      if (result) result.catch(fail);
    } catch (err) {
      fail(err);
    }
  };
}

/**
 * A URL path segment, percent-decoded; null when it is not valid percent-encoded
 * UTF-8 (decodeURIComponent would throw) — answer that BAD_REQUEST.
 */
export function decodePathSegment(raw: string): string | null {
  try {
    return decodeURIComponent(raw);
  } catch {
    return null;
  }
}
