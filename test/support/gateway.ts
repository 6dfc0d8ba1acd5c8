/**
 * Gateways for tests: in this process (startTestGateway) or as a child
 * process the way users run it (spawnGateway), on the real test Redis, each
 * with its own key prefix. Their logs go to the running test's log file
 * (test/support/logs.ts), not to the terminal.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import pg from 'pg';
import { pino } from 'pino';
import { mintDevToken } from '../../gateway/auth.js';
import { FAIRNESS_LIMITS_OFF, loadConfig } from '../../gateway/config.js';
import { startGatewayNode, type GatewayNode } from '../../gateway/node.js';
import { generateVenue } from '../../core/layout/generate-venue.js';
import { createEventFromLayout } from '../../core/events.js';
import { deleteKeysByPrefix, type SeatStore } from '../../core/store/index.js';
import { testDatabaseUrl, testRedisUrl } from './env.js';
import { createNamedDatabase, testDatabasePrefix } from './pg.js';
import { deleteEvent as deleteDurably } from '../../core/bookings/delete-event.js';
import { newRedis } from './redis.js';
import { newPrefix } from './run.js';
import { gatewayLogDestination, logLine } from './logs.js';

export const TEST_JWT_SECRET = 'gateway-test-secret-0123456789';

export { newPrefix } from './run.js';

export interface TestGateway {
  node: GatewayNode;
  store: SeatStore;
  prefix: string;
  wsUrl: string;
  httpUrl: string;
  stop(): Promise<void>;
}

/**
 * The Postgres database of the gateways of one key prefix (created on first
 * use, dropped by the global teardown). Event ids such as `e1` repeat across
 * test files; one database per prefix keeps their bookings apart, and the
 * gateways of one prefix (several nodes, a restart) share theirs.
 */
export function testDatabaseFor(prefix: string): Promise<string> {
  let db = prefixDatabases.get(prefix);
  if (!db) {
    db = createNamedDatabase(testDatabaseUrl(), `${testDatabasePrefix()}${prefix.toLowerCase().replace(/[^a-z0-9]+/g, '_')}`.slice(0, 63));
    prefixDatabases.set(prefix, db);
  }
  return db;
}

const prefixDatabases = new Map<string, Promise<string>>();

/**
 * Deletes an event on purpose, as DELETE /events/:id does: marked deleted in
 * the gateways' Postgres first, so their lost-event recovery does not rebuild it.
 */
export async function deleteEventOnPurpose(gw: { prefix: string; store: SeatStore }, eventId: string): Promise<void> {
  const pool = new pg.Pool({ connectionString: await testDatabaseFor(gw.prefix), max: 1 });
  try {
    await deleteDurably(pool, gw.store, eventId);
  } finally {
    await pool.end();
  }
}

/** Runs one query on the database of a prefix's gateways; resolves to the rows. */
export async function queryGatewayDb(prefix: string, sql: string, params: unknown[] = []): Promise<Record<string, unknown>[]> {
  const client = new pg.Client({ connectionString: await testDatabaseFor(prefix) });
  await client.connect();
  try {
    return (await client.query(sql, params)).rows;
  } finally {
    await client.end();
  }
}

/** Base environment of a test gateway; `env` overrides it. */
export function gatewayEnv(prefix: string, env: Record<string, string> = {}, databaseUrl = testDatabaseUrl()): Record<string, string> {
  return {
    REDIS_URL: testRedisUrl(),
    // the single test Redis unless a test runs on the Cluster target (test/support/targets.ts)
    REDIS_CLUSTER_NODES: '',
    DATABASE_URL: databaseUrl,
    KEY_PREFIX: prefix,
    HOST: '127.0.0.1',
    PORT: '0',
    DEMO: '0',
    JWT_SECRET: TEST_JWT_SECRET,
    LOG_LEVEL: 'warn',
    REDIS_CONNECTIONS: '2',
    // tests open many connections from one address and subject; the on-sale limits are tested on their own
    ...FAIRNESS_LIMITS_OFF,
    ...env,
  };
}

