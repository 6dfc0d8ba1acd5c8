/**
 * Seat operations requested over WebSockets: scope checks, then one atomic
 * store call each (a `book` with `seats` instead of `tok` is the box office's
 * direct booking of free seats, scope `seats:box-office`). The holder is always the token's subject, never a field
 * of the request, so a client cannot act for someone else. `Operations`
 * runs one for a connection: counted in flight (for shutdown), run again once
 * after an event Redis had lost was rebuilt from Postgres, measured, and
 * answered with the connection's other frames of the same event-loop turn
 * in one corked write (Session.queueFrame).
 */
import type { Logger } from 'pino';
import { ERROR_CATALOGUE, type ErrorCode } from '../core/errors.js';
import type { SeatOperationRequest, ErrMessage, OkMessage, RequestId, ServerMessage } from '../core/protocol/index.js';
import type { BookingState, CommitOutcome } from '../core/bookings/commits.js';
import { STALE_EPOCH } from '../core/bookings/codes.js';
import type { SeatStore } from '../core/store/index.js';
import { hasScope, mayHoldAccessible, type Principal, type Scope } from './auth.js';
import type { TokenRead } from './holder-notices.js';
import type { Inflight } from './inflight.js';
import type { GatewayMetrics } from './metrics.js';
import { refusalMessage, type RefusalFacts } from './refusal-messages.js';

export type SeatOperation = SeatOperationRequest;

const REQUIRED_SCOPE: Record<SeatOperation['t'], Scope> = {
  hold: 'seats:hold',
  release: 'seats:hold',
  swap: 'seats:hold',
  extend: 'seats:hold',
  book: 'seats:book',
  checkout: 'seats:book',
};

/** The scope a request needs: a `book` of free seats (no token) is the box office's. */
function requiredScope(request: SeatOperation): Scope {
  return request.t === 'book' && 'seats' in request ? 'seats:box-office' : REQUIRED_SCOPE[request.t];
}

export function errorMessage(rid: RequestId | null, code: ErrorCode, msg?: string, seats?: number[], extra?: { reason?: string; largest?: number; areas?: number[]; left?: number[] }): ErrMessage {
  const message: ErrMessage = { t: 'err', rid, code, msg: msg ?? ERROR_CATALOGUE[code].text };
  if (seats && seats.length > 0) message.seats = seats;
  if (extra?.reason !== undefined) message.reason = extra.reason;
  if (extra?.largest !== undefined) message.largest = extra.largest;
  if (extra?.areas !== undefined) message.areas = extra.areas;
  if (extra?.left !== undefined) message.left = extra.left;
  return message;
}

/** What `book` waits on before it answers: the booking's commit in Postgres. */
export interface DurableBookings {
  /** `replayed`: the booking existed before this request, so it may be committed already */
  waitForCommit(bookingId: string, replayed: boolean): Promise<CommitOutcome>;
}

