/**
 * One gateway process: connects to Redis, makes sure the demo event exists,
 * and runs the expiry sweeper. Several processes may share one Redis.
 */
import { Redis } from 'ioredis';
import type { Logger } from 'pino';
import { createEventFromLayout } from '../core/events.js';
import { ExpirySweeper, SeatStore } from '../core/store/index.js';
import type { Layout } from '../core/layout/index.js';
import type { GatewayConfig } from './config.js';

export interface GatewayNode {
  store: SeatStore;
  sweeper: ExpirySweeper;
  stop(): Promise<void>;
}

export interface GatewayNodeOptions {
  config: GatewayConfig;
  logger: Logger;
  /** makes the demo venue's layout document; called only when the demo event does not exist yet */
  demoLayout: () => Layout;
}

export async function startGatewayNode({ config, logger, demoLayout }: GatewayNodeOptions): Promise<GatewayNode> {
  const connect = async () => {
    const client = new Redis(config.redisUrl, { enableAutoPipelining: true, lazyConnect: true });
    client.on('error', (err) => logger.warn({ err }, 'redis connection error'));
    await client.connect();
    return client;
  };
  const [redis, ...connections] = await Promise.all(Array.from({ length: config.redisConnections }, connect));
  const store = new SeatStore({ redis: redis!, prefix: config.keyPrefix, connections });
  await store.scripts.preload();

  await ensureDemoEvent(store, config, logger, demoLayout);

  const sweeper = new ExpirySweeper(store, {
    intervalMs: config.sweepIntervalMs,
    onSweep: (stats) => logger.info({ sweep: stats }, 'expired holds freed'),
    onError: (err) => logger.error({ err }, 'expiry sweep failed'),
  });
  sweeper.start();
  logger.info({ prefix: config.keyPrefix }, 'expiry sweeper running');

  return {
    store,
    sweeper,
    async stop() {
      await sweeper.stop();
      await Promise.all([redis!, ...connections].map((client) => client.quit()));
    },
  };
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