export async function startTestGateway(env: Record<string, string> = {}, prefix = newPrefix()): Promise<TestGateway> {
  const config = loadConfig(gatewayEnv(prefix, env, env.DATABASE_URL ?? (await testDatabaseFor(prefix))));
  const logger = pino({ level: config.logLevel }, gatewayLogDestination);
  const node = await startGatewayNode({ config, logger, demoLayout: () => generateVenue({ seats: 500, seed: 1, name: 'Test' }), defaultMetrics: false });
  // the test databases answer: start once the schema is there (a test that points elsewhere does not wait)
  if (!env.DATABASE_URL) await node.bookingsReady;
  return {
    node,
    store: node.store,
    prefix,
    wsUrl: `ws://127.0.0.1:${node.port}/ws`,
    httpUrl: `http://127.0.0.1:${node.port}`,
    async stop() {
      await node.stop();
    },
  };
}

export function token(sub: string, scope = 'seats:read seats:hold seats:book', ttlSec = 3600): Promise<string> {
  return mintDevToken(TEST_JWT_SECRET, { sub, scope, ttlSec });
}

/** Creates an event from a generated venue of `seats` seats. */
export async function createVenueEvent(store: SeatStore, eventId: string, seats: number, settings?: Record<string, number>): Promise<void> {
  const layout = generateVenue({ seats, seed: 7, name: eventId });
  if (settings) (layout as { settings?: unknown }).settings = settings;
  const created = await createEventFromLayout(store, eventId, layout);
  if (!created.ok) throw new Error(`cannot create ${eventId}: ${created.code}`);
}

export async function wipePrefix(prefix: string): Promise<void> {
  const redis = newRedis();
  await deleteKeysByPrefix(redis, prefix);
  await redis.quit();
}

export interface SpawnedGateway {
  child: ChildProcess;
  port: number;
  wsUrl: string;
  httpUrl: string;
  lines: string[];
  /** SIGTERM and wait for the exit code */
  stop(signal?: NodeJS.Signals): Promise<number | null>;
}

const SPAWN_READY_TIMEOUT_MS = 30_000;

/** Runs `gateway/main.ts` as its own process; resolves once it listens. */
export async function spawnGateway(prefix: string, env: Record<string, string> = {}): Promise<SpawnedGateway> {
  const databaseUrl = env.DATABASE_URL ?? (await testDatabaseFor(prefix));
  const child = spawn(process.execPath, ['--import', 'tsx', 'gateway/main.ts'], {
    env: { ...process.env, ...gatewayEnv(prefix, { LOG_LEVEL: 'info', ...env }, databaseUrl) },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const lines: string[] = [];
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  return new Promise((resolve, reject) => {
    let buffer = '';
    child.stdout!.on('data', (chunk: Buffer) => {
      buffer += chunk.toString();
      const parts = buffer.split('\n');
      buffer = parts.pop()!;
      for (const line of parts) {
        lines.push(line);
        logLine(line);
        if (line.includes('gateway node ready')) {
          const port = Number(JSON.parse(line).port);
          clearTimeout(notReady);
          resolve({
            child,
            port,
            wsUrl: `ws://127.0.0.1:${port}/ws`,
            httpUrl: `http://127.0.0.1:${port}`,
            lines,
            async stop(signal = 'SIGTERM') {
              if (child.exitCode === null) child.kill(signal);
              return exited;
            },
          });
        }
      }
    });
    child.stderr!.on('data', (chunk: Buffer) => {
      lines.push(chunk.toString());
      logLine(chunk.toString());
    });
    void exited.then((code) => reject(new Error(`gateway exited with ${code} before it was ready:\n${lines.join('\n')}`)));
    // never leave a process behind that did not come up (e.g. a LOG_LEVEL that hides the ready line)
    const notReady = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error(`gateway not ready within ${SPAWN_READY_TIMEOUT_MS} ms (it logs 'gateway node ready' at level info):\n${lines.join('\n')}`));
    }, SPAWN_READY_TIMEOUT_MS);
    notReady.unref();
    void exited.then(() => clearTimeout(notReady));
  });
}
