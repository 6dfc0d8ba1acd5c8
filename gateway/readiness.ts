/**
 * Readiness (GET /readyz): what is true now, each check bounded in time.
 *
 * - `redis`: Redis answers PING;
 * - `scripts`: every Lua script is in Redis's script cache. A Redis that
 *   restarted or flushed its scripts has none; operations go on regardless
 *   (ioredis falls back from EVALSHA to EVAL on NOSCRIPT), so the check loads
 *   missing scripts itself and reports true once that worked, rather than
 *   report false for good. `reloadScriptsOnReconnect` loads them as soon as
 *   the store's connection is back, so that the check rarely has to;
 * - `postgres`: Postgres answers `select 1` (reported, not required: see http.ts).
 */
import type pg from 'pg';
import type { Logger } from 'pino';
import type { SeatStore } from '../core/store/index.js';
import { withTimeout } from '../core/timeout.js';

/** each check's bound */
export const READINESS_CHECK_TIMEOUT_MS = 1000;

export interface ReadinessDeps {
  store: SeatStore;
  pool: pg.Pool;
  logger: Logger;
  timeoutMs?: number;
}

export type ReadinessCheck = () => Promise<Record<string, boolean>>;

export function createReadinessCheck({ store, pool, logger, timeoutMs = READINESS_CHECK_TIMEOUT_MS }: ReadinessDeps): ReadinessCheck {
  const within = <T>(p: Promise<T>) => withTimeout(p, timeoutMs, 'a readiness check');
  const preload = sharedPreload(store, logger);

  const scriptsLoaded = async (): Promise<boolean> => {
    if (await within(store.scriptsLoaded())) return true;
    logger.warn('lua scripts missing from the redis script cache (redis restarted or flushed its scripts); loading them again');
    await within(preload());
    return true;
  };

  return async () => {
    const [redis, scripts, postgres] = await Promise.all([
      within(store.redis.ping()).then(() => true, () => false),
      scriptsLoaded().catch(() => false),
      within(pool.query('select 1')).then(() => true, () => false),
    ]);
    return { redis, scripts, postgres };
  };
}

/**
 * Loads every script whenever the store's main connection is ready again
 * after a loss (a restarted Redis has an empty script cache). Call after the
 * start-up preload; returns a function that stops listening.
 */
export function reloadScriptsOnReconnect(store: SeatStore, logger: Logger): () => void {
  const preload = sharedPreload(store, logger);
  const onReady = () => {
    preload().then(
      () => logger.info('lua scripts loaded again after the redis connection came back'),
      (err: unknown) => logger.warn({ err }, 'cannot load the lua scripts after a reconnect; the readiness check retries'),
    );
  };
  store.redis.on('ready', onReady);
  return () => void store.redis.off('ready', onReady);
}

/** store.scripts.preload(), one at a time: callers during a load share it. */
function sharedPreload(store: SeatStore, logger: Logger): () => Promise<void> {
  let running: Promise<void> | null = null;
  return () => {
    running ??= store.scripts.preload().finally(() => {
      running = null;
    });
    running.catch((err: unknown) => logger.debug({ err }, 'script preload failed'));
    return running;
  };
}
