/**
 * `npm start`: finds Redis and Postgres (or starts local ones, see
 * docs/services.md), then runs the gateway in the foreground: a process per
 * core sharing the port (WORKERS, default the machine's cores; WORKERS=1 is
 * one process, as gateway/main.ts alone runs).
 */
import { availableParallelism } from 'node:os';
import { ensureServices } from './services/index.js';

try {
  const services = await ensureServices({ redis: true, postgres: true, logger: (msg) => console.error(`[services] ${msg}`) });
  process.env.REDIS_URL = services.redisUrl;
  process.env.DATABASE_URL = services.databaseUrl;
} catch (err) {
  console.error(err instanceof Error ? err.message : err);
  process.exit(1);
}
process.env.WORKERS ||= String(availableParallelism());
await import('../gateway/main.js');
