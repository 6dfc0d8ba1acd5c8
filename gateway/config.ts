/** Gateway configuration from the environment, validated once at start-up. */
import { z } from 'zod';
import { EVENT_ID } from '../core/ids.js';

const positiveInt = z.coerce.number().int().positive();
const nonNegativeInt = z.coerce.number().int().nonnegative();
const bool = z
  .enum(['1', '0', 'true', 'false', 'yes', 'no'])
  .transform((v) => v === '1' || v === 'true' || v === 'yes');

const schema = z.object({
  REDIS_URL: z.string().url().default('redis://127.0.0.1:6379'),
  /** comma-separated host:port seeds of a Redis Cluster; set, it replaces REDIS_URL for every part of the node */
  REDIS_CLUSTER_NODES: z
    .string()
    .regex(/^\s*[^\s,:]+:\d{1,5}\s*(,\s*[^\s,:]+:\d{1,5}\s*)*$/, 'comma-separated host:port seeds')
    .optional(),
  DATABASE_URL: z.string().default('postgres://postgres@127.0.0.1:5432/postgres'),
  KEY_PREFIX: z.string().min(1).max(64).default('seatmap:'),
  REDIS_CONNECTIONS: positiveInt.max(32).default(4),
  /** a Redis command unanswered this long fails (the client gets INTERNAL); above the flusher's 250 ms blocking reads, which share the setting */
  REDIS_COMMAND_TIMEOUT_MS: positiveInt.min(500).max(60_000).default(2000),
  HOST: z.string().min(1).default('127.0.0.1'),
  PORT: nonNegativeInt.max(65535).default(9001),
  /** 1: share the port with other gateway processes (SO_REUSEPORT; the kernel spreads connections) */
  REUSE_PORT: bool.default(false),
  /** gateway processes sharing the port (gateway/workers.ts); npm start defaults it to the machine's cores */
  WORKERS: positiveInt.max(256).default(1),
  /** set by the supervisor in each of its processes: the process's number, 1..WORKERS (a `worker` label on its metrics) */
  WORKER_ID: positiveInt.max(256).optional(),
  /** the supervisor serves every worker's metrics on this port at /metrics (0: not served) */
  METRICS_PORT: nonNegativeInt.max(65535).default(0),
  /** 1: processes sharing a Redis elect one (a lease in Redis) to run the flusher, the sweeper and the lifecycle timers; set in workers */
  BACKGROUND_LEASE: bool.default(false),
  DEMO_EVENT_ID: z.string().regex(EVENT_ID).default('demo'),
  DEMO_SEATS: positiveInt.min(100).max(200_000).default(20_000),
  DEMO_SEED: positiveInt.default(1),
  /** 0 turns the demo event off */
  DEMO: bool.default(true),
  SWEEP_INTERVAL_MS: positiveInt.max(1000).default(200),
  LOG_LEVEL: z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']).default('info'),
  JWT_SECRET: z.string().min(16).optional(),
  JWKS_URL: z.string().url().optional(),
  JWT_ISSUER: z.string().optional(),
  JWT_AUDIENCE: z.string().optional(),
  JWKS_REFETCH_INTERVAL_MS: positiveInt.max(3_600_000).default(5000),
  JWKS_MAX_AGE_MS: positiveInt.default(600_000),
  ALLOW_ANONYMOUS: bool.default(true),
  TICK_MS: nonNegativeInt.max(1000).default(50),
  FEED_PACE_MS: nonNegativeInt.max(1000).default(5),
  /** watchers of a room sent its frame per event-loop turn; a room with more is published over several turns */
  ROOM_SLICE_WATCHERS: positiveInt.max(1_000_000).default(1000),
  MAX_FRAME_BYTES: positiveInt.min(1024).max(1 << 20).default(16 * 1024),
  OPS_PER_SECOND: positiveInt.max(100_000).default(50),
  OPS_BURST: positiveInt.max(100_000).default(100),
  MAX_CONNECTIONS: positiveInt.default(200_000),
  /** open connections of one JWT subject across every node; the next is closed with 4009 (0: no limit) */
  MAX_CONNECTIONS_PER_SUBJECT: nonNegativeInt.default(5),
  /** a node renews its connections' slots this often x 3; a crashed node's slots lapse after it */
  CONNECTION_LEASE_MS: positiveInt.min(3000).max(600_000).default(30_000),
  /** hold/release/extend of one holder on one event across all its connections and nodes (0: no bucket) */
  HOLDER_OPS_PER_SECOND: nonNegativeInt.max(100_000).default(10),
  HOLDER_OPS_BURST: positiveInt.max(100_000).default(20),
  /** WebSocket upgrades per client IP, per node: past them HTTP 429 (0: no limit) */
  UPGRADES_PER_IP_PER_SECOND: nonNegativeInt.max(1_000_000).default(20),
  UPGRADES_PER_IP_BURST: positiveInt.max(1_000_000).default(60),
  /** comma-separated addresses whose X-Forwarded-For is believed (load balancers, reverse proxies) */
  TRUSTED_PROXIES: z.string().default(''),
  /** how often the waiting rooms' admission advances (by one node at a time, under a lease) */
  ADMIT_INTERVAL_MS: positiveInt.min(50).max(60_000).default(500),
  /** how often a node reads the places of its waiting subjects (qpos is pushed at most every 2 s per socket) */
  QUEUE_POLL_MS: positiveInt.min(50).max(60_000).default(1000),
  MAX_SUBSCRIPTIONS: positiveInt.max(1000).default(16),
  // uWS refuses 1-8 (its timer resolution is 4 s)
  IDLE_TIMEOUT_S: nonNegativeInt.max(960).refine((v) => v === 0 || v > 8, { message: 'must be 0 (off) or more than 8' }).default(60),
  SLOW_CONSUMER_BYTES: positiveInt.default(1 << 20),
  SLOW_CONSUMER_GRACE_MS: positiveInt.default(10_000),
  MAX_BACKPRESSURE_BYTES: positiveInt.default(16 << 20),
  /** unsent bytes of all connections together; past it the heaviest slow connections are closed (4008) */
  OUTBOUND_BUDGET_BYTES: positiveInt.default(256 << 20),
  RESUME_WINDOW: positiveInt.default(100_000),
  ROOM_LINGER_MS: nonNegativeInt.default(30_000),
  ROOM_CHECK_MS: positiveInt.default(1000),
  SHUTDOWN_GRACE_MS: positiveInt.default(10_000),
  MAX_BODY_BYTES: positiveInt.default(64 << 20),
  MAX_BODY_BUFFER_BYTES: positiveInt.default(64 << 20),
  /** 0: this process runs no booking flusher (another process must) */
  FLUSHER: bool.default(true),
  FLUSH_BATCH_SIZE: positiveInt.max(10_000).default(500),
  BOOK_ACK_TIMEOUT_MS: positiveInt.max(600_000).default(10_000),
  REBUILD_CHECK_MS: nonNegativeInt.default(1000),
  /** the payment provider's HMAC secret for POST /bookings/:id/confirm|fail; unset: admin tokens only */
  PAYMENT_WEBHOOK_SECRET: z.string().min(16).optional(),
  PAYMENT_SIGNATURE_TOLERANCE_S: positiveInt.max(3600).default(300),
  /** how often unpaid checkouts past their payBy are expired (0: never, by this process) */
  PAYMENT_EXPIRY_CHECK_MS: nonNegativeInt.max(60_000).default(1000),
  /** how often seat releases Redis has not applied yet are retried (0: never, by this process) */
  RELEASE_RETRY_MS: nonNegativeInt.max(600_000).default(5000),
  /** 0: this process delivers no webhooks (another process must) */
  WEBHOOKS: bool.default(true),
  WEBHOOK_POLL_MS: positiveInt.max(60_000).default(500),
  WEBHOOK_TIMEOUT_MS: positiveInt.max(120_000).default(10_000),
  WEBHOOK_LEASE_MS: positiveInt.max(600_000).default(30_000),
  WEBHOOK_RETRY_BASE_MS: positiveInt.max(3_600_000).default(1000),
  WEBHOOK_RETRY_MAX_MS: positiveInt.max(86_400_000).default(300_000),
  WEBHOOK_RETRY_FOR_MS: positiveInt.max(30 * 86_400_000).default(86_400_000),
});

