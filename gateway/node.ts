/**
 * One gateway process: connects to Redis and Postgres, makes sure the demo
 * event exists, runs the expiry sweeper and serves WebSockets and HTTP.
 * Several processes may share one Redis.
 */
import { randomUUID } from 'node:crypto';
import { hostname } from 'node:os';
import { Redis, type RedisOptions } from 'ioredis';
import pg from 'pg';
import type { Logger } from 'pino';
import { CommitWatcher } from '../core/bookings/commits.js';
import { BookingFlusher, DeadLetterError } from '../core/bookings/flusher.js';
import { migrate } from '../core/bookings/migrate.js';
import { EventRecovery } from '../core/bookings/recovery.js';
import { createEventFromLayout } from '../core/events.js';
import { ExpirySweeper, SeatStore } from '../core/store/index.js';
import type { Layout } from '../core/layout/index.js';
import { createAuthenticator } from './auth.js';
import { registerBookingRoutes } from './booking-routes.js';
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

/** the booking flusher's blocking XREADGROUP (on a duplicate of its connection, with that connection's command timeout) */
const FLUSHER_BLOCK_MS = 250;

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
  const store = new SeatStore({ redis: redis!, prefix: config.keyPrefix, connections });
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
  });

  const authenticator = createAuthenticator(config.auth);
  const server = new GatewayServer({
    config,
    store,
    feedReader,
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
    registerRoutes: (app) => registerBookingRoutes(app, { pool, store, authenticator, logger }),
  });
  const closeConnections = async () => {
    stopReloadingScripts();
    await Promise.all([redis!, ...connections, feedReader, flusherRedis].map((client) => client.quit().catch(() => client.disconnect())));
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

interface Bookings {
  commits: CommitWatcher;
  recovery: EventRecovery;
  /** resolves once the schema is migrated (true), or false if stopped first */
  migrated: Promise<boolean>;
  stop(): Promise<void>;
}

/**
 * The durable side: migrations, then this node's flusher (outbox -> Postgres)
 * and the lost-event recovery; the commit watcher that `book` acks wait on
 * starts at once. None of it blocks start-up: while Postgres is unreachable,
 * holds and books go on in Redis, acks wait (PENDING after the timeout), and
 * the migrations are retried until they succeed.
 */
function startBookings(config: GatewayConfig, logger: Logger, metrics: GatewayMetrics, store: SeatStore, redis: Redis, pool: pg.Pool): Bookings {
  const log = logger.child({ component: 'bookings' });
  const commits = new CommitWatcher({
    databaseUrl: config.databaseUrl,
    pool,
    onError: (err) => log.debug({ err }, 'commit watcher: postgres unreachable'),
  });
  commits.start();
  const flusher = config.bookings.flusher
    ? new BookingFlusher({
        redis,
        pool,
        prefix: config.keyPrefix,
        consumer: `${hostname()}:${process.pid}:${randomUUID().slice(0, 8)}`,
        batchSize: config.bookings.flushBatchSize,
        // short: a new event's first booking waits for the next registry read (and a flush after a Redis loss, too)
        blockMs: FLUSHER_BLOCK_MS,
        refreshMs: 250,
        onCommitted: (committed) => {
          metrics.flushCommits.inc();
          commits.committed(committed);
        },
        onError: (err) => {
          if (err instanceof DeadLetterError) {
            metrics.deadLetters.inc({ code: err.code ?? 'malformed' });
            if (err.bookingId && err.code) commits.refused(err.bookingId, err.code);
            log.error({ err, stream: err.stream, entry: err.entryId, code: err.code }, 'outbox entry refused by postgres, moved to the dead-letter stream');
          } else if (err instanceof Error && /NOGROUP|no longer exists/.test(err.message)) {
            log.info({ err: err.message }, 'an outbox vanished (event deleted or Redis lost it); reading the registry again');
          } else {
            log.warn({ err }, 'booking flush failed; retrying');
          }
        },
      })
    : null;
  let lastInserted = 0;
  let ticks = 0;
  const reportFlusher = setInterval(() => {
    if (!flusher) return;
    metrics.flushedBookings.inc(flusher.stats.inserted - lastInserted);
    lastInserted = flusher.stats.inserted;
    // one XLEN per outbox: every 5 s is plenty for a gauge
    if (++ticks % 5 === 0) flusher.backlog().then((n) => metrics.outboxBacklog.set(n), () => undefined);
  }, 1000);
  reportFlusher.unref();
  const recovery = new EventRecovery({
    pool,
    store,
    intervalMs: config.bookings.rebuildCheckMs,
    onRebuilt: (eventId, outcome) => {
      metrics.eventsRebuilt.inc();
      log.warn({ eventId, ...outcome }, 'event rebuilt from postgres after redis lost it');
    },
    onError: (err, eventId) => log.warn({ err, eventId }, 'event recovery failed; retrying'),
  });

  let stopped = false;
  let wakeUp: (() => void) | null = null;
  const ready = (async () => {
    for (let delay = 500; !stopped; delay = Math.min(delay * 2, 10_000)) {
      try {
        const applied = await migrate(pool);
        if (applied.length > 0) log.info({ applied }, 'database migrated');
        break;
      } catch (err) {
        log.warn({ err, retryInMs: delay }, 'cannot migrate the database yet');
        await new Promise<void>((resolve) => {
          const timer = setTimeout(resolve, delay);
          wakeUp = () => {
            clearTimeout(timer);
            resolve();
          };
        });
      }
    }
    if (stopped) return false;
    flusher?.start();
    recovery.start();
    return true;
  })();

  return {
    commits,
    recovery,
    migrated: ready,
    async stop() {
      stopped = true;
      (wakeUp as (() => void) | null)?.();
      await ready;
      clearInterval(reportFlusher);
      await recovery.stop();
      await flusher?.stop();
      await commits.stop();
    },
  };
}

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
