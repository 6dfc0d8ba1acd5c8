/**
 * One gateway process: connects to Redis (one, or a Cluster: gateway/redis-connections.ts) and Postgres, makes sure the demo
 * event exists, runs the expiry sweeper and serves WebSockets and HTTP.
 * Several processes may share one Redis.
 */
import pg from 'pg';
import type { Logger } from 'pino';
import { createEventFromLayout } from '../core/events.js';
import { randomUUID } from 'node:crypto';
import { hostname } from 'node:os';
import { ExpirySweeper, Lease, SeatStore } from '../core/store/index.js';
import { ChannelReleaser } from '../core/store/channels.js';
import { registerChannelRoutes } from './channel-routes.js';
import type { Layout } from '../core/layout/index.js';
import { createAuthenticator } from './auth.js';
import { startBookings, type Bookings } from './bookings-runtime.js';
import { registerBlockRoutes } from './block-routes.js';
import { registerBookingRoutes } from './booking-routes.js';
import { eventLayouts } from './current-layout.js';
import { LayoutCache } from './layout-view.js';
import { registerDemoRoutes } from './demo-routes.js';
import { registerDoorRoutes } from './door-routes.js';
import { registerPaymentRoutes } from './payment-routes.js';
import { registerWebhookRoutes } from './webhook-routes.js';
import type { GatewayConfig } from './config.js';
import { processBodyBudget } from './http-body.js';
import { createMetrics, type GatewayMetrics } from './metrics.js';
import { createReadinessCheck, reloadScriptsOnReconnect } from './readiness.js';
import { openConnections } from './redis-connections.js';
import { GatewayServer } from './server.js';

export { storeConnectionOptions } from './redis-connections.js';

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
  const redis = await openConnections(config, logger);
  const { holderOpsPerSecond, holderOpsBurst } = config.limits;
  const holderRate = holderOpsPerSecond > 0 ? { perSecond: holderOpsPerSecond, burst: holderOpsBurst } : undefined;
  const store = new SeatStore({ redis: redis.store, prefix: config.keyPrefix, connections: redis.extra, holderRate });
  await store.scripts.preload();
  const stopReloadingScripts = reloadScriptsOnReconnect(store, logger);

  const pool = new pg.Pool({ connectionString: config.databaseUrl, max: 6, connectionTimeoutMillis: 2000 });
  pool.on('error', (err) => logger.warn({ err }, 'postgres pool error'));
  const metrics = createMetrics({ defaultMetrics, worker: config.workers.id });
  const bookings = startBookings(config, logger, metrics, store, redis.flusher, pool, { elected: config.backgroundLease });

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

  // sales channels whose releaseAt has come: one look at one global key a second (core/store/channels.ts)
  const channelReleaser = new ChannelReleaser(store, {
    onReleased: (r) => logger.info({ eventId: r.eventId, key: r.key, released: r.released, seq: r.seq }, 'sales channel released'),
    onError: (err) => logger.error({ err }, 'sales channel release failed'),
  });

  const authenticator = createAuthenticator(config.auth);
  const layouts = new LayoutCache();
  const server = new GatewayServer({
    layouts,
    config,
    store,
    feedReader: redis.feedReader,
    feedSubscriber: redis.feedSubscriber,
    holderSubscriber: redis.holders,
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
      (app) => registerBlockRoutes(app, { pool, store, authenticator, logger, layouts: eventLayouts(store, layouts) }),
      (app) => registerChannelRoutes(app, { pool, store, authenticator, logger, layouts: eventLayouts(store, layouts) }),
      (app) => registerDoorRoutes(app, { pool, authenticator, logger }),
      (app) => registerPaymentRoutes(app, { pool, store, authenticator, logger, secret: config.lifecycle.paymentSecret, toleranceS: config.lifecycle.paymentToleranceS }),
      (app) => registerWebhookRoutes(app, { pool, authenticator, logger }),
      (app) => registerDemoRoutes(app, { authenticator, logger }),
    ],
  });
  const closeConnections = async () => {
    stopReloadingScripts();
    await Promise.all(redis.all().map((client) => client.quit().catch(() => client.disconnect())));
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
  // the background work: here in any case, or in the one process of many that holds the lease
  const lease = config.backgroundLease
    ? new Lease(store, {
        holder: `${hostname()}:${process.pid}:${randomUUID().slice(0, 8)}`,
        onGained: () => {
          logger.info('background lease taken: this process runs the booking flusher, the expiry sweeper and the lifecycle timers');
          sweeper.start();
          channelReleaser.start();
          bookings.background.start();
        },
        onLost: async () => {
          logger.info('background lease lost: the background work stops here');
          await sweeper.stop();
          await channelReleaser.stop();
          await bookings.background.stop();
        },
        onError: (err) => logger.warn({ err }, 'background lease: redis did not answer'),
      })
    : null;
  if (lease) lease.start();
  else {
    sweeper.start();
    channelReleaser.start();
  }
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
      await lease?.stop(); // gives it back: another process takes the work over at its next try
      await sweeper.stop();
      await channelReleaser.stop();
      await bookings.stop();
      await closeConnections();
    },
  };
}

/** how long start-up waits for Postgres before creating a missing demo event without asking it */
const DEMO_POSTGRES_WAIT_MS = 5000;

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