export async function runOperation(
  store: SeatStore,
  principal: Principal,
  request: SeatOperation,
  durable?: DurableBookings,
): Promise<OkMessage | ErrMessage> {
  const { rid } = request;
  const scope = requiredScope(request);
  if (principal.sub === null || !hasScope(principal, scope)) return errorMessage(rid, 'FORBIDDEN', `${request.t} needs the ${scope} scope`);
  const holder = principal.sub;
  // the box office sells at the counter: past the waiting room and the holder's bucket
  const exempt = hasScope(principal, 'seats:box-office');
  // what happened to this request (gateway/refusal-messages.ts), rather than the catalogue's sentence
  const refused = async (r: { code: ErrorCode; seats?: number[]; reason?: string; largest?: number; retryMs?: number; areas?: number[]; left?: number[] }) => {
    const message = errorMessage(rid, r.code, await refusalMessage(request, r.code, r.seats, storeFacts(store), r), r.seats, r);
    if (r.retryMs !== undefined) message.retryMs = r.retryMs;
    return message;
  };
  const accessible = mayHoldAccessible(principal);
  switch (request.t) {
    case 'hold': {
      if ('best' in request) {
        const { n, categories, sections, together, accessible: accessibleSeats } = request.best;
        const r = await store.holdBest({
          eventId: request.ev,
          holder,
          n,
          token: request.tok,
          accessible,
          exempt,
          ...(categories && { categories }),
          ...(sections && { sections }),
          ...(together !== undefined && { together }),
          ...(accessibleSeats !== undefined && { accessibleSeats }),
        });
        return r.ok ? { t: 'ok', rid, tok: r.token, exp: r.expiresAt, seq: r.seq, seats: r.seats, together: r.together } : refused(r);
      }
      const r = await store.hold({ eventId: request.ev, holder, seats: request.seats, token: request.tok, accessible, exempt, channels: principal.channels, ...(request.ga && { ga: request.ga }) });
      return r.ok ? { t: 'ok', rid, tok: r.token, exp: r.expiresAt, seq: r.seq } : refused(r);
    }
    case 'swap': {
      const r = await store.swap({ eventId: request.ev, holder, token: request.tok, release: request.release, hold: request.hold, accessible, exempt, channels: principal.channels });
      return r.ok ? { t: 'ok', rid, exp: r.expiresAt, seq: r.seq } : refused(r);
    }
    case 'release': {
      const r = await store.release({ eventId: request.ev, holder, token: request.tok, ...(request.seats && { seats: request.seats }), ...(request.ga && { ga: request.ga }), exempt });
      return r.ok ? { t: 'ok', rid, n: r.released, seq: r.seq } : refused(r);
    }
    case 'extend': {
      const r = await store.extend({ eventId: request.ev, holder, token: request.tok, exempt, ...(request.ms !== undefined && { ms: request.ms }) });
      if (!r.ok) return refused(r);
      return r.released === undefined ? { t: 'ok', rid, exp: r.expiresAt, seq: r.seq } : { t: 'ok', rid, exp: r.expiresAt, seq: r.seq, n: r.released };
    }
    case 'book': {
      if ('seats' in request) {
        // the box office: free seats booked directly, committed like every booking
        const r = await store.bookFree({ eventId: request.ev, holder, seats: request.seats, key: request.key, ...(request.ga && { ga: request.ga }) });
        if (!r.ok) return refused(r);
        const booked = { t: 'ok', rid, id: r.bookingId, seats: r.seats, seq: r.seq, replayed: r.replayed, ...(r.ga.length > 0 && { ga: r.ga }) } as const;
        return durable ? afterCommit(booked, await durable.waitForCommit(r.bookingId, r.replayed), 'confirmed') : booked;
      }
      const r = await store.book({ eventId: request.ev, holder, token: request.tok, key: request.key });
      if (!r.ok) return refused(r);
      const booked = { t: 'ok', rid, id: r.bookingId, seats: r.seats, seq: r.seq, replayed: r.replayed, ...(r.ga && { ga: r.ga }) } as const;
      return durable ? afterCommit(booked, await durable.waitForCommit(r.bookingId, r.replayed), 'confirmed') : booked;
    }
    case 'checkout': {
      const r = await store.checkout({ eventId: request.ev, holder, token: request.tok, key: request.key });
      if (!r.ok) return errorMessage(rid, r.code, undefined, r.seats);
      // payBy is 0 for a replay of a key that `book` used
      const booked = { t: 'ok', rid, id: r.bookingId, seats: r.seats, seq: r.seq, replayed: r.replayed, ...(r.ga && { ga: r.ga }), ...(r.payBy > 0 && { payBy: r.payBy }) } as const;
      return durable ? afterCommit(booked, await durable.waitForCommit(r.bookingId, r.replayed), 'pending_payment') : booked;
    }
  }
}

/** The answer to a `book` or `checkout` once its commit is known; `madeIn` is the state a fresh one is committed in. */
function afterCommit(booked: OkMessage, outcome: CommitOutcome, madeIn: BookingState): OkMessage | ErrMessage {
  switch (outcome.status) {
    case 'committed':
      // `reference`, as the admin API calls it; `ref` is its old name, still sent for older clients
      return { ...booked, reference: outcome.reference, ref: outcome.reference, state: outcome.state ?? madeIn };
    case 'timeout':
      return errorMessage(booked.rid, 'PENDING');
    case 'refused':
      return outcome.code === STALE_EPOCH
        ? errorMessage(booked.rid, 'EXPIRED', 'the hold was lost when the event was rebuilt from Postgres; nothing was booked')
        : errorMessage(booked.rid, 'REFUSED', `Postgres refused the booking for good (${outcome.code}); nothing was booked and its seats are no longer kept for it`);
  }
}

/** The event facts a refusal message names, from the store's meta. */
function storeFacts(store: SeatStore): RefusalFacts {
  return {
    eventFacts: async (eventId) => {
      const meta = await store.meta(eventId);
      return meta && { seatCount: meta.seatCount, rules: meta.rules };
    },
  };
}

