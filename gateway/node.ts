/**
 * One gateway process: connects to Redis and Postgres, makes sure the demo
 * event exists, runs the expiry sweeper and serves WebSockets and HTTP.
 * Several processes may share one Redis.
 */
import { Redis, type RedisOptions } from 'ioredis';
import pg from 'pg';
import type { Logger } from 'pino';
import { createEventFromLayout } from '../core/events.js';
import { ExpirySweeper, SeatStore } from '../core/store/index.js';
import type { Layout } from '../core/layout/index.js';
import { createAuthenticator } from './auth.js';
import { startBookings, type Bookings } from './bookings-runtime.js';
import { registerBookingRoutes } from './booking-routes.js';
import { registerDemoRoutes } from './demo-routes.js';
import { registerDoorRoutes } from './door-routes.js';
import { registerPaymentRoutes } from './payment-routes.js';
import { registerWebhookRoutes } from './webhook-routes.js';
import type { GatewayConfig } from './config.js';
import { processBodyBudget } from './http-body.js';
import { createMetrics, type GatewayMetrics } from './metrics.js';
import { createReadinessCheck, reloadScriptsOnReconnect } from './readiness.js';
import { GatewayServer } from './server.js';

export interface GatewayNode {
  store: SeatStore;
  sweeper: ExpirySweeper;
  server: GatewayServer;
  metrics: GatewayMetrics;
  /** the port the server listens on */
  port: number;
  /** resolves once the Postgres schema is migrated and the flusher runs (true), or false when stopped first */
  bookingsReady: Promise<boolean>;
  /** graceful: stop accepting, finish in-flight operations, close clients with 1012, disconnect */
  stop(): Promise<void>;
}

export interface GatewayNodeOptions {
  config: GatewayConfig;
  logger: Logger;
  /** makes the demo venue's layout document; called only when the demo event does not exist yet */
  demoLayout: () => Layout;
  /** default process metrics are off in tests that run several nodes in one process */
  defaultMetrics?: boolean;
}

export async function startGatewayNode({ config, logger, demoLayout, defaultMetrics }: GatewayNodeOptions): Promise<GatewayNode> {
  // The process-wide bound on buffered request bodies (gateway/http-body.ts).
  processBodyBudget.setLimit(config.limits.maxBodyBufferBytes);
  const connect = async (name: string, options: RedisOptions) => {
    const client = new Redis(config.redisUrl, { lazyConnect: true, connectionName: `seatmap-${name}`, ...options });
    client.on('error', (err) => logger.warn({ err, connection: name }, 'redis connection error'));
    await client.connect();
    return client;
  };
  const [redis, ...connections] = await Promise.all(
    Array.from({ length: config.redisConnections }, (_, i) => connect(`store-${i}`, storeConnectionOptions(config))),
  );
  // The change feed blocks in XREAD (5 s): a connection of its own, without pipelining and without the
  // command timeout, which would cut its reads; a read never waits for a client. It must fail on a lost
  // connection, not be re-sent with a stale position.
  const feedReader = await connect('feed', { enableAutoPipelining: false, autoResendUnfulfilledCommands: false });
  // The flusher works in the background and retries; commands may wait for a reconnect, within the timeout.
  const flusherRedis = await connect('flusher', { enableAutoPipelining: true, commandTimeout: config.redisCommandTimeoutMs });
  // the holders' Pub/Sub channels (tok, tokend): a connection in subscriber mode can do nothing else
  const holderSubscriber = await connect('holders', { enableAutoPipelining: false });
  const { holderOpsPerSecond, holderOpsBurst } = config.limits;
  const holderRate = holderOpsPerSecond > 0 ? { perSecond: holderOpsPerSecond, burst: holderOpsBurst } : undefined;
  const store = new SeatStore({ redis: redis!, prefix: config.keyPrefix, connections, holderRate });
  await store.scripts.preload();
  const stopReloadingScripts = reloadScriptsOnReconnect(store, logger);

  const pool = new pg.Pool({ connectionString: config.databaseUrl, max: 6, connectionTimeoutMillis: 2000 });
  pool.on('error', (err) => logger.warn({ err }, 'postgres pool error'));
  const metrics = createMetrics({ defaultMetrics });
  const bookings = startBookings(config, logger, metrics, store, flusherRedis, pool);

  if (config.demo.enabled) await ensureDemoEvent(store, config, logger, demoLayout, bookings);

  const sweeper = new ExpirySweeper(store, {
    intervalMs: config.sweepIntervalMs,
    onSweep: (stats) => {
      metrics.expirySweeps.inc();
      metrics.expiredHolds.inc(stats.tokensExpired);
      metrics.expiredSeats.inc(stats.seatsFreed);
      logger.info({ sweep: stats }, 'expired holds freed');
    },
    onError: (err) => logger.error({ err }, 'expiry sweep failed'),
    onExpired: (eventId, expired) => server.holderNotices?.expired(eventId, expired),
  });

  const authenticator = createAuthenticator(config.auth);
  const server = new GatewayServer({
    config,
    store,
    feedReader,
    holderSubscriber,
    authenticator,
    metrics,
    logger,
    checkReadiness: createReadinessCheck({ store, pool, logger }),
    durable: {
      waitForCommit: async (bookingId, replayed) => {
        metrics.bookAcksWaiting.inc();
        try {
          return await bookings.commits.waitFor(bookingId, config.bookings.ackTimeoutMs, replayed);
        } finally {
          metrics.bookAcksWaiting.dec();
        }
      },
    },
    recoverEvent: (eventId) => bookings.recovery.ensure(eventId),
    eventRecorded: (eventId) => bookings.recovery.isRecorded(eventId),
    routes: [
      (app) => registerBookingRoutes(app, { pool, store, authenticator, logger }),
      (app) => registerDoorRoutes(app, { pool, authenticator, logger }),
      (app) => registerPaymentRoutes(app, { pool, store, authenticator, logger, secret: config.lifecycle.paymentSecret, toleranceS: config.lifecycle.paymentToleranceS }),
      (app) => registerWebhookRoutes(app, { pool, authenticator, logger }),
      (app) => registerDemoRoutes(app, { authenticator, logger }),
    ],
  });
  const closeConnections = async () => {
    stopReloadingScripts();
    await Promise.all([redis!, ...connections, feedReader, flusherRedis, holderSubscriber].map((client) => client.quit().catch(() => client.disconnect())));
    await pool.end();
  };
  let port: number;
  try {
    port = await server.listen();
  } catch (err) {
    // a port in use: give back what start-up opened, so an embedding process can go on
    await bookings.stop();
    await closeConnections();
    throw err;
  }
  sweeper.start();
  logger.info({ host: config.host, port, prefix: config.keyPrefix, tickMs: config.tickMs }, 'gateway listening');

  return {
    store,
    sweeper,
    server,
    metrics,
    port,
    bookingsReady: bookings.migrated,
    async stop() {
      await server.shutdown();
      await sweeper.stop();
      await bookings.stop();
      await closeConnections();
    },
  };
}

