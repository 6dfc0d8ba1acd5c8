/**
 * Requests in flight on one connection: fresh request ids, replies matched by
 * rid, a timeout per request, and failure of everything still open when the
 * connection goes away.
 */
import { isErrorCode, outcomeUnknown, type ErrorCode } from '../errors.js';
import type { ClientRequest, ErrMessage, OkMessage, PongMessage, RequestId } from '../protocol/index.js';

/**
 * The server's error codes, plus the client's own:
 * TIMEOUT (no reply in time), DISCONNECTED (the connection dropped before the
 * reply), CLOSED (the client was closed or stopped for good).
 */
export type ClientErrorCode = ErrorCode | 'TIMEOUT' | 'DISCONNECTED' | 'CLOSED';

export class RequestError extends Error {
  constructor(
    readonly code: ClientErrorCode,
    message: string,
    /** the seats the error is about (BAD_SEAT, UNAVAILABLE, NOT_HOLDER, ORPHAN_SEAT) */
    readonly seats?: number[],
    /**
     * what the error is about where a code has several causes (`accessible`, `companion`, a best-available field, `ga`),
     * NO_BLOCK's largest block, and for reason `ga` the areas refused and (UNAVAILABLE) the places left in each
     */
    readonly details: { readonly reason?: string; readonly largest?: number; readonly areas?: number[]; readonly left?: number[] } = {},
  ) {
    super(message);
    this.name = 'RequestError';
  }

  /**
   * The server may have applied the operation even though no `ok` came back:
   * no reply (TIMEOUT, DISCONNECTED), or a server code whose catalogue entry
   * says so (PENDING: a booking is made but not yet confirmed; INTERNAL).
   * Retrying a `book` with the same key is always safe.
   */
  get outcomeUnknown(): boolean {
    if (this.code === 'TIMEOUT' || this.code === 'DISCONNECTED') return true;
    return isErrorCode(this.code) && outcomeUnknown(this.code);
  }
}

export type Reply = OkMessage | PongMessage;

interface Pending {
  request: ClientRequest;
  resolve(reply: Reply): void;
  reject(error: RequestError): void;
  timer: ReturnType<typeof setTimeout>;
}

export class PendingRequests {
  private nextRid = 1;
  private readonly pending = new Map<RequestId, Pending>();

  get size(): number {
    return this.pending.size;
  }

  /** Never reused for the life of the client, so a late reply cannot be taken for another request's. */
  newRid(): number {
    return this.nextRid++;
  }

  /** Registers a request (its rid set); the promise settles with its reply, a timeout, or failAll. */
  track(request: ClientRequest, timeoutMs: number): Promise<Reply> {
    return new Promise<Reply>((resolve, reject) => {
      const timer = setTimeout(() => {
        this.pending.delete(request.rid);
        reject(new RequestError('TIMEOUT', `no reply to ${request.t} within ${timeoutMs} ms`));
      }, timeoutMs);
      this.pending.set(request.rid, { request, resolve, reject, timer });
    });
  }

  /** Settles the request a reply answers; returns that request (undefined for an unknown or late rid). */
  settle(reply: Reply | ErrMessage): ClientRequest | undefined {
    if (reply.rid === null) return undefined;
    const entry = this.pending.get(reply.rid);
    if (!entry) return undefined;
    this.pending.delete(reply.rid);
    clearTimeout(entry.timer);
    if (reply.t === 'err') {
      const details = {
        ...(reply.reason !== undefined && { reason: reply.reason }),
        ...(reply.largest !== undefined && { largest: reply.largest }),
        ...(reply.areas !== undefined && { areas: reply.areas }),
        ...(reply.left !== undefined && { left: reply.left }),
      };
      entry.reject(new RequestError(reply.code, reply.msg, reply.seats, details));
    }
    else entry.resolve(reply);
    return entry.request;
  }

  /** Fails every open request: their replies can no longer arrive. */
  failAll(code: ClientErrorCode, message: string): void {
    const entries = [...this.pending.values()];
    this.pending.clear();
    for (const entry of entries) {
      clearTimeout(entry.timer);
      entry.reject(new RequestError(code, `${entry.request.t}: ${message}`));
    }
  }
}