export type GatewayConfig = {
  redisUrl: string;
  /** seeds of a Redis Cluster (REDIS_CLUSTER_NODES); null: the single Redis at redisUrl */
  redisCluster: { host: string; port: number }[] | null;
  databaseUrl: string;
  keyPrefix: string;
  /** Redis connections the store spreads holder operations over */
  redisConnections: number;
  /** a command on a store connection unanswered this long fails (INTERNAL to the client) */
  redisCommandTimeoutMs: number;
  host: string;
  /** 0 picks a free port (tests) */
  port: number;
  /** share the port with other processes (SO_REUSEPORT) instead of failing when it is taken */
  reusePort: boolean;
  workers: {
    /** gateway processes sharing the port; more than 1 makes this process their supervisor */
    count: number;
    /** this process's number among them (set by the supervisor), or undefined */
    id?: number;
    /** where the supervisor serves all workers' metrics (0: nowhere) */
    metricsPort: number;
  };
  /** elect one process (a lease in Redis) for the background work instead of running it here in any case */
  backgroundLease: boolean;
  demo: { enabled: boolean; eventId: string; seats: number; seed: number };
  sweepIntervalMs: number;
  logLevel: z.infer<typeof schema>['LOG_LEVEL'];
  auth: {
    jwtSecret?: string;
    jwksUrl?: string;
    issuer?: string;
    audience?: string;
    allowAnonymous: boolean;
    /** least time between two fetches of the JWKS (a token naming an unknown key triggers one) */
    jwksRefetchIntervalMs: number;
    /** a JWKS older than this is fetched again before use */
    jwksMaxAgeMs: number;
  };
  /** diffs of a busy room are published at most once per tick; 0 publishes every change batch at once */
  tickMs: number;
  limits: {
    maxFrameBytes: number;
    opsPerSecond: number;
    opsBurst: number;
    maxConnections: number;
    maxSubscriptions: number;
    idleTimeoutSec: number;
    /** open connections per JWT subject across all nodes (0: none) */
    maxConnectionsPerSubject: number;
    connectionLeaseMs: number;
    /** the holder's token bucket per event, in Redis (0: none) */
    holderOpsPerSecond: number;
    holderOpsBurst: number;
    /** upgrades per client IP per node (0: none) */
    upgradesPerIpPerSecond: number;
    upgradesPerIpBurst: number;
    /** peers whose X-Forwarded-For names the client */
    trustedProxies: string[];
    /** unsent bytes at which a client is paused (unsubscribed until drained) */
    slowConsumerBytes: number;
    /** a paused client that has not drained after this long is closed (4008) */
    slowConsumerGraceMs: number;
    /** hard cap of unsent bytes per socket: past it uWS drops the socket */
    maxBackpressureBytes: number;
    /** unsent bytes of all sockets together: past it the heaviest slow ones are closed (4008) */
    outboundBudgetBytes: number;
    maxBodyBytes: number;
    /** request-body bytes buffered at once by the whole process (at least maxBodyBytes) */
    maxBodyBufferBytes: number;
  };
  rooms: {
    /** seat changes each room keeps in memory to serve resumes */
    resumeWindow: number;
    /** how long an empty room stays loaded (absorbs reconnect storms) */
    lingerMs: number;
    /** how often a room checks its event's epoch in Redis (rebuilt or deleted events) */
    checkMs: number;
    /** least time between two change-feed reads (a busy log is read in batches) */
    feedPaceMs: number;
    /** watchers sent a room's frame per event-loop turn (gateway/room-broadcast.ts) */
    sliceWatchers: number;
  };
  shutdownGraceMs: number;
  queue: {
    admitIntervalMs: number;
    pollMs: number;
  };
  bookings: {
    /** this process runs a booking flusher (outbox -> Postgres) */
    flusher: boolean;
    /** most outbox entries committed in one transaction */
    flushBatchSize: number;
    /** how long `book` waits for the Postgres commit before answering PENDING */
    ackTimeoutMs: number;
    /** how often events Postgres knows are checked for being lost by Redis (0 = only on demand) */
    rebuildCheckMs: number;
  };
  lifecycle: {
    /** HMAC secret of payment callbacks; undefined: only admin tokens may confirm or fail a payment */
    paymentSecret?: string;
    /** a signed callback's timestamp may be this far from now (s) */
    paymentToleranceS: number;
    /** how often unpaid checkouts are looked for (0: not by this process) */
    expiryCheckMs: number;
    /** how often seat releases Redis has not applied are retried (0: not by this process) */
    releaseRetryMs: number;
  };
  webhooks: {
    /** this process delivers webhooks */
    enabled: boolean;
    pollMs: number;
    /** one attempt's time limit */
    timeoutMs: number;
    /** how long a claimed delivery stays this process's (more than timeoutMs) */
    leaseMs: number;
    retryBaseMs: number;
    retryMaxMs: number;
    /** how long a failing delivery is retried before it is parked */
    retryForMs: number;
  };
};

