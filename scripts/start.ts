/**
 * `npm start`: finds Redis and Postgres (or starts local ones, see
 * docs/services.md), then runs the gateway in the foreground: a process per
 * core sharing the port (WORKERS, default the machine's cores; WORKERS=1 is
 * one process, as gateway/main.ts alone runs).
 * REDIS_CLUSTER=1 also starts a local 3-master Redis Cluster from the
 * redis-server binary and runs the gateway on it (REDIS_CLUSTER_NODES).
 */
import { availableParallelism } from 'node:os';
import { ensureServices } from './services/index.js';
import { startLocalCluster } from './services/redis-cluster.js';

try {
  const services = await ensureServices({ redis: true, postgres: true, logger: (msg) => console.error(`[services] ${msg}`) });
  process.env.REDIS_URL = services.redisUrl;
  process.env.DATABASE_URL = services.databaseUrl;
  if (/^(1|true|yes)$/.test(process.env.REDIS_CLUSTER ?? '') && !process.env.REDIS_CLUSTER_NODES) {
    // child processes of this one: the Cluster goes when the gateway does
    const cluster = await startLocalCluster({ masters: 3 });
    process.env.REDIS_CLUSTER_NODES = cluster.ports.map((port) => `127.0.0.1:${port}`).join(',');
    console.error(`[services] local 3-master Redis Cluster at ${process.env.REDIS_CLUSTER_NODES} (gone when the gateway stops)`);
  }
} catch (err) {
  console.error(err instanceof Error ? err.message : err);
  process.exit(1);
}
process.env.WORKERS ||= String(availableParallelism());
await import('../gateway/main.js');
