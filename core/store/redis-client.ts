/**
 * The Redis client the store works with: a single Redis or a Redis Cluster
 * (ioredis), and the one test for which of the two it is. The store takes
 * different paths on a Cluster (the sweep index in its own slot, SCAN per
 * master, script preload per master), so every such branch asks here.
 */
import type { Cluster, Redis } from 'ioredis';

export type RedisClient = Redis | Cluster;

/** Whether `client` is an ioredis Cluster client (as opposed to one Redis). */
export function isCluster(client: RedisClient): client is Cluster {
  return client.isCluster === true;
}
