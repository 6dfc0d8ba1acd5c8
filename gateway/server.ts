/**
 * The gateway's server: composes one uWebSockets.js app from its parts and
 * runs its life. The parts, one concern each (docs/gateway.md, Components):
 *
 * - gateway/ws-endpoint.ts: /ws, the synchronous upgrade, callbacks → Session
 * - gateway/session.ts: one connection (token check, hello, dispatch, sending)
 * - gateway/subscriptions.ts: sub/unsub, catch-up + topic, pause mechanics
 * - gateway/slow-consumers.ts: pause/resume/close policy, process budget
 * - gateway/operations.ts: seat operations
 * - gateway/hub.ts: this node's rooms, fed by the change feed
 * - the HTTP route groups: health, events, /openapi.json (gateway/openapi/), then the node's
 *
 * It owns listening (an exclusive port unless REUSE_PORT) and the graceful
 * shutdown: stop accepting, let in-flight work answer within the grace
 * period, close every client with 1012, stop the rooms.
 */
import uWS from 'uWebSockets.js';
import type { Cluster, Redis } from 'ioredis';
import type { Logger } from 'pino';
import { CLOSE_CODES, type ConnectionLimits } from '../core/protocol/index.js';
import { Channels, STORE_LIMITS, WaitingRooms, type SeatStore } from '../core/store/index.js';
import { runsOf } from '../core/store/channels.js';
import type { Authenticator, Principal } from './auth.js';
import type { GatewayConfig } from './config.js';
import { ChangeFeed } from './change-feed.js';
import { Connections } from './connections.js';
import { registerEventRoutes } from './event-routes.js';
import { registerHealthRoutes } from './health-routes.js';
import { registerOpenApiRoutes } from './openapi-routes.js';
import { sendJson } from './http-util.js';
import { Hub } from './hub.js';
import { Inflight } from './inflight.js';
import { LayoutCache } from './layout-view.js';
import type { GatewayMetrics } from './metrics.js';
import { Operations, type DurableBookings } from './operations.js';
import type { Session } from './session.js';
import { SlowConsumers } from './slow-consumers.js';
import { Subscriptions } from './subscriptions.js';
import { LISTEN_EXCLUSIVE_PORT, LISTEN_SHARED_PORT, listenOn } from './uws.js';
import { RecoveryGate } from './recovery-gate.js';
import { recordingRoutes, type RegisteredRoute } from './route-list.js';
import { StoreRoomSource } from './room-source.js';
import { registerWsEndpoint } from './ws-endpoint.js';
import { SubjectSlots } from './subject-slots.js';
import { QueueAdmitter } from './queue-admitter.js';
import { registerQueueRoutes } from './queue-routes.js';
import { QueueWatch } from './queue-watch.js';
import { HolderNotices } from './holder-notices.js';

export interface GatewayServerOptions {
  config: GatewayConfig;
  store: SeatStore;
  /** the connection the change feed reads logs on */
  feedReader: Redis | Cluster;
  /** a connection of its own for the change signals (subscriber mode; on a Cluster, a client with shardedSubscribers) */
  feedSubscriber: Redis | Cluster;
  authenticator: Authenticator;
  metrics: GatewayMetrics;
  logger: Logger;
  checkReadiness(): Promise<Record<string, boolean>>;
  /** a Redis connection of its own for the holders' Pub/Sub channels (tok, tokend); absent: none are sent */
  holderSubscriber?: Redis | Cluster;
  /** answers `book` only once Postgres has the booking (absent: answered when Redis has it) */
  durable?: DurableBookings;
  /** rebuilds an event Redis has lost from Postgres; true when Redis has it afterwards (raw: the server puts its RecoveryGate in front) */
  recoverEvent?(eventId: string): Promise<boolean>;
  /** whether Postgres already has an event (see HttpDeps.eventRecorded) */
  eventRecorded?(eventId: string): Promise<boolean>;
  /**
   * The node's further route groups (the bookings admin API, the demo page),
   * registered after the server's own (health, events) and before the 404.
   */
  routes?: readonly RouteGroup[];
  /** the compiled layouts this node keeps; absent: a cache of its own (the block routes share the node's) */
  layouts?: LayoutCache;
}

