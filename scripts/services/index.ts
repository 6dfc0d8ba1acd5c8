/**
 * Find or start the Redis and PostgreSQL servers the gateway needs; the
 * public API of scripts/services/ (`npm start`, `npm test`'s global setup,
 * scripts/with-services.ts and the services CLI import from here).
 *
 * Order of attempts for each service (docs/services.md):
 *   1. the URL from the environment (REDIS_URL / DATABASE_URL, or the loopback default) answers -> use it;
 *   2. the URL is a loopback address -> start a local server from installed binaries
 *      (Redis: redis.ts; Postgres: an existing Debian cluster on that port, else a cluster of our own: postgres.ts);
 *   3. no binaries, running as root with apt-get -> install redis-server / postgresql (debian.ts), then step 2;
 *   4. otherwise throw an Error that says exactly what to do.
 *
 * Importing this module has no side effects.
 */
import { ensureDatabase } from './databases.js';
import { canInstall, installPackages } from './debian.js';
import { hasPostgresBinaries, startLocalPostgres, trustLoopbackOnDebianCluster } from './postgres.js';
import { PG_AUTH_FAILURES, PG_MISSING_DATABASE, probePostgres, probeRedis, waitFor } from './probe.js';
import { REDIS_START_TIMEOUT_MS, findRedisServer, startLocalRedis } from './redis.js';
import { defaultLogger, type Logger } from './system.js';
import { DEFAULT_DATABASE_URL, DEFAULT_REDIS_URL, isLoopbackHost, parseServiceUrl, redact, withDatabase } from './urls.js';

export { DEFAULT_DATABASE_URL, DEFAULT_REDIS_URL, isLoopbackHost, redact } from './urls.js';
export { DATA_DIR, REPO_ROOT, displayPath, findBinary, type Logger } from './system.js';
export { probePostgres, probeRedis, type ProbeResult } from './probe.js';
export { startLocalRedis } from './redis.js';
export { findPgBin, findPgBinDir, listDebianClusters, startLocalPostgres, trustLoopbackOnDebianCluster, type DebianCluster } from './postgres.js';
export {
  createNamedDatabase,
  createTestDatabase,
  dropDatabase,
  dropDatabasesStartingWith,
  ensureDatabase,
  listDatabasesStartingWith,
} from './databases.js';
export { canInstall, installPackages } from './debian.js';
export { listLocalServers, stopLocalServices, type LocalServer } from './local.js';

export interface EnsureServicesOptions {
  /** Ensure Redis (default true). */
  redis?: boolean;
  /** Ensure PostgreSQL (default true). */
  postgres?: boolean;
  /** Progress messages; defaults to stderr with a "[services]" prefix. */
  logger?: Logger;
  /** Allow `apt-get install` when running as root and binaries are missing (default true). */
  allowInstall?: boolean;
  /** Override REDIS_URL from the environment. */
  redisUrl?: string;
  /** Override DATABASE_URL from the environment. */
  databaseUrl?: string;
}

export interface EnsureServicesResult {
  redisUrl: string;
  databaseUrl: string;
  /** Human-readable descriptions of what was started (empty when everything already answered). */
  started: string[];
}

function whatToDo(problems: string[]): string {
  return [
    ...problems,
    '',
    'Do one of:',
    '  - point the URLs at running servers:   export REDIS_URL=redis://HOST:6379 DATABASE_URL=postgres://USER@HOST:5432/DB',
    '  - install the servers (they are then started automatically, data under .data/):',
    '        sudo apt-get install -y redis-server postgresql        (Debian/Ubuntu)',
    '        brew install redis postgresql@15                         (macOS)',
    '  - run them in containers:               docker compose up -d redis postgres',
    '',
    'See docs/services.md.',
  ].join('\n');
}

