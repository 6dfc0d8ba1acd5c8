/**
 * The Redis connections of one gateway node, on a single Redis (REDIS_URL)
 * or on a Redis Cluster (REDIS_CLUSTER_NODES): the store's, the change
 * feed's reader and subscriber, and the booking flusher's. Each part gets the
 * same kind of client on either target; the parts take their Cluster paths
 * themselves (core/store/redis-client.ts isCluster). docs/scaling.md lists
 * what each part reads and writes where.
 */
import { Cluster, Redis, type ClusterOptions, type RedisOptions } from 'ioredis';
import type { Logger } from 'pino';
import type { RedisClient } from '../core/store/index.js';
import type { GatewayConfig } from './config.js';

export interface NodeConnections {
  /** the store's connection (scripts, reads) */
  store: RedisClient;
  /** further store connections holder operations are spread over (a single Redis only: a Cluster client already has one connection per master) */
  extra: RedisClient[];
  /** the change feed's log reads */
  feedReader: RedisClient;
  /** the change signals (subscriber mode; on a Cluster one shard subscriber per master) */
  feedSubscriber: RedisClient;
  /** the booking flusher's */
  flusher: RedisClient;
  /** the holders' Pub/Sub channels: tok and tokend (gateway/holder-notices.ts), in subscriber mode */
  holders: RedisClient;
  /** every connection, for closing */
  all(): RedisClient[];
}

/**
 * The store's connections: every command is bounded (REDIS_COMMAND_TIMEOUT_MS; the server answers
 * the client INTERNAL, retryable), a command issued while the connection is down fails at once
 * instead of waiting in the offline queue for Redis to come back, and commands in flight when the
 * connection was lost are not re-sent after the reconnect: an operation already answered INTERNAL
 * must not run later, nor one that may have run once run again.
 */
export function storeConnectionOptions(config: Pick<GatewayConfig, 'redisCommandTimeoutMs'>): RedisOptions {
  return {
    enableAutoPipelining: true,
    autoPipeliningIgnoredCommands: [...SUBCOMMAND_KEYED],
    commandTimeout: config.redisCommandTimeoutMs,
    enableOfflineQueue: false,
    autoResendUnfulfilledCommands: false,
  };
}

/** Commands ioredis cannot place in a slot when it auto-pipelines them on a Cluster. */
export const SUBCOMMAND_KEYED = ['xgroup', 'xinfo'] as const;

interface Role {
  name: string;
  options: RedisOptions;
  cluster?: Partial<ClusterOptions>;
}

export async function openConnections(config: GatewayConfig, logger: Logger): Promise<NodeConnections> {
  const open = async ({ name, options, cluster }: Role): Promise<RedisClient> => {
    const connectionName = `seatmap-${name}`;
    let client: RedisClient;
    if (config.redisCluster) {
      const { enableAutoPipelining, enableOfflineQueue, autoPipeliningIgnoredCommands, ...perNode } = options;
      client = new Cluster(config.redisCluster, {
        lazyConnect: true,
        enableAutoPipelining: enableAutoPipelining ?? false,
        ...(autoPipeliningIgnoredCommands && { autoPipeliningIgnoredCommands }),
        // the cluster client waits for its slot map; a command then still fails within the command timeout
        enableOfflineQueue: enableOfflineQueue ?? true,
        redisOptions: { connectionName, ...perNode },
        ...cluster,
      });
    } else {
      client = new Redis(config.redisUrl, { lazyConnect: true, connectionName, ...options });
    }
    client.on('error', (err) => logger.warn({ err, connection: name }, 'redis connection error'));
    await client.connect();
    return client;
  };
  const storeOptions = storeConnectionOptions(config);
  const storeCount = config.redisCluster ? 1 : config.redisConnections;
  const [store, ...extra] = await Promise.all(Array.from({ length: storeCount }, (_, i) => open({ name: `store-${i}`, options: storeOptions })));
  // The change feed reads the logs that were signalled on a connection of its own (a read never waits
  // behind a client's command), the logs of one turn in one XREAD per slot. A read must fail on a lost
  // connection, not be re-sent with a stale position. The signals come on another connection, in
  // subscriber mode.
  const feedReader = await open({ name: 'feed', options: { enableAutoPipelining: false, autoResendUnfulfilledCommands: false } });
  // no ready check (INFO): a connection that reconnects in subscriber mode could not answer it
  const feedSubscriber = await open({ name: 'signals', options: { enableAutoPipelining: false, enableReadyCheck: false }, cluster: { shardedSubscribers: true } });
  // The flusher works in the background and retries; commands may wait for a reconnect, within the timeout.
  // Commands whose key follows a subcommand (XGROUP CREATE <key>, XINFO GROUPS <key>) are not
  // auto-pipelined: a Cluster client batches them by a slot it cannot tell, and a batch sent to the
  // wrong master answers MOVED to its callers instead of being redirected.
  const flusher = await open({
    name: 'flusher',
    options: { enableAutoPipelining: true, autoPipeliningIgnoredCommands: [...SUBCOMMAND_KEYED], commandTimeout: config.redisCommandTimeoutMs },
  });
  const holders = await open({ name: 'holders', options: { enableAutoPipelining: false } });
  return {
    store: store!,
    extra,
    feedReader,
    feedSubscriber,
    flusher,
    holders,
    all: () => [store!, ...extra, feedReader, feedSubscriber, flusher, holders],
  };
}