/** The limits `hello` advertises, from the configuration. */
export function connectionLimits(config: GatewayConfig): ConnectionLimits {
  return {
    maxFrameBytes: config.limits.maxFrameBytes,
    opsPerSecond: config.limits.opsPerSecond,
    opsBurst: config.limits.opsBurst,
    maxSubscriptions: config.limits.maxSubscriptions,
    maxSeatsPerRequest: STORE_LIMITS.maxSeatsPerCall,
    maxConnectionsPerSubject: config.limits.maxConnectionsPerSubject,
    holderOpsPerSecond: config.limits.holderOpsPerSecond,
    holderOpsBurst: config.limits.holderOpsBurst,
    upgradesPerIpPerSecond: config.limits.upgradesPerIpPerSecond,
  };
}

/** A group of HTTP routes, registered on the app in one call. */
export type RouteGroup = (app: uWS.TemplatedApp) => void;

export class GatewayServer {
  readonly app: uWS.TemplatedApp;
  readonly hub: Hub;
  readonly connections: Connections<Session>;
  /** every HTTP route registered, in order (the catch-all 404 last); test/openapi.test.ts holds them against the OpenAPI document */
  readonly routes: RegisteredRoute[] = [];
  private readonly inflight = new Inflight();
  private readonly slowConsumers: SlowConsumers;
  private listenSocket: uWS.us_listen_socket | null = null;
  /** connection slots per subject (MAX_CONNECTIONS_PER_SUBJECT); null when there is no limit */
  private readonly slots: SubjectSlots | null;
  private readonly queueWatch: QueueWatch;
  /** tok and tokend over the holders' channels; null without a subscriber connection */
  readonly holderNotices: HolderNotices | null;
  private readonly admitter: QueueAdmitter;
  private draining = false;

  constructor(private readonly options: GatewayServerOptions) {
    const { config, metrics, logger, store } = options;
    this.app = uWS.App();
    this.connections = new Connections<Session>(metrics);
    const { maxConnectionsPerSubject, connectionLeaseMs } = config.limits;
    const rooms = new WaitingRooms(store);
    this.holderNotices = options.holderSubscriber ? new HolderNotices({ store, subscriber: options.holderSubscriber, metrics, logger }) : null;
    const notices = this.holderNotices;
    this.queueWatch = new QueueWatch({ rooms, metrics, logger, pollMs: config.queue.pollMs });
    this.admitter = new QueueAdmitter({ rooms, metrics, logger, intervalMs: config.queue.admitIntervalMs });
    this.slots = maxConnectionsPerSubject > 0 ? new SubjectSlots({ store, most: maxConnectionsPerSubject, leaseMs: connectionLeaseMs, logger }) : null;
    let subscriptions: Subscriptions | null = null;
    const gate = options.recoverEvent ? new RecoveryGate({ ensure: options.recoverEvent, metrics }) : null;
    const recoverEvent = gate ? (eventId: string, who: Principal) => gate.recover(eventId, who) : undefined;
    this.hub = new Hub({
      source: new StoreRoomSource(store),
      feed: (onEntries, onMoved) =>
        new ChangeFeed({
          reader: options.feedReader,
          subscriber: options.feedSubscriber,
          onEntries,
          onMoved,
          onError: (err) => logger.warn({ err }, 'change feed read failed; retrying'),
          paceMs: config.rooms.feedPaceMs,
        }),
      publisher: {
        publish: (topic, frame) => this.app.publish(topic, frame, true),
        numSubscribers: (topic) => this.app.numSubscribers(topic),
      },
      metrics,
      logger,
      tickMs: config.tickMs,
      sliceWatchers: config.rooms.sliceWatchers,
      resumeWindow: config.rooms.resumeWindow,
      lingerMs: config.rooms.lingerMs,
      checkMs: config.rooms.checkMs,
      onEventGone: (eventId) => subscriptions?.eventGone(eventId),
      onChannelChange: (eventId) => void subscriptions?.refreshChannels(eventId),
    });
    // the policy and the mechanics refer to each other: pausing is the subscriptions', the budget the policy's
    let policy: SlowConsumers | null = null;
    const channels = new Channels(store);
    subscriptions = new Subscriptions({
      hub: this.hub,
      metrics,
      logger,
      inflight: this.inflight,
      maxSubscriptions: config.limits.maxSubscriptions,
      catchUpQueueBytes: config.limits.slowConsumerBytes,
      recoverEvent,
      eventSeen: (eventId) => gate?.remember(eventId),
      channelOverlay: async (eventId, keys) => {
        const found = await channels.seatsOf(eventId, keys);
        return found.keys.length === 0 ? null : { t: 'chan', ev: eventId, keys: found.keys, seats: runsOf(found.seats) };
      },
      budget: { admit: (s, bytes) => policy!.admit(s, bytes), queued: (bytes) => policy!.queued(bytes) },
    });
    this.slowConsumers = policy = new SlowConsumers({
      connections: this.connections,
      subscriptions,
      limits: config.limits,
      metrics,
      logger,
    });
    metrics.outboundBudget.set(config.limits.outboundBudgetBytes);

    registerWsEndpoint(this.app, {
      config,
      authenticator: options.authenticator,
      metrics,
      logger,
      connections: this.connections,
      isDraining: () => this.draining,
      session: {
        limits: connectionLimits(config),
        metrics,
        logger,
        isDraining: () => this.draining,
        connections: this.connections,
        subscriptions,
        operations: new Operations({
          store,
          metrics,
          logger,
          inflight: this.inflight,
          durable: options.durable,
          recoverEvent,
          ...(notices && { succeeded: (holder, request, reply, read) => notices.afterOperation(holder, request, reply, read), sent: (holder, request) => notices.readAfter(holder, request) }),
        }),
        slowConsumers: this.slowConsumers,
        slots: this.slots ?? undefined,
        queue: this.queueWatch,
        notices: notices ?? undefined,
        authenticator: options.authenticator,
      },
    });

    const eventRoutes = {
      store,
      authenticator: options.authenticator,
      logger,
      layouts: options.layouts ?? new LayoutCache(),
      liveStatus: (eventId: string) => {
        const room = this.hub.room(eventId);
        return room ? { epoch: room.epoch, seq: room.seq, status: room.status, ga: room.ga } : null;
      },
      maxBodyBytes: config.limits.maxBodyBytes,
      eventRecorded: options.eventRecorded,
    };
    // Every route group from one list, in order; the catch-all 404 last.
    const groups: RouteGroup[] = [
      (app) => registerHealthRoutes(app, { metrics, logger, isDraining: () => this.draining, checkReadiness: options.checkReadiness }),
      (app) => registerEventRoutes(app, eventRoutes),
      (app) => registerQueueRoutes(app, { rooms, authenticator: options.authenticator, logger }),
      registerOpenApiRoutes,
      ...(options.routes ?? []),
    ];
    const app = recordingRoutes(this.app, this.routes);
    for (const register of groups) register(app);
    app.any('/*', (res) => sendJson(res, 404, { code: 'BAD_REQUEST', msg: 'no such route (GET /openapi.json lists every route)' }));
  }

