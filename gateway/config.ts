/** Gateway configuration from the environment, validated once at start-up. */
import { z } from 'zod';

const positiveInt = z.coerce.number().int().positive();

const schema = z.object({
  REDIS_URL: z.string().url().default('redis://127.0.0.1:6379'),
  DATABASE_URL: z.string().default('postgres://postgres@127.0.0.1:5432/postgres'),
  KEY_PREFIX: z.string().min(1).max(64).default('seatmap:'),
  REDIS_CONNECTIONS: positiveInt.max(32).default(4),
  PORT: positiveInt.max(65535).default(9001),
  DEMO_EVENT_ID: z.string().regex(/^[A-Za-z0-9_.-]{1,64}$/).default('demo'),
  DEMO_SEATS: positiveInt.min(100).max(200_000).default(20_000),
  DEMO_SEED: positiveInt.default(1),
  SWEEP_INTERVAL_MS: positiveInt.max(1000).default(200),
  LOG_LEVEL: z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']).default('info'),
});

export type GatewayConfig = {
  redisUrl: string;
  databaseUrl: string;
  keyPrefix: string;
  /** Redis connections the store spreads holder operations over */
  redisConnections: number;
  port: number;
  demo: { eventId: string; seats: number; seed: number };
  sweepIntervalMs: number;
  logLevel: z.infer<typeof schema>['LOG_LEVEL'];
};

/** Reads the configuration; throws an Error naming every invalid variable. */
export function loadConfig(env: NodeJS.ProcessEnv = process.env): GatewayConfig {
  const parsed = schema.safeParse(Object.fromEntries(Object.entries(env).filter(([, v]) => v !== '')));
  if (!parsed.success) {
    const problems = parsed.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`).join('; ');
    throw new Error(`invalid configuration: ${problems}`);
  }
  const c = parsed.data;
  return {
    redisUrl: c.REDIS_URL,
    databaseUrl: c.DATABASE_URL,
    keyPrefix: c.KEY_PREFIX,
    redisConnections: c.REDIS_CONNECTIONS,
    port: c.PORT,
    demo: { eventId: c.DEMO_EVENT_ID, seats: c.DEMO_SEATS, seed: c.DEMO_SEED },
    sweepIntervalMs: c.SWEEP_INTERVAL_MS,
    logLevel: c.LOG_LEVEL,
  };
}
