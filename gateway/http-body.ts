/**
 * Request bodies, read only once the route has decided it wants them, within
 * a per-request bound and a process-wide budget.
 *
 * uWS drops body data that arrives while no `onData` handler is attached, so
 * `holdBody` attaches one in the synchronous part of the handler and pauses
 * the socket at once: the body stays in the client's and the kernel's
 * buffers (TCP flow control) while the route checks the credentials. Only
 * what uWS had already read with the headers reaches us before that (a
 * receive buffer at most), and it counts against the budget. Then:
 * - `read()` resumes the socket and collects the body;
 * - `refuse()` answers and closes the connection (the only way to stop a
 *   client from sending the rest), dropping what was kept. While the client
 *   is still sending, the answer waits up to REFUSAL_DELAY_MS with the
 *   socket paused, so that the client is stalled, not writing, when the
 *   close (a reset, with its bytes unread) arrives, and reads the answer.
 *
 * The budget (`MAX_BODY_BUFFER_BYTES`) bounds the bytes of bodies being
 * received, summed over all requests of the process; a body that would go
 * past it is answered 503 `RATE_LIMITED` with the connection closed, one past
 * its own bound (`maxBytes`) 413 `BAD_REQUEST`. A route must answer every
 * request through `refuse()` until `read()` has resolved (an answer that
 * keeps the connection would leave a paused socket behind).
 */
import type { HttpRequest, HttpResponse } from 'uWebSockets.js';
import type { ErrorCode } from '../core/errors.js';
import { AbortedError, HttpError, JSON_TYPE, errorStatus, isFinished, sendError, sendRaw, type RequestContext } from './http-util.js';

export const DEFAULT_BODY_BUFFER_BYTES = 64 << 20;
/** how long a refusal waits while the client is still sending its body (see `refuse`) */
export const REFUSAL_DELAY_MS = 200;

/** Bytes of request bodies held in memory, across every request of the process. */
export class BodyBudget {
  private used = 0;

  constructor(private limit: number) {}

  get limitBytes(): number {
    return this.limit;
  }

  get usedBytes(): number {
    return this.used;
  }

  /** Set from the configuration at start-up (MAX_BODY_BUFFER_BYTES). */
  setLimit(bytes: number): void {
    this.limit = bytes;
  }

  tryTake(bytes: number): boolean {
    if (this.used + bytes > this.limit) return false;
    this.used += bytes;
    return true;
  }

  give(bytes: number): void {
    this.used = Math.max(0, this.used - bytes);
  }
}

/** The budget every route shares unless handed another (tests). */
export const processBodyBudget = new BodyBudget(DEFAULT_BODY_BUFFER_BYTES);

/** How a body over a bound is answered: status, code and message. */
export const BODY_TOO_LARGE = { status: 413, code: 'BAD_REQUEST', msg: 'body too large' } as const;
export const BODY_BUDGET_FULL = { status: 503, code: 'RATE_LIMITED', msg: 'the server is receiving too many request bodies at once; retry later' } as const;

export interface HeldBody {
  /** Resumes reading; resolves to the whole body, or rejects with HttpError (413, 503) or AbortedError. */
  read(): Promise<Buffer>;
  /** Answers `{code, msg}` with the code's status (or `status`) and closes the connection; drops the body. */
  refuse(code: ErrorCode, msg: string, status?: number): void;
}

export interface HoldBodyOptions {
  /** largest accepted body */
  maxBytes: number;
  budget?: BodyBudget;
}

/**
 * Takes charge of the request body: call in the synchronous part of the
 * handler, before any await. A declared Content-Length over `maxBytes` is
 * known at once: `read()` then rejects without reading anything.
 */