/** how long start-up waits for Postgres before creating a missing demo event without asking it */
const DEMO_POSTGRES_WAIT_MS = 5000;

/**
 * The store's connections: every command is bounded (REDIS_COMMAND_TIMEOUT_MS; the server answers
 * the client INTERNAL, retryable), a command issued while the connection is down fails at once
 * instead of waiting in the offline queue for Redis to come back, and commands in flight when the
 * connection was lost are not re-sent after the reconnect: an operation already answered INTERNAL
 * must not run later, nor one that may have run once run again.
 */
export function storeConnectionOptions(config: Pick<GatewayConfig, 'redisCommandTimeoutMs'>): RedisOptions {
  return {
    enableAutoPipelining: true,
    commandTimeout: config.redisCommandTimeoutMs,
    enableOfflineQueue: false,
    autoResendUnfulfilledCommands: false,
  };
}

async function ensureDemoEvent(store: SeatStore, config: GatewayConfig, logger: Logger, demoLayout: () => Layout, bookings: Bookings): Promise<void> {
  const { eventId } = config.demo;
  const existing = await store.meta(eventId);
  if (existing) {
    logger.info({ eventId, seats: existing.seatCount, seq: existing.seq, epoch: existing.epoch }, 'demo event present');
    return;
  }
  // Redis may have lost it: an event Postgres knows is rebuilt from there (its bookings kept), never created afresh
  const migrated = await Promise.race([bookings.migrated, new Promise<false>((resolve) => setTimeout(resolve, DEMO_POSTGRES_WAIT_MS, false).unref())]);
  if (migrated && (await bookings.recovery.ensure(eventId))) {
    logger.info({ eventId }, 'demo event restored from postgres');
    return;
  }
  if (!migrated) logger.warn({ eventId }, 'postgres not reachable: the demo event is created in Redis without checking for earlier bookings');
  const created = await createEventFromLayout(store, eventId, demoLayout());
  // Another process may have created it at the same moment; that is fine.
  if (!created.ok && created.code !== 'CONFLICT') throw new Error(`cannot create demo event: ${created.code}`);
  if (created.ok) logger.info({ eventId, seats: created.compiled.seatCount, epoch: created.epoch }, 'demo event created');
}