/**
 * The settings that turn the on-sale fairness limits off (docs/onsale.md):
 * for tests and benchmarks that drive many connections from one address and
 * one subject on purpose.
 */
export const FAIRNESS_LIMITS_OFF = Object.freeze({
  MAX_CONNECTIONS_PER_SUBJECT: '0',
  HOLDER_OPS_PER_SECOND: '0',
  UPGRADES_PER_IP_PER_SECOND: '0',
});

/** Reads the configuration; throws an Error naming every invalid variable. */
export function loadConfig(env: NodeJS.ProcessEnv = process.env): GatewayConfig {
  const parsed = schema.safeParse(Object.fromEntries(Object.entries(env).filter(([, v]) => v !== '')));
  if (!parsed.success) {
    const problems = parsed.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`).join('; ');
    throw new Error(`invalid configuration: ${problems}`);
  }
  const c = parsed.data;
  if (c.WEBHOOK_LEASE_MS <= c.WEBHOOK_TIMEOUT_MS) {
    throw new Error(`invalid configuration: WEBHOOK_LEASE_MS (${c.WEBHOOK_LEASE_MS}) must be more than WEBHOOK_TIMEOUT_MS (${c.WEBHOOK_TIMEOUT_MS})`);
  }
  return {
    redisUrl: c.REDIS_URL,
    redisCluster: c.REDIS_CLUSTER_NODES ? parseClusterNodes(c.REDIS_CLUSTER_NODES) : null,
    databaseUrl: c.DATABASE_URL,
    keyPrefix: c.KEY_PREFIX,
    redisConnections: c.REDIS_CONNECTIONS,
    redisCommandTimeoutMs: c.REDIS_COMMAND_TIMEOUT_MS,
    host: c.HOST,
    port: c.PORT,
    reusePort: c.REUSE_PORT,
    workers: { count: c.WORKERS, id: c.WORKER_ID, metricsPort: c.METRICS_PORT },
    backgroundLease: c.BACKGROUND_LEASE,
    demo: { enabled: c.DEMO, eventId: c.DEMO_EVENT_ID, seats: c.DEMO_SEATS, seed: c.DEMO_SEED },
    sweepIntervalMs: c.SWEEP_INTERVAL_MS,
    logLevel: c.LOG_LEVEL,
    auth: {
      jwtSecret: c.JWT_SECRET,
      jwksUrl: c.JWKS_URL,
      issuer: c.JWT_ISSUER,
      audience: c.JWT_AUDIENCE,
      allowAnonymous: c.ALLOW_ANONYMOUS,
      jwksRefetchIntervalMs: c.JWKS_REFETCH_INTERVAL_MS,
      jwksMaxAgeMs: c.JWKS_MAX_AGE_MS,
    },
    tickMs: c.TICK_MS,
    limits: {
      maxFrameBytes: c.MAX_FRAME_BYTES,
      opsPerSecond: c.OPS_PER_SECOND,
      opsBurst: c.OPS_BURST,
      maxConnections: c.MAX_CONNECTIONS,
      maxSubscriptions: c.MAX_SUBSCRIPTIONS,
      idleTimeoutSec: c.IDLE_TIMEOUT_S,
      maxConnectionsPerSubject: c.MAX_CONNECTIONS_PER_SUBJECT,
      connectionLeaseMs: c.CONNECTION_LEASE_MS,
      holderOpsPerSecond: c.HOLDER_OPS_PER_SECOND,
      holderOpsBurst: c.HOLDER_OPS_BURST,
      upgradesPerIpPerSecond: c.UPGRADES_PER_IP_PER_SECOND,
      upgradesPerIpBurst: c.UPGRADES_PER_IP_BURST,
      trustedProxies: c.TRUSTED_PROXIES.split(',').map((p) => p.trim()).filter(Boolean),
      slowConsumerBytes: c.SLOW_CONSUMER_BYTES,
      slowConsumerGraceMs: c.SLOW_CONSUMER_GRACE_MS,
      maxBackpressureBytes: Math.max(c.MAX_BACKPRESSURE_BYTES, c.SLOW_CONSUMER_BYTES * 2),
      outboundBudgetBytes: c.OUTBOUND_BUDGET_BYTES,
      maxBodyBytes: c.MAX_BODY_BYTES,
      // one body of the largest size must fit
      maxBodyBufferBytes: Math.max(c.MAX_BODY_BUFFER_BYTES, c.MAX_BODY_BYTES),
    },
    rooms: { resumeWindow: c.RESUME_WINDOW, lingerMs: c.ROOM_LINGER_MS, checkMs: c.ROOM_CHECK_MS, feedPaceMs: c.FEED_PACE_MS, sliceWatchers: c.ROOM_SLICE_WATCHERS },
    shutdownGraceMs: c.SHUTDOWN_GRACE_MS,
    queue: { admitIntervalMs: c.ADMIT_INTERVAL_MS, pollMs: c.QUEUE_POLL_MS },
    bookings: { flusher: c.FLUSHER, flushBatchSize: c.FLUSH_BATCH_SIZE, ackTimeoutMs: c.BOOK_ACK_TIMEOUT_MS, rebuildCheckMs: c.REBUILD_CHECK_MS },
    lifecycle: {
      paymentSecret: c.PAYMENT_WEBHOOK_SECRET,
      paymentToleranceS: c.PAYMENT_SIGNATURE_TOLERANCE_S,
      expiryCheckMs: c.PAYMENT_EXPIRY_CHECK_MS,
      releaseRetryMs: c.RELEASE_RETRY_MS,
    },
    webhooks: {
      enabled: c.WEBHOOKS,
      pollMs: c.WEBHOOK_POLL_MS,
      timeoutMs: c.WEBHOOK_TIMEOUT_MS,
      leaseMs: c.WEBHOOK_LEASE_MS,
      retryBaseMs: c.WEBHOOK_RETRY_BASE_MS,
      retryMaxMs: c.WEBHOOK_RETRY_MAX_MS,
      retryForMs: c.WEBHOOK_RETRY_FOR_MS,
    },
  };
}

/** `host:port,host:port` -> seeds (the schema has checked the form). */
export function parseClusterNodes(list: string): { host: string; port: number }[] {
  return list.split(',').map((seed) => {
    const [host, port] = seed.trim().split(':') as [string, string];
    return { host, port: Number(port) };
  });
}