/** Make sure Redis and/or Postgres answer at their URLs, starting or installing them locally when possible. */
export async function ensureServices(opts: EnsureServicesOptions = {}): Promise<EnsureServicesResult> {
  const logger = opts.logger ?? defaultLogger;
  const wantRedis = opts.redis ?? true;
  const wantPg = opts.postgres ?? true;
  const redisUrl = opts.redisUrl ?? (process.env.REDIS_URL || DEFAULT_REDIS_URL);
  const databaseUrl = opts.databaseUrl ?? (process.env.DATABASE_URL || DEFAULT_DATABASE_URL);
  const redis = parseServiceUrl(redisUrl, 6379);
  const db = parseServiceUrl(databaseUrl, 5432);
  const started: string[] = [];

  const [redisProbe, pgProbe] = await Promise.all([
    wantRedis ? probeRedis(redisUrl) : null,
    wantPg ? probePostgres(databaseUrl) : null,
  ]);
  if (redisProbe?.ok) logger(`redis answers at ${redact(redisUrl)}`);
  if (pgProbe?.ok) logger(`postgres answers at ${redact(databaseUrl)}`);

  let needRedis = redisProbe !== null && !redisProbe.ok;
  // A Postgres that answers but refuses (missing database, auth) needs no new server: ensureDatabase deals with it.
  let needPg = pgProbe !== null && !pgProbe.ok && !pgProbe.answered;

  if (needRedis && redisProbe?.answered) {
    // Something speaking Redis answered but refused us: starting another server would not help.
    const ready = redisProbe.code === 'LOADING' ? await waitFor(() => probeRedis(redisUrl), REDIS_START_TIMEOUT_MS) : redisProbe;
    if (!ready.ok) {
      throw new Error(`Redis at ${redact(redisUrl)} answers but refuses: ${ready.error}\nFix REDIS_URL (password?) or the server's configuration.`);
    }
    needRedis = false;
  }

  // Remote URLs that do not answer are a configuration problem we cannot fix locally.
  const remoteProblems: string[] = [];
  if (needRedis && !isLoopbackHost(redis.host)) {
    remoteProblems.push(`Redis does not answer at ${redact(redisUrl)} (${redisProbe?.error}); it is not a local address, so nothing can be started for it.`);
  }
  if (needPg && !isLoopbackHost(db.host)) {
    remoteProblems.push(`Postgres does not answer at ${redact(databaseUrl)} (${pgProbe?.error}); it is not a local address, so nothing can be started for it.`);
  }
  if (remoteProblems.length > 0) throw new Error(whatToDo(remoteProblems));

  // Binaries: install what is missing when allowed.
  let installedPostgres = false;
  const missing: string[] = [];
  if (needRedis && findRedisServer() === null) missing.push('redis-server');
  if (needPg && !(await hasPostgresBinaries(db.port))) missing.push('postgresql');
  if (missing.length > 0) {
    if (!canInstall(opts.allowInstall)) {
      const problems: string[] = [];
      if (missing.includes('redis-server')) {
        problems.push(`Redis does not answer at ${redact(redisUrl)} (${redisProbe?.error}) and redis-server is not installed.`);
      }
      if (missing.includes('postgresql')) {
        problems.push(`Postgres does not answer at ${redact(databaseUrl)} (${pgProbe?.error}) and no Postgres server binaries (initdb, pg_ctl) were found.`);
      }
      throw new Error(whatToDo(problems));
    }
    await installPackages(missing, logger);
    installedPostgres = missing.includes('postgresql');
    // the packages' own service start may already have brought the servers up
    if (needRedis) needRedis = !(await waitFor(() => probeRedis(redisUrl), 3000)).ok;
    if (needPg) {
      const probe = await probePostgres(databaseUrl);
      needPg = !probe.ok && !(probe.answered && probe.code === PG_MISSING_DATABASE);
    }
  }

  if (needRedis) started.push(await startLocalRedis(redisUrl, logger));
  if (needPg) started.push(await startLocalPostgres(databaseUrl, logger));
  if (wantPg) {
    if (installedPostgres) {
      const probe = await probePostgres(withDatabase(databaseUrl, 'postgres'));
      if (probe.answered && probe.code && PG_AUTH_FAILURES.has(probe.code)) await trustLoopbackOnDebianCluster(db.port, logger);
    }
    await ensureDatabase(databaseUrl, logger);
  }
  for (const s of started) logger(`started ${s}`);
  return { redisUrl, databaseUrl, started };
}
