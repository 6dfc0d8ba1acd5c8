/**
 * The seat-map client SDK (docs/client.md): browsers, Node and the load tests.
 */
export { SeatMapClient } from './client.js';
export type {
  BookResult,
  BookingState,
  CheckoutResult,
  ClientEvents,
  ClientStats,
  ConnectionChange,
  ConnectionState,
  HoldBestResult,
  HoldResult,
  RequestBody,
  ResyncReason,
  SeatMapClientOptions,
  StopReason,
} from './types.js';
export { newIdempotencyKey } from './operations.js';
export { Backoff, DEFAULT_BACKOFF, backoffBound, backoffDelay, type BackoffPolicy } from './backoff.js';
export { closeAction, type CloseAction } from './close-codes.js';
export type { AreaCounts, SeatCategories, SeatChange, SeatCounts, StateCounts } from './event-seats.js';
export type { GaPlaces } from '../protocol/messages.js';
export type { HoldInfo } from './holds.js';
export { fetchLayout, httpUrlOf, layoutCategories, type SeatMapLayout } from './layout.js';
export { RequestError, type ClientErrorCode } from './requests.js';
export type { WebSocketConstructor, WebSocketLike } from './transport.js';
export { SEAT_STATE, type SeatStateName } from './seat-states.js';
export type { BestAvailable } from '../protocol/messages.js';