/** The on-sale refusals the scripts make, by reason on /metrics (the connection's own bucket is the session's). */
function countRefusal(metrics: GatewayMetrics, code: ErrorCode, reason?: string): void {
  if (reason === 'channel') metrics.refusals.inc({ reason: 'channel' });
  else if (code === 'RATE_LIMITED') metrics.refusals.inc({ reason: 'holder_rate' });
  else if (code === 'NOT_ADMITTED') metrics.refusals.inc({ reason: 'not_admitted' });
  else if (code === 'QUEUE_CLOSED') metrics.refusals.inc({ reason: 'queue_closed' });
}

/** What an operation needs of the connection that asked. */
export interface Requester {
  readonly open: boolean;
  readonly principal: Principal | null;
  /**
   * Sends a reply with the other frames of the connection queued in the same
   * event-loop turn (one Redis read often answers several operations of
   * one connection, and the holder's `tok` follows its reply): one corked
   * write for all of them, no later than a reply sent at once would be.
   */
  queueReply(message: ServerMessage): void;
}

export interface OperationsOptions {
  store: SeatStore;
  metrics: GatewayMetrics;
  logger: Logger;
  inflight: Inflight;
  durable?: DurableBookings;
  /** rebuilds an event Redis has lost from Postgres; true when Redis has it afterwards */
  recoverEvent?(eventId: string, who: Principal): Promise<boolean>;
  /**
   * told of every operation that succeeded (tok and tokend, gateway/holder-notices.ts), right after
   * its reply was queued: what it sends the holder's connections at once joins the reply's write;
   * `read` is what `sent` returned for it
   */
  succeeded?(holder: string, request: SeatOperation, reply: OkMessage, read: TokenRead | undefined): Promise<void>;
  /**
   * told of every operation right after its script was sent to Redis (runOperation sends it before
   * its first await): a read issued here goes out on the holder's connection behind the script
   */
  sent?(holder: string, request: SeatOperation): TokenRead;
}

type Counted = { inc(): void };
type Timed = { observe(seconds: number): void };

export class Operations {
  /** the metrics' children by label values, looked up once (prom-client hashes the labels on every call otherwise) */
  private readonly counted = new Map<string, Counted>();
  private readonly timed = new Map<string, Timed>();

  constructor(private readonly options: OperationsOptions) {}

  /** Runs one operation and answers it; the reply is sent inside the in-flight count, so shutdown waits for it. */
  run(requester: Requester, request: SeatOperation): Promise<void> {
    const { store, durable, metrics, logger, recoverEvent, inflight } = this.options;
    const principal = requester.principal!;
    const started = performance.now();
    return inflight.run(async () => {
      let reply: ServerMessage;
      let read: TokenRead | undefined;
      try {
        const running = runOperation(store, principal, request, durable);
        read = principal.sub === null ? undefined : this.options.sent?.(principal.sub, request);
        reply = await running;
        // Redis had lost the event and it has just been rebuilt from Postgres: the operation changed nothing, run it again
        if (reply.t === 'err' && reply.code === 'NO_EVENT' && (await recoverEvent?.(request.ev, principal))) {
          read = undefined; // it read the lost event
          reply = await runOperation(store, principal, request, durable);
        }
      } catch (err) {
        logger.error({ err, op: request.t, ev: request.ev }, 'operation failed');
        reply = errorMessage(request.rid, 'INTERNAL', 'the operation failed on the server; it may be retried');
      }
      this.count(request.t, reply.t === 'err' ? reply.code : 'ok');
      if (reply.t === 'err') countRefusal(metrics, reply.code, reply.reason);
      this.time(request.t, (performance.now() - started) / 1000);
      if (requester.open) requester.queueReply(reply);
      if (reply.t === 'ok' && principal.sub !== null) {
        await this.options.succeeded?.(principal.sub, request, reply, read).catch((err: unknown) => logger.warn({ err, op: request.t }, 'holder notice failed'));
      }
    });
  }

  private count(op: string, result: string): void {
    const key = `${op} ${result}`;
    let child = this.counted.get(key);
    if (!child) this.counted.set(key, (child = this.options.metrics.operations.labels({ op, result })));
    child.inc();
  }

  private time(op: string, seconds: number): void {
    let child = this.timed.get(op);
    if (!child) this.timed.set(op, (child = this.options.metrics.operationSeconds.labels({ op })));
    child.observe(seconds);
  }
}
