/**
 * The Redis targets the end-to-end suites run against, one suite for both
 * (`describe.each(redisTargets())`): the single test Redis, and the run's
 * local 3-master Redis Cluster (test/global-setup.ts) when there is one.
 * A target gives the gateway environment that points at it and a seat store
 * of its own for the test's setup.
 */
import { Cluster, type Redis } from 'ioredis';
import { SeatStore } from '../../core/store/index.js';
import { parseClusterNodes } from '../../gateway/config.js';
import { testClusterNodes } from './env.js';
import { newRedis } from './redis.js';

export interface RedisTarget {
  name: string;
  cluster: boolean;
  /** the gateway environment for this target (merged under a test's own) */
  env(): Record<string, string>;
  /** a client of this target (the caller quits it) */
  client(): Redis | Cluster;
}

const single: RedisTarget = {
  name: 'one Redis',
  cluster: false,
  env: () => ({}),
  client: () => newRedis(),
};

const cluster: RedisTarget = {
  name: 'a 3-master Redis Cluster',
  cluster: true,
  env: () => ({ REDIS_CLUSTER_NODES: testClusterNodes()! }),
  client: () => new Cluster(parseClusterNodes(testClusterNodes()!), { enableAutoPipelining: true, redisOptions: { maxRetriesPerRequest: 3 } }),
};

/** The targets of this run: one Redis always, the Cluster when the run has one. */
export function redisTargets(): RedisTarget[] {
  return testClusterNodes() ? [single, cluster] : [single];
}

/** A seat store on a target, with its own client. */
export function targetStore(target: RedisTarget, prefix: string): { store: SeatStore; close(): Promise<void> } {
  const client = target.client();
  return {
    store: new SeatStore({ redis: client, prefix }),
    close: async () => void (await client.quit().catch(() => client.disconnect())),
  };
}
