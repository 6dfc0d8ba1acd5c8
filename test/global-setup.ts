/**
 * Vitest global setup: find or start Redis and Postgres (see scripts/services.ts) before any test file runs.
 *
 * The URLs reach the test files two ways: as REDIS_URL / DATABASE_URL in the environment (workers are
 * spawned after this runs and inherit it) and through vitest's provide/inject (see test/support/env.ts).
 * Servers started here are left running on purpose so the next run finds them; `npm run services -- stop`
 * stops them.
 */
import type { TestProject } from 'vitest/node';
import { randomBytes } from 'node:crypto';
import { dropDatabasesStartingWith, ensureServices } from '../scripts/services/index.js';
import { testDatabasePrefix } from './support/pg.js';
import './support/env.js'; // ProvidedContext typing

export async function setup(project: TestProject): Promise<() => Promise<void>> {
  const { redisUrl, databaseUrl } = await ensureServices({
    redis: true,
    postgres: true,
    logger: (msg) => process.stderr.write(`[global-setup] ${msg}\n`),
  });
  process.env.REDIS_URL = redisUrl;
  process.env.DATABASE_URL = databaseUrl;
  // names this run's gateway databases, so that teardown drops exactly those (other runs may share the server)
  process.env.SEATMAP_TEST_RUN = randomBytes(4).toString('hex');
  project.provide('redisUrl', redisUrl);
  project.provide('databaseUrl', databaseUrl);
  return teardown;
}

export async function teardown(): Promise<void> {
  // Local servers keep running for the next command (stop them with `npm run services -- stop`);
  // the gateway databases of this run are dropped.
  const databaseUrl = process.env.DATABASE_URL;
  if (databaseUrl && process.env.SEATMAP_TEST_RUN) await dropDatabasesStartingWith(databaseUrl, testDatabasePrefix());
}

export default setup;
