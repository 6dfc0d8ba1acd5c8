/** Service URLs for tests, as resolved by test/global-setup.ts. */
import { inject } from 'vitest';

declare module 'vitest' {
  export interface ProvidedContext {
    redisUrl: string;
    databaseUrl: string;
    /** seeds of the test run's Redis Cluster, '' when there is none */
    redisClusterNodes: string;
  }
}

/** Redis URL that answered (or was started) in global setup. */
export function testRedisUrl(): string {
  const url = inject('redisUrl') || process.env.REDIS_URL;
  if (!url) throw new Error('No Redis URL: run the tests through vitest with test/global-setup.ts (npm test)');
  return url;
}

/** Postgres URL that answered (or was started) in global setup. Prefer createTestDatabase() for tests that write. */
export function testDatabaseUrl(): string {
  const url = inject('databaseUrl') || process.env.DATABASE_URL;
  if (!url) throw new Error('No Postgres URL: run the tests through vitest with test/global-setup.ts (npm test)');
  return url;
}

/** Seeds (`host:port,...`) of the run's Redis Cluster (test/global-setup.ts), or null when the Cluster target is skipped. */
export function testClusterNodes(): string | null {
  return inject('redisClusterNodes') || null;
}
