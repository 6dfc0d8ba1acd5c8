/** Maintenance helpers: never on a request path. */
import type { Cluster, Redis } from 'ioredis';
import { isCluster, type RedisClient } from './redis-client.js';

/**
 * Deletes every key that starts with `prefix` (tests, benchmarks, tearing down
 * a whole deployment). Walks the keyspace with SCAN, on every master of a
 * Cluster, so it is for maintenance only.
 */
export async function deleteKeysByPrefix(client: RedisClient, prefix: string): Promise<number> {
  const cluster = isCluster(client);
  const nodes: Redis[] = cluster ? (client as Cluster).nodes('master') : [client as Redis];
  let deleted = 0;
  for (const node of nodes) {
    let cursor = '0';
    do {
      const [next, keys] = await node.scan(cursor, 'MATCH', `${prefix}*`, 'COUNT', 1000);
      cursor = next;
      if (keys.length === 0) continue;
      // On a Cluster a batch may span slots, so one key per UNLINK there.
      deleted += cluster
        ? (await Promise.all(keys.map((key) => node.unlink(key)))).reduce((a, b) => a + b, 0)
        : await node.unlink(...keys);
    } while (cursor !== '0');
  }
  return deleted;
}
