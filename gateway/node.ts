/**
 * One gateway process: connects to Redis and Postgres, makes sure the demo
 * event exists, runs the expiry sweeper and serves WebSockets and HTTP.
 * Several processes may share one Redis.
 */
import { Redis } from 'ioredis';
import pg from 'pg';
import type { Logger } from 'pino';
import { createEventFromLayout } from '../core/events.js';
import { ExpirySweeper, SeatStore, loadScripts } from '../core/store/index.js';
import type { Layout } from '../core/layout/index.js';
import { createAuthenticator } from './auth.js';
import type { GatewayConfig } from './config.js';
import { createMetrics, type GatewayMetrics } from './metrics.js';
import { GatewayServer } from './server.js';

export interface GatewayNode {
  store: SeatStore;
  sweeper: ExpirySweeper;
  server: GatewayServer;
  metrics: GatewayMetrics;
  /** the port the server listens on */
  port: number;
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
  const connect = async (name: string, autoPipelining = true) => {
    const client = new Redis(config.redisUrl, {
      enableAutoPipelining: autoPipelining,
      lazyConnect: true,
      connectionName: `seatmap-${name}`,
      // the feed's blocking read must fail on a lost connection, not be re-sent with a stale position
      autoResendUnfulfilledCommands: autoPipelining,
    });
    client.on('error', (err) => logger.warn({ err, connection: name }, 'redis connection error'));
    await client.connect();
    return client;
  };
  const [redis, ...connections] = await Promise.all(Array.from({ length: config.redisConnections }, (_, i) => connect(`store-${i}`)));
  // the change feed blocks in XREAD: it needs a connection of its own, without pipelining
  const feedReader = await connect('feed', false);
  const store = new SeatStore({ redis: redis!, prefix: config.keyPrefix, connections });
  await store.scripts.preload();

  const pool = new pg.Pool({ connectionString: config.databaseUrl, max: 2, connectionTimeoutMillis: 2000 });
  pool.on('error', (err) => logger.warn({ err }, 'postgres pool error'));

  if (config.demo.enabled) await ensureDemoEvent(store, config, logger, demoLayout);

  const metrics = createMetrics({ defaultMetrics });
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

  const server = new GatewayServer({
    config,
    store,
    feedReader,
    authenticator: createAuthenticator(config.auth),
    metrics,
    logger,
    checkReadiness: () => checkReadiness(store, pool),
  });
  const port = await server.listen();
  sweeper.start();
  logger.info({ host: config.host, port, prefix: config.keyPrefix, tickMs: config.tickMs }, 'gateway listening');

  return {
    store,
    sweeper,
    server,
    metrics,
    port,
    async stop() {
      await server.shutdown();
      await sweeper.stop();
      await Promise.all([redis!, ...connections, feedReader].map((client) => client.quit().catch(() => client.disconnect())));
      await pool.end();
    },
  };
}

/** Redis answers and has every script loaded; Postgres answers. */
async function checkReadiness(store: SeatStore, pool: pg.Pool): Promise<Record<string, boolean>> {
  const within = <T>(p: Promise<T>) => Promise.race([p, new Promise<never>((_, reject) => setTimeout(() => reject(new Error('timeout')), 1000).unref())]);
  const [redis, scripts, postgres] = await Promise.all([
    within(store.redis.ping()).then(() => true, () => false),
    within(store.redis.script('EXISTS', ...[...loadScripts().values()].map((s) => s.sha)) as Promise<number[]>).then(
      (found) => found.every((f) => f === 1),
      () => false,
    ),
    within(pool.query('select 1')).then(() => true, () => false),
  ]);
  return { redis, scripts, postgres };
}

async function ensureDemoEvent(store: SeatStore, config: GatewayConfig, logger: Logger, demoLayout: () => Layout): Promise<void> {
  const { eventId } = config.demo;
  const existing = await store.meta(eventId);
  if (existing) {
    logger.info({ eventId, seats: existing.seatCount, seq: existing.seq, epoch: existing.epoch }, 'demo event present');
    return;
  }
  const created = await createEventFromLayout(store, eventId, demoLayout());
  // Another process may have created it at the same moment; that is fine.
  if (!created.ok && created.code !== 'CONFLICT') throw new Error(`cannot create demo event: ${created.code}`);
  if (created.ok) logger.info({ eventId, seats: created.compiled.seatCount, epoch: created.epoch }, 'demo event created');
}
