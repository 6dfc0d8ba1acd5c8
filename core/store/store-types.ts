/**
 * The seat store's input and result types, and its options: what callers of
 * SeatStore (seat-store.ts) pass and get back, kept apart from the class so
 * that the class reads as its operations.
 */
import type { ChangeEntry } from './change-log.js';
import type { EventGeometry } from './geometry.js';
import type { HoldRules } from './inputs.js';
import type { RedisClient } from './redis-client.js';
/** Per-event hold rules (the layout's settings). */
export interface SeatStoreOptions {
  redis: RedisClient;
  /** prepended to every key; tests use their own */
  prefix?: string;
  /** a clock for tests (virtual time); by default scripts use the Redis server clock */
  clock?: () => number;
  /** approximate bound of each event's change log (entries) */
  logMaxLen?: number;
  /**
   * Further connections to the same Redis. One connection is the limit at peak
   * (see docs/bench/store.md), so holder operations (hold, release, extend,
   * book) are spread over all of them by holder: one holder's calls stay on one
   * connection, in order.
   */
  connections?: RedisClient[];
  /**
   * The token bucket of each holder on each event, across all connections and
   * nodes (lua/includes/gate.lua): `burst` hold/release/extend calls at once,
   * `perSecond` sustained. Absent: no bucket.
   */
  holderRate?: { perSecond: number; burst: number };
}

export interface CreateEventInput {
  eventId: string;
  seatCount: number;
  rules: HoldRules;
  /** the layout document, stored beside the seat map for gateway nodes to serve */
  layout?: unknown;
  /** defaults to the current time in ms; must differ from any earlier epoch of the event */
  epoch?: number;
  /** a rebuild: the state of every seat (FREE, BOOKED or BLOCKED), instead of all free */
  status?: Uint8Array;
  /** a rebuild: the idempotency records of the event's bookings */
  bookings?: readonly RestoredBooking[];
  /** rows, ranks, attributes and selection settings (geometry.ts); without it there is no best available and no orphan rule */
  geometry?: EventGeometry;
  /** the capacities of the layout's general-admission areas, area index order (docs/store.md#general-admission-areas) */
  areaCapacities?: readonly number[];
  /** a rebuild: places booked per area, area index order */
  areasBooked?: readonly number[];
  /** a rebuild: places blocked per area, area index order */
  areasBlocked?: readonly number[];
  /** a rebuild: the event's sales channels as recorded (docs/store.md#sales-channels) */
  channels?: readonly { key: string; seats: readonly number[]; releaseAt?: number | null }[];
}

/** General-admission quantities of a hold or release: [area index, quantity] pairs. */
export type GaQuantities = readonly (readonly [number, number])[];

/** The counters of one general-admission area (held + booked + blocked <= capacity). */
export interface AreaCounters {
  capacity: number;
  held: number;
  booked: number;
  blocked: number;
}

/** A booking's idempotency record as `book` keeps it (see book-9.lua), restored by a rebuild. */
export interface RestoredBooking {
  key: string;
  id: string;
  holder: string;
  /** the hold token it was made from; null for bookings recorded before tokens were kept */
  token: string | null;
  seats: readonly number[];
  seq: number;
  at: number;
  /** the booking has ended (cancelled, failed, expired): nothing of it is freed again */
  ended: boolean;
  /** its general-admission places, [area, qty] pairs, given back when it ends */
  places?: GaQuantities;
}

/** Seats Postgres has released from a booking (docs/bookings.md), to be freed in the seat map. */
export interface ReleaseInput {
  eventId: string;
  bookingId: string;
  /** the booking's idempotency key */
  key: string;
  seats: readonly number[];
  /** the booking has ended (cancelled, failed, expired), rather than lost some of its seats */
  final: boolean;
  /** the change-log op: cancel (whole or partial), fail (payment failed), unpaid (payment window ran out) */
  op: 'cancel' | 'fail' | 'unpaid';
}

/** A checkout's payment window when the event's settings have none (15 minutes). */
export const DEFAULT_PAYMENT_WINDOW_MS = 900_000;

export interface HoldInput {
  eventId: string;
  holder: string;
  /** may be empty when `ga` names places */
  seats: readonly number[];
  /** general-admission places held with the seats, all or nothing */
  ga?: GaQuantities;
  /** an existing token to add seats to; a new token is created when absent */
  token?: string;
  /** the box office: past the waiting room and the holder's bucket */
  exempt?: boolean;
  /** the holder may take protected wheelchair seats (the accessible claim or the box-office scope) */
  accessible?: boolean;
  /** the holder's sales-channel keys (the JWT `chan` claim): reserved seats of those channels may be held */
  channels?: readonly string[];
}

/** Best available: `n` seats picked by the store (docs/store.md#best-available). */
export interface HoldBestInput {
  eventId: string;
  holder: string;
  n: number;
  /** category ids to pick from; any when absent */
  categories?: readonly string[];
  /** section ids to pick from; any when absent */
  sections?: readonly string[];
  /** adjacent seats in one row only (default); false: else the best seats of one section */
  together?: boolean;
  /** how many of the n are wheelchair seats (the rest companion seats beside them) */
  accessibleSeats?: number;
  token?: string;
  accessible?: boolean;
  /** the tie-breaks' random seed; a fresh one per call by default */
  seed?: number;
  /** the box office: past the waiting room and the holder's bucket */
  exempt?: boolean;
}

export interface SwapInput extends TokenInput {
  release: readonly number[];
  hold: readonly number[];
  accessible?: boolean;
  /** the holder's sales-channel keys, as for a hold */
  channels?: readonly string[];
}

export interface TokenInput {
  eventId: string;
  holder: string;
  token: string;
  /** the box office: past the holder's bucket */
  exempt?: boolean;
}

export interface EventMeta {
  eventId: string;
  seatCount: number;
  epoch: number;
  seq: number;
  rules: HoldRules;
  logMaxLen: number;
  createdAt: number;
}

export interface Snapshot {
  epoch: number;
  seq: number;
  /** one byte per seat, the SeatState values */
  status: Buffer;
  /** [area, free, held, booked, ...] of every general-admission area (absent: the event has none) */
  ga?: number[];
}

export interface ChangesSince {
  epoch: number;
  /** the event's current sequence number */
  seq: number;
  /** false when the log no longer holds every change after the given seq: take a snapshot */
  covered: boolean;
  entries: ChangeEntry[];
}

/** What a bulk block or unblock did, seat by seat (ascending where the call's seats were). */
export interface BulkStatesResult {
  /** the event's seq: the call's change-log entry, or the current seq when nothing changed */
  seq: number;
  /** seats moved (free -> blocked, or blocked -> free) */
  changed: number[];
  /** seats already in the target state */
  unchanged: number[];
  /** seats held or booked: left as they are */
  held: number[];
  booked: number[];
}

export interface ExpireResult {
  tokensExpired: number;
  seatsFreed: number;
  /** ms of the earliest remaining token expiry, or null when none is left */
  nextExpiry: number | null;
  seq: number;
  /** the tokens expired, with their holders */
  expired: { token: string; holder: string }[];
}
