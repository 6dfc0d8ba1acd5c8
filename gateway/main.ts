/**
 * Entry point of a gateway process: `npm start` (through scripts/start.ts,
 * which finds or starts Redis and Postgres first). With WORKERS=N above 1 it
 * is the supervisor of N gateway processes on one port (gateway/workers.ts),
 * each of which runs this file again as a worker.
 */
import cluster from 'node:cluster';
import { fileURLToPath } from 'node:url';
import { pino } from 'pino';
import { generateVenue, withDemoSelection, withStandingArea } from '../core/layout/generate-venue.js';
import { DEV_JWT_SECRET } from './auth.js';
import { loadConfig } from './config.js';
import { startGatewayNode } from './node.js';
import { serveSupervisor, superviseWorkers } from './workers.js';

const config = loadConfig();
const worker = config.workers.id;
const logger = pino({ level: config.logLevel, base: { service: 'seatmap-gateway', pid: process.pid, ...(worker ? { worker } : {}) } });

if (config.workers.count > 1 && cluster.isPrimary) {
  process.exit(await superviseWorkers({ config, logger, entry: fileURLToPath(import.meta.url) }));
}

if (!config.auth.jwtSecret && !config.auth.jwksUrl) {
  config.auth.jwtSecret = DEV_JWT_SECRET;
  logger.warn('neither JWT_SECRET nor JWKS_URL is set: accepting development tokens (npm run token); never do this in production');
}

const node = await startGatewayNode({
  config,
  logger,
  demoLayout: () => withStandingArea(withDemoSelection(generateVenue({ seats: config.demo.seats, seed: config.demo.seed, name: 'Demo Arena' }))),
});
logger.info({ port: node.port, demoEvent: config.demo.enabled ? config.demo.eventId : null, ws: `ws://${config.host}:${node.port}/ws` }, 'gateway node ready');
serveSupervisor(node.port, () => node.metrics.registry.getMetricsAsJSON());

let stopping = false;
async function shutdown(signal: string) {
  if (stopping) return;
  stopping = true;
  logger.info({ signal }, 'shutting down');
  try {
    await node.stop();
    logger.info('stopped');
    process.exit(0);
  } catch (err) {
    logger.error({ err }, 'unclean shutdown');
    process.exit(1);
  }
}
process.on('SIGTERM', () => void shutdown('SIGTERM'));
process.on('SIGINT', () => void shutdown('SIGINT'));
// a worker whose supervisor is gone stops too
if (cluster.isWorker) process.on('disconnect', () => void shutdown('supervisor gone'));