export function holdBody(res: HttpResponse, req: HttpRequest, ctx: RequestContext, options: HoldBodyOptions): HeldBody {
  const budget = options.budget ?? processBodyBudget;
  const declared = req.getHeader('content-length');
  const chunks: Buffer[] = [];
  let size = 0;
  let taken = 0;
  let complete = false;
  let failure: Error | null = declared !== '' && Number(declared) > options.maxBytes ? new HttpError(BODY_TOO_LARGE.status, BODY_TOO_LARGE.msg) : null;
  let reading: { resolve(body: Buffer): void; reject(err: Error): void } | null = null;
  let done = false;
  let paused = false;
  /** the last byte of the body has arrived (kept or not) */
  let received = false;
  /** a refusal waiting to be sent (see `refuse`) */
  let lingering: (() => void) | null = null;

  const release = () => {
    chunks.length = 0;
    budget.give(taken);
    taken = 0;
  };
  const finish = () => {
    if (done || !reading) return;
    if (failure) {
      done = true;
      release();
      reading.reject(failure);
    } else if (complete) {
      done = true;
      const body = chunks.length === 1 ? (chunks[0] as Buffer) : Buffer.concat(chunks, size);
      release(); // the handler owns the bytes from here on
      reading.resolve(body);
    }
  };

  ctx.onAbort(() => {
    failure ??= new AbortedError();
    lingering = null;
    release();
    finish();
  });
  const pause = () => {
    if (paused || ctx.aborted || isFinished(res)) return;
    res.pause();
    paused = true;
  };
  if (failure === null) {
    res.onData((chunk, isLast) => {
      if (isLast) received = true;
      if (isLast && lingering) lingering();
      if (done || failure) return;
      size += chunk.byteLength;
      if (size > options.maxBytes) {
        failure = new HttpError(BODY_TOO_LARGE.status, BODY_TOO_LARGE.msg);
      } else if (!budget.tryTake(chunk.byteLength)) {
        failure = new HttpError(BODY_BUDGET_FULL.status, BODY_BUDGET_FULL.msg);
      } else {
        taken += chunk.byteLength;
        if (chunk.byteLength > 0) chunks.push(Buffer.from(new Uint8Array(chunk))); // a copy: uWS neuters the chunk
        complete = isLast;
      }
      if (failure) release();
      finish();
    });
    // nothing more is read from the socket until the route asks for the body
    pause();
  }

  return {
    read() {
      return new Promise<Buffer>((resolve, reject) => {
        reading = { resolve, reject };
        // also when the body is complete: a paused socket would read no further request
        if (paused && !ctx.aborted && !isFinished(res)) res.resume();
        paused = false;
        finish();
      });
    },
    refuse(code, msg, status = errorStatus(code)) {
      if (done && lingering) return;
      done = true;
      release();
      const headers: Record<string, string> = { 'Content-Type': JSON_TYPE };
      if (status === BODY_BUDGET_FULL.status) headers['Retry-After'] = '1';
      let timer: NodeJS.Timeout | undefined;
      const answer = () => {
        lingering = null;
        clearTimeout(timer);
        // uWS answers and closes at once (FIN, or RST when body bytes are still unread)
        if (!isFinished(res)) sendRaw(res, status, headers, JSON.stringify({ code, msg }), true);
      };
      if (received) return answer();
      // The client is still sending. Closing now would reset the connection while it writes, and a
      // client that is writing when the reset arrives loses the answer unread. Paused, its writes
      // stall within moments (TCP flow control) and it reads what comes next: the answer, then the close.
      pause();
      lingering = answer;
      timer = setTimeout(answer, REFUSAL_DELAY_MS);
    },
  };
}

/** The answer to a failed `read()`: true when it was answered (or needs none), false for an error that is not the body's. */
export function refuseBodyError(body: HeldBody, err: unknown): boolean {
  if (err instanceof AbortedError) return true;
  if (err instanceof HttpError && err.status === BODY_TOO_LARGE.status) {
    body.refuse(BODY_TOO_LARGE.code, err.message, BODY_TOO_LARGE.status);
    return true;
  }
  if (err instanceof HttpError && err.status === BODY_BUDGET_FULL.status) {
    body.refuse(BODY_BUDGET_FULL.code, err.message, BODY_BUDGET_FULL.status);
    return true;
  }
  return false;
}

/**
 * Reads a held body as JSON. Resolves to the parsed value, or to `undefined`
 * once the request has been answered: a body over its bounds (413/503, the
 * connection closed), an aborted request, or a body that is not JSON (400
 * `badJson`). Other errors are thrown (the route's handler answers 500).
 */
export async function readJsonBody(res: HttpResponse, body: HeldBody, ctx: RequestContext, badJson: string): Promise<unknown> {
  let raw: Buffer;
  try {
    raw = await body.read();
  } catch (err) {
    if (refuseBodyError(body, err)) return undefined;
    throw err;
  }
  if (ctx.aborted) return undefined;
  try {
    return JSON.parse(raw.toString('utf8')) as unknown;
  } catch {
    sendError(res, 'BAD_REQUEST', badJson);
    return undefined;
  }
}
