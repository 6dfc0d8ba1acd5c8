/**
 * The seat store's public API: the store, its sweeper, the key builder, seat
 * states, change-log decoding and results. The script registry, the loader
 * and reply parsing are internals, exported for tests and benchmarks from
 * `./internal.js` only.
 */
export { eventKeys, globalKeys, subjectConnectionsKey, isValidEventId, assertEventId, type EventKeys, type GlobalKeys } from './keys.js';
export { SeatState, SEAT_STATE_NAMES, type SeatStateValue } from './seat-state.js';
export { refuse, type OpResult, type Refusal } from './results.js';
export { decodeChangeEntry, applyChanges, applyAreaChanges, type ChangeEntry, type ChangeOp } from './change-log.js';
export { isCluster, type RedisClient } from './redis-client.js';
export { ChangeSignals, changeChannel, parseChangeSignal, type ChangeSignal, type ChangeSignalsOptions } from './change-signals.js';
export {
  SeatStore,
  STORE_LIMITS,
  type HoldRules,
  type SeatStoreOptions,
  type CreateEventInput,
  type RestoredBooking,
  type ReleaseInput,
  DEFAULT_PAYMENT_WINDOW_MS,
  type HoldInput,
  type HoldBestInput,
  type SwapInput,
  type TokenInput,
  type EventMeta,
  type Snapshot,
  type ChangesSince,
  type ExpireResult,
  type BulkStatesResult,
  type GaQuantities,
  type AreaCounters,
} from './seat-store.js';
export { ExpirySweeper, type SweeperOptions, type SweepStats } from './expiry-sweeper.js';
export { Channels, ChannelReleaser, CHANNEL_KEY, MAX_CHANNEL_KEYS, isChannelKey, parseChannelClaim, type Channel, type PutChannelResult } from './channels.js';
export { encodeGeometry, type EventGeometry, type GeometrySource } from './geometry.js';
export { Lease, type LeaseOptions } from './lease.js';
export { deleteKeysByPrefix } from './maintenance.js';
export { voidBooking, type VoidBookingInput, type VoidBookingResult } from './outbox.js';
export { SubjectConnections, type SubjectConnectionsOptions } from './subject-connections.js';
export {
  WaitingRooms,
  DEFAULT_ADMISSION_TTL_MS,
  type QueueSettings,
  type QueueOrder,
  type QueueClosed,
  type QueueState,
  type JoinResult,
  type AdvanceResult,
  type Place,
  type Places,
} from './waiting-room.js';
