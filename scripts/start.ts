/**
 * `npm start`: finds Redis and Postgres (or starts local ones, see
 * docs/services.md), then runs a gateway process in the foreground.
 */
import { ensureServices } from './services/index.js';

try {
  const services = await ensureServices({ redis: true, postgres: true, logger: (msg) => console.error(`[services] ${msg}`) });
  process.env.REDIS_URL = services.redisUrl;
  process.env.DATABASE_URL = services.databaseUrl;
} catch (err) {
  console.error(err instanceof Error ? err.message : err);
  process.exit(1);
}
await import('../gateway/main.js');