  /** Starts listening; resolves to the port (useful with PORT=0). */
  listen(): Promise<number> {
    const { host, port, reusePort } = this.options.config;
    // uSockets binds with SO_REUSEPORT unless told otherwise: a second gateway (or a test that
    // reuses a port) would then silently get half the connections. Exclusive unless asked.
    const options = reusePort ? LISTEN_SHARED_PORT : LISTEN_EXCLUSIVE_PORT;
    return new Promise((resolve, reject) => {
      listenOn(this.app, host, port, options, (socket) => {
        if (!socket) return reject(new Error(`cannot listen on ${host}:${port} (in use?${reusePort ? '' : ' set REUSE_PORT=1 to share it'})`));
        this.listenSocket = socket;
        this.hub.start();
        this.slowConsumers.start();
        this.slots?.start();
        this.queueWatch.start();
        this.admitter.start();
        resolve(uWS.us_socket_local_port(socket));
      });
    });
  }

  get isDraining(): boolean {
    return this.draining;
  }

  /**
   * Graceful shutdown: stop accepting, let in-flight operations answer
   * (bounded by the grace period), close every client with 1012, stop rooms.
   */
  async shutdown(): Promise<void> {
    if (this.draining) return;
    this.draining = true;
    if (this.listenSocket) uWS.us_listen_socket_close(this.listenSocket);
    this.listenSocket = null;
    const idle = await this.inflight.idle(Date.now() + this.options.config.shutdownGraceMs);
    if (!idle) this.options.logger.warn({ inflight: this.inflight.size }, 'shutdown grace period over with operations in flight');
    for (const s of [...this.connections]) s.cork(() => s.end(CLOSE_CODES.SERVER_RESTART.code, 'server restart'));
    this.slowConsumers.stop();
    this.slots?.stop();
    this.queueWatch.stop();
    this.admitter.stop();
    await this.hub.stop();
  }
}
