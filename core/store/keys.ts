/**
 * The one key builder. Every key of an event carries the `{eventId}` hash tag,
 * so all of them live in one Redis Cluster slot and every Lua script of the
 * event touches a single slot. Global keys (the expiry index, the event
 * registry) are touched only by single-key commands and scripts.
 */

import { isValidEventId } from '../ids.js';

export { isValidEventId };

export function assertEventId(eventId: string): void {
  if (!isValidEventId(eventId)) {
    throw new TypeError(`invalid event id ${JSON.stringify(eventId)}: 1-64 of [A-Za-z0-9_.-]`);
  }
}

export interface EventKeys {
  /** hash: seats, epoch, seq, settings, createdAt; per general-admission area a: ga:<a>:c (capacity), ga:<a>:h, ga:<a>:b, ga:<a>:k (held, booked, blocked); sales channels: ch:<key>, cs:<seat>, chl (lua/includes/channels.lua) */
  meta: string;
  /** string: one byte per seat (0 free, 1 held, 2 booked, 3 blocked, 4 reserved for a sales channel) */
  status: string;
  /** string: the layout JSON the event was created from */
  layout: string;
  /** hash: seat index -> hold token */
  seatHolds: string;
  /** hash: hold token -> JSON {h: holder, s: [seats], c: createdAt, e: expiresAt} */
  tokens: string;
  /** sorted set: hold token scored by its expiry (ms) */
  expiry: string;
  /** hash: holder -> number of seats held */
  holders: string;
  /** stream: the change log, entry id `<seq>-0`, fields op, ch (msgpack [seat, state, ...]), at */
  log: string;
  /** stream: booking records and `hold.expired` records waiting to be flushed to Postgres */
  outbox: string;
  /** stream: outbox entries Postgres refused for good, with why (for an operator); removed with the event */
  deadLetters: string;
  /** hash: idempotency key -> JSON booking record */
  bookings: string;
  /** string: the event's geometry for best available and the orphan rule (geometry.ts); absent for an event without a layout */
  geometry: string;
  /** hash: holder -> its token bucket for the event, "tokens:lastMs" (includes/gate.lua); expires when every bucket is full */
  rate: string;
  /** hash: the waiting room's settings and state (docs/onsale.md); absent when the event has none */
  queue: string;
  /** sorted set: waiting subject -> its place (random draws below 1 for the pre-queue, then arrival order) */
  waiting: string;
  /** sorted set: admitted subject -> when its admission ends (ms) */
  admitted: string;
}

export interface GlobalKeys {
  /** sorted set: event id -> when it next needs an expiry sweep (negative = claimed by a sweeper until -score) */
  sweepIndex: string;
  /** set: ids of all events (walked by the slow reconcile pass, never a KEYS/SCAN of the keyspace) */
  events: string;
  /** string: the process holding the background-work lease (core/store/lease.ts), with a time to live */
  lease: string;
  /** hash: each Redis master's address -> its run_id, as last seen (core/bookings/failover-repair.ts: a new run_id means writes may be lost) */
  redisIdentity: string;
  /** set: ids of the events that have a waiting room (walked by the admitter) */
  queues: string;
  /** sorted set: sales channels waiting for their releaseAt, member `<event>/<key>/<releaseAt>` scored by releaseAt (core/store/channels.ts) */
  channelReleases: string;
}

export function eventKeys(prefix: string, eventId: string): EventKeys {
  assertEventId(eventId);
  const base = `${prefix}{${eventId}}:`;
  return {
    meta: `${base}meta`,
    status: `${base}status`,
    layout: `${base}layout`,
    seatHolds: `${base}seatHolds`,
    tokens: `${base}tokens`,
    expiry: `${base}expiry`,
    holders: `${base}holders`,
    log: `${base}log`,
    outbox: `${base}outbox`,
    deadLetters: `${base}outbox:dead`,
    bookings: `${base}bookings`,
    geometry: `${base}geometry`,
    rate: `${base}rate`,
    queue: `${base}queue`,
    waiting: `${base}queue:waiting`,
    admitted: `${base}queue:admitted`,
  };
}

export function globalKeys(prefix: string): GlobalKeys {
  return { sweepIndex: `${prefix}sweep`, events: `${prefix}events`, lease: `${prefix}lease`, redisIdentity: `${prefix}redis-identity`, queues: `${prefix}queues`, channelReleases: `${prefix}channel-releases` };
}

/**
 * sorted set: the open connections of one JWT subject across every gateway
 * node, member `<node>:<connection>` scored by its lease end (ms); a node that
 * dies stops renewing, so its members lapse (docs/onsale.md). One key per
 * subject, touched by single-key commands only.
 */
export function subjectConnectionsKey(prefix: string, subject: string): string {
  return `${prefix}subject:${subject}:connections`;
}
