/**
 * Vitest global setup: find or start Redis and Postgres (see scripts/services/) before any test file runs,
 * and find or install Chromium for the browser tests (scripts/chromium.ts; without it they are skipped).
 *
 * The URLs reach the test files two ways: as REDIS_URL / DATABASE_URL in the environment (workers are
 * spawned after this runs and inherit it) and through vitest's provide/inject (see test/support/env.ts).
 * Servers started here are left running on purpose so the next run finds them; `npm run services -- stop`
 * stops them.
 *
 * A local 3-master Redis Cluster is started too (scripts/services/redis-cluster.ts, from the
 * redis-server binary) for the Cluster target of the end-to-end suites (test/support/targets.ts), and
 * stopped at teardown; TEST_REDIS_CLUSTER_NODES=host:port,... uses a running Cluster instead, and
 * TEST_REDIS_CLUSTER=0 leaves the Cluster target out.
 *
 * The teardown fails the run (exit code 1) when the run left Redis keys or databases behind
 * (test/support/leaks.ts).
 */
import type { TestProject } from 'vitest/node';
import { randomBytes } from 'node:crypto';
import { ensureChromium } from '../scripts/chromium.js';
import { dropDatabasesStartingWith, ensureServices } from '../scripts/services/index.js';
import { onPath, startLocalCluster, type LocalCluster } from '../scripts/services/redis-cluster.js';
import { mkdirSync, writeFileSync } from 'node:fs';
import { describeLeftovers, findLeftovers, removeLeftovers } from './support/leaks.js';
import { testDatabasePrefix } from './support/run.js';
import './support/env.js'; // ProvidedContext typing

export async function setup(project: TestProject): Promise<() => Promise<void>> {
  const { redisUrl, databaseUrl } = await ensureServices({
    redis: true,
    postgres: true,
    logger: (msg) => process.stderr.write(`[global-setup] ${msg}\n`),
  });
  process.env.REDIS_URL = redisUrl;
  process.env.DATABASE_URL = databaseUrl;
  const browser = await ensureChromium({ logger: (msg) => process.stderr.write(`[global-setup] ${msg}\n`) });
  if (browser.installed) process.stderr.write(`[global-setup] installed Chromium at ${browser.path}\n`);
  if (!browser.available) process.stderr.write(`[global-setup] browser tests will be skipped: ${browser.reason}\n`);
  // names this run's key prefixes and databases (test/support/run.ts), so that teardown finds exactly
  // what this run left (other runs may share the servers)
  process.env.SEATMAP_TEST_RUN = randomBytes(4).toString('hex');
  project.provide('redisUrl', redisUrl);
  project.provide('databaseUrl', databaseUrl);
  project.provide('redisClusterNodes', await testCluster());
  return teardown;
}

let localCluster: LocalCluster | undefined;

/** The seeds of the Cluster the Cluster target runs on ('' when there is none). */
async function testCluster(): Promise<string> {
  if (process.env.TEST_REDIS_CLUSTER === '0') return '';
  if (process.env.TEST_REDIS_CLUSTER_NODES) return process.env.TEST_REDIS_CLUSTER_NODES;
  if (!onPath('redis-server') || !onPath('redis-cli')) {
    process.stderr.write('[global-setup] redis-server and redis-cli are not on PATH: the Redis Cluster target is skipped\n');
    return '';
  }
  localCluster = await startLocalCluster({ masters: 3 });
  process.stderr.write(`[global-setup] a local 3-master Redis Cluster answers at ${localCluster.ports.map((p) => `127.0.0.1:${p}`).join(',')}\n`);
  return localCluster.ports.map((p) => `127.0.0.1:${p}`).join(',');
}

export async function teardown(): Promise<void> {
  await localCluster?.stop();
  // Local servers keep running for the next command (stop them with `npm run services -- stop`);
  // the gateway databases of this run are dropped. Anything else of this run still there is a leak.
  const { REDIS_URL: redisUrl, DATABASE_URL: databaseUrl, SEATMAP_TEST_RUN: run } = process.env;
  if (!redisUrl || !databaseUrl || !run) return;
  await dropDatabasesStartingWith(databaseUrl, testDatabasePrefix(run));
  const left = await findLeftovers(redisUrl, databaseUrl, run);
  if (left.keys.length === 0 && left.databases.length === 0) return;
  const report = describeLeftovers(run, left);
  process.stderr.write(`\n${report}\n\n`);
  // kept in a file too: the console report is easily lost among a long run's output
  mkdirSync('test-results', { recursive: true });
  writeFileSync('test-results/leftovers.txt', `${report}\n`);
  await removeLeftovers(redisUrl, databaseUrl, left);
  // vitest reports a throwing teardown but still exits 0; the exit code is what fails `npm test` and CI
  process.exitCode = 1;
}

export default setup;
