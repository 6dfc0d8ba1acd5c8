/**
 * Prometheus metrics of one gateway process (prom-client), served at
 * GET /metrics. One registry per gateway instance, so that tests running
 * several gateways in one process do not share counters.
 */
import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';

export type GatewayMetrics = ReturnType<typeof createMetrics>;

export function createMetrics(options: { defaultMetrics?: boolean; worker?: number } = {}) {
  const registry = new Registry();
  // one process of several on a port (WORKERS): every series says which
  if (options.worker !== undefined) registry.setDefaultLabels({ worker: String(options.worker) });
  if (options.defaultMetrics !== false) collectDefaultMetrics({ register: registry, prefix: 'seatmap_process_' });
  const registers = [registry];
  return {
    registry,
    connections: new Gauge({ name: 'seatmap_connections', help: 'Open WebSocket connections', registers }),
    upgrades: new Counter({
      name: 'seatmap_upgrades_total',
      help: 'WebSocket upgrade requests by outcome (accepted, unauthorized, over_limit, draining)',
      labelNames: ['result'] as const,
      registers,
    }),
    closes: new Counter({ name: 'seatmap_closes_total', help: 'WebSocket closes by close code', labelNames: ['code'] as const, registers }),
    connectionsLost: new Counter({
      name: 'seatmap_connections_lost_total',
      help: 'connections ended without a close frame (code 1006), by the reason uWebSockets.js gives',
      labelNames: ['reason'] as const,
      registers,
    }),
    rooms: new Gauge({ name: 'seatmap_rooms', help: 'Event rooms loaded on this node', registers }),
    subscriptions: new Gauge({ name: 'seatmap_subscriptions', help: 'Room subscriptions on this node', registers }),
    operations: new Counter({
      name: 'seatmap_operations_total',
      help: 'Client requests by type and result (ok or an error code)',
      labelNames: ['op', 'result'] as const,
      registers,
    }),
    operationSeconds: new Histogram({
      name: 'seatmap_operation_duration_seconds',
      help: 'Time from a request frame to its reply, by type',
      labelNames: ['op'] as const,
      buckets: [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5],
      registers,
    }),
    broadcastFrames: new Counter({ name: 'seatmap_broadcast_frames_total', help: 'Diff and snapshot frames published to rooms (each encoded once)', registers }),
    broadcastBytes: new Counter({ name: 'seatmap_broadcast_bytes_total', help: 'Bytes delivered by room broadcasts (frame size x subscribers)', registers }),
    broadcastUpdates: new Counter({ name: 'seatmap_broadcast_updates_total', help: 'Seat updates delivered by room broadcasts (seat changes x subscribers)', registers }),
    publishSeconds: new Histogram({
      name: 'seatmap_room_publish_seconds',
      help: 'Time from the start of a room publish until every watcher slice had the frame (one slice of ROOM_SLICE_WATCHERS per event-loop turn)',
      buckets: [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5],
      registers,
    }),
    snapshotsSent: new Counter({ name: 'seatmap_snapshots_sent_total', help: 'Snapshots sent to single clients, by reason', labelNames: ['reason'] as const, registers }),
    resumes: new Counter({ name: 'seatmap_resumes_total', help: 'Subscriptions with epoch+seq, by how they were served (diff or snap)', labelNames: ['served'] as const, registers }),
    slowConsumers: new Counter({
      name: 'seatmap_slow_consumer_total',
      help: 'Slow-consumer actions: paused (unsubscribed until drained), resynced, closed (4008 after the grace period or a dropped frame), closed_budget (4008: the process outbound budget was passed)',
      labelNames: ['action'] as const,
      registers,
    }),
    catchUpsDeferred: new Counter({ name: 'seatmap_catch_ups_deferred_total', help: 'Connections paused because a catch-up frame (snapshot or resume diff) would have queued past SLOW_CONSUMER_BYTES of unsent data; the catch-up is sent once drained', registers }),
    outboundBuffered: new Gauge({ name: 'seatmap_outbound_buffered_bytes', help: 'Unsent bytes queued for all connections at the last backpressure check', registers }),
    outboundBudget: new Gauge({ name: 'seatmap_outbound_budget_bytes', help: 'The process-wide budget for unsent bytes (OUTBOUND_BUDGET_BYTES)', registers }),
    badFrames: new Counter({ name: 'seatmap_bad_frames_total', help: 'Frames refused as BAD_REQUEST', registers }),
    rateLimited: new Counter({ name: 'seatmap_rate_limited_total', help: 'Requests refused as RATE_LIMITED', registers }),
    refusals: new Counter({
      name: 'seatmap_refusals_total',
      help: 'On-sale refusals by reason: subject_connections (closed 4009), ip_upgrades (HTTP 429), connection_rate (the connection\'s bucket), holder_rate (the holder\'s bucket in Redis), not_admitted, queue_closed, channel (seats reserved for a sales channel the holder has no key of)',
      labelNames: ['reason'] as const,
      registers,
    }),
    queueAdmitted: new Counter({ name: 'seatmap_queue_admitted_total', help: 'Subjects this node admitted from waiting rooms', registers }),
    queuePushes: new Counter({ name: 'seatmap_queue_pushes_total', help: 'Waiting-room pushes sent to sockets, by type (qpos, admit)', labelNames: ['type'] as const, registers }),
    holderNotices: new Counter({ name: 'seatmap_holder_notices_total', help: 'tok and tokend frames sent to this node\'s connections (from any node, over the holders\' Pub/Sub channels)', registers }),
    holderNoticesLocalOnly: new Counter({
      name: 'seatmap_holder_notices_local_only_total',
      help: 'tok and tokend frames not published to Redis: no other node has a connection of the holder',
      registers,
    }),
    feedEntries: new Counter({ name: 'seatmap_feed_entries_total', help: 'Change-log entries read from Redis', registers }),
    feedGaps: new Counter({ name: 'seatmap_feed_gaps_total', help: 'Gaps in a change log repaired from a snapshot', registers }),
    expirySweeps: new Counter({ name: 'seatmap_expiry_sweeps_total', help: 'Expiry sweeps that freed holds', registers }),
    expiredHolds: new Counter({ name: 'seatmap_expired_holds_total', help: 'Hold tokens expired by the sweeper', registers }),
    expiredSeats: new Counter({ name: 'seatmap_expired_seats_total', help: 'Seats freed by the expiry sweeper', registers }),
    flushCommits: new Counter({ name: 'seatmap_flush_commits_total', help: 'Postgres transactions committed by this node\'s booking flusher', registers }),
    flushedBookings: new Counter({ name: 'seatmap_flushed_bookings_total', help: 'Bookings inserted into Postgres by this node\'s flusher', registers }),
    deadLetters: new Counter({ name: 'seatmap_dead_letters_total', help: 'Outbox entries Postgres refused, moved to the dead-letter stream, by code', labelNames: ['code'] as const, registers }),
    outboxBacklog: new Gauge({ name: 'seatmap_outbox_backlog', help: 'Bookings waiting in the outbox streams for their Postgres commit (grows while Postgres is down)', registers }),
    bookAcksWaiting: new Gauge({ name: 'seatmap_book_acks_waiting', help: 'Bookings whose client waits for the Postgres commit', registers }),
    eventLookups: new Counter({
      name: 'seatmap_event_lookups_total',
      help: 'Requests that met an event Redis does not have, by outcome: present (rebuilt or found), unknown (Postgres did not know it), unknown_cached (answered from memory), anonymous_not_asked (an anonymous viewer; Postgres not asked)',
      labelNames: ['result'] as const,
      registers,
    }),
    eventsRepaired: new Counter({
      name: 'seatmap_events_repaired_total',
      help: 'Events found gone back in Redis (a failover, a restart from an older snapshot), by repair: rebuilt (Postgres had bookings Redis lacked) or epoch (a new epoch, every client re-snapshots)',
      labelNames: ['kind'] as const,
      registers,
    }),
    eventsRebuilt: new Counter({ name: 'seatmap_events_rebuilt_total', help: 'Events rebuilt from Postgres after Redis lost them', registers }),
    paymentsExpired: new Counter({ name: 'seatmap_payments_expired_total', help: 'Unpaid checkouts this node expired at their payBy (seats freed)', registers }),
    seatReleasesRetried: new Counter({
      name: 'seatmap_seat_releases_retried_total',
      help: 'Seat releases Postgres had committed and Redis had not applied, applied later by this node',
      registers,
    }),
    webhookDeliveries: new Counter({
      name: 'seatmap_webhook_deliveries_total',
      help: 'Webhook delivery attempts by this node, by result: delivered (2xx), failed (retried later), parked (retry window over)',
      labelNames: ['result'] as const,
      registers,
    }),
  };
}
