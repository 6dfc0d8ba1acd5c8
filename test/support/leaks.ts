/**
 * What a test run left behind: the Redis keys under its prefix
 * (`test:<run>:*`) and the Postgres databases named with its run id, once
 * the global teardown has dropped the run's gateway databases. Every test
 * file removes what it made, so a clean run leaves nothing; the global
 * teardown reports whatever is found here and fails the run
 * (test/global-setup.ts). Runs beside this one are not looked at.
 */
import { Redis } from 'ioredis';
import pg from 'pg';
import { dropDatabase } from '../../scripts/services/index.js';
import { runKeyPrefix } from './run.js';

export interface Leftovers {
  keys: string[];
  databases: string[];
}

/** Keys of `run` still in Redis, sorted. */
export async function leftoverKeys(redisUrl: string, run: string): Promise<string[]> {
  const redis = new Redis(redisUrl, { maxRetriesPerRequest: 3 });
  try {
    const keys: string[] = [];
    const stream = redis.scanStream({ match: `${runKeyPrefix(run)}*`, count: 1000 });
    for await (const batch of stream) keys.push(...(batch as string[]));
    return [...new Set(keys)].sort();
  } finally {
    redis.disconnect();
  }
}

/** Databases whose name contains the run id, sorted. */
export async function leftoverDatabases(databaseUrl: string, run: string): Promise<string[]> {
  const client = new pg.Client({ connectionString: databaseUrl, connectionTimeoutMillis: 5000 });
  await client.connect();
  try {
    const res = await client.query<{ datname: string }>('SELECT datname FROM pg_database WHERE position($1 in datname) > 0 ORDER BY datname', [run]);
    return res.rows.map((r) => r.datname);
  } finally {
    await client.end();
  }
}

export async function findLeftovers(redisUrl: string, databaseUrl: string, run: string): Promise<Leftovers> {
  const [keys, databases] = await Promise.all([leftoverKeys(redisUrl, run), leftoverDatabases(databaseUrl, run)]);
  return { keys, databases };
}

/** Removes leftovers after they were reported, so that they do not pile up in the shared servers. */
export async function removeLeftovers(redisUrl: string, databaseUrl: string, left: Leftovers): Promise<void> {
  const redis = new Redis(redisUrl, { maxRetriesPerRequest: 3 });
  try {
    for (let i = 0; i < left.keys.length; i += 500) await redis.unlink(...left.keys.slice(i, i + 500));
  } finally {
    redis.disconnect();
  }
  for (const name of left.databases) await dropDatabase(databaseUrl, name);
}

/** The report printed when a run left something behind. */
export function describeLeftovers(run: string, left: Leftovers, shown = 40): string {
  const lines = [`This test run (${run}) left things behind: every test file must remove what it made.`];
  if (left.keys.length > 0) {
    lines.push(`  ${left.keys.length} Redis key(s) under ${runKeyPrefix(run)}:`);
    for (const key of left.keys.slice(0, shown)) lines.push(`    ${key}`);
    if (left.keys.length > shown) lines.push(`    … and ${left.keys.length - shown} more`);
  }
  if (left.databases.length > 0) {
    lines.push(`  ${left.databases.length} Postgres database(s):`);
    for (const name of left.databases) lines.push(`    ${name}`);
  }
  lines.push('They have been removed now; the run fails.');
  return lines.join('\n');
}
