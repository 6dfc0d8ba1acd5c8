/**
 * What every figure of `npm run bench` shares: a private Redis (so that its
 * command counts and CPU are the benchmark's alone), the key prefix, the
 * token secret, gateway processes with benchmark settings, and the figure's
 * result shape.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { execFileSync } from 'node:child_process';
import { Redis } from 'ioredis';
import { createEventFromLayout } from '../../core/events.js';
import { SeatStore } from '../../core/store/index.js';
import { mintToken } from '../../loadtest/lib/jwt.js';
import { MetricSink } from '../../loadtest/node/metrics.js';
import { nodePlatform } from '../../loadtest/node/platform.js';
import { startGatewayProcess, startServerProcess, type GatewayProcess } from '../../loadtest/node/gateway-process.js';
import { generateVenue } from '../../core/layout/generate-venue.js';
import { FAIRNESS_LIMITS_OFF } from '../../gateway/config.js';

export interface Row {
  figure: string;
  /** the headline number, as shown */
  value: string;
  /** the absolute numbers behind it */
  detail: string;
  goal: string;
  /** null: no goal */
  met: boolean | null;
}

export interface BenchContext {
  redisUrl: string;
  databaseUrl: string;
  redis: Redis;
  store: SeatStore;
  prefix: string;
  secret: string;
  /** open files one process may have here (the hard limit): caps connections per process */
  fileLimit: number;
  log(message: string): void;
}

export interface FigureResult {
  rows: Row[];
  /** what limits the figures on this machine, worked out from this run's numbers (docs/performance.md) */
  limits?: string[];
  /** only some of the figure's rows were measured (a narrowed run): printed, not published */
  partial?: boolean;
}

export type Figure = (ctx: BenchContext) => Promise<FigureResult>;

/** A Redis of the benchmark's own on a free port; falls back to REDIS_URL when redis-server is missing. */
export async function privateRedis(fallbackUrl: string, log: (m: string) => void): Promise<{ url: string; stop(): void }> {
  let port: number;
  try {
    execFileSync('redis-server', ['--version']);
    port = 20_000 + Math.floor(Math.random() * 10_000);
  } catch {
    log(`no redis-server: using ${fallbackUrl} (other clients' commands will show in the counts)`);
    return { url: fallbackUrl, stop() {} };
  }
  const child: ChildProcess = spawn('redis-server', ['--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no', '--maxclients', '50000'], { stdio: 'ignore' });
  const url = `redis://127.0.0.1:${port}`;
  const probe = new Redis(url, { lazyConnect: true, retryStrategy: () => 100, maxRetriesPerRequest: null });
  probe.on('error', () => undefined); // refused until the server is up: retried
  await probe.connect().catch(() => undefined);
  await probe.ping();
  await probe.quit();
  return { url, stop: () => child.kill('SIGTERM') };
}

export function newContext(redisUrl: string, databaseUrl: string, log: (m: string) => void): BenchContext {
  const redis = new Redis(redisUrl, { enableAutoPipelining: true });
  const prefix = `perf:${randomBytes(4).toString('hex')}:`;
  return {
    redisUrl,
    databaseUrl,
    redis,
    store: new SeatStore({ redis, prefix }),
    prefix,
    secret: randomBytes(16).toString('hex'),
    fileLimit: Number(execFileSync('sh', ['-c', 'ulimit -Hn'], { encoding: 'utf8' }).trim()) || 1024,
    log,
  };
}

/**
 * BENCH_CPU_PROF=<dir>: the servers under test write V8 CPU profiles there
 * when they stop (open them in Chrome's DevTools, Performance tab).
 */
function profiling(): string[] {
  const dir = process.env.BENCH_CPU_PROF;
  return dir ? ['--cpu-prof', `--cpu-prof-dir=${dir}`] : [];
}

/** A gateway process with limits out of the way of the load (the figures measure speed, not the rate limiter). */
export function benchGateway(ctx: BenchContext, env: Record<string, string> = {}): Promise<GatewayProcess> {
  return startGatewayProcess({
    REDIS_URL: ctx.redisUrl,
    DATABASE_URL: ctx.databaseUrl,
    KEY_PREFIX: ctx.prefix,
    PORT: '0',
    JWT_SECRET: ctx.secret,
    DEMO: '0',
    OPS_PER_SECOND: '100000',
    OPS_BURST: '100000',
    MAX_CONNECTIONS: '1000000',
    IDLE_TIMEOUT_S: '300',
    // thousands of watchers from one address under one subject, on purpose
    ...FAIRNESS_LIMITS_OFF,
    ...env,
  }, undefined, profiling());
}

export function socketIoBaseline(ctx: BenchContext): Promise<GatewayProcess> {
  return startServerProcess('loadtest/baseline/socketio-server.ts', { REDIS_URL: ctx.redisUrl, KEY_PREFIX: ctx.prefix, PORT: '0' }, undefined, profiling());
}

/** A generated venue of `seats` seats as a fresh event (ids never repeat: bookings outlive key prefixes). */
export async function venueEvent(ctx: BenchContext, name: string, seats: number): Promise<string> {
  const ev = `${name}-${randomBytes(3).toString('hex')}`;
  // one driver holds ~1,000 seats at a time: the per-holder limit must not refuse it
  const layout = { ...generateVenue({ seats, seed: 3, name }), settings: { maxSeatsPerToken: 10, maxSeatsPerHolder: 10_000 } };
  const created = await createEventFromLayout(ctx.store, ev, layout);
  if (!created.ok) throw new Error(`cannot create ${ev}: ${created.code}`);
  return ev;
}

export function token(ctx: BenchContext, sub: string, scope = 'seats:read seats:hold seats:book'): string {
  return mintToken(nodePlatform(new MetricSink()), ctx.secret, { sub, scope });
}

/** The most connections one process may hold here, keeping room for its other files. */
export function perProcessConnections(ctx: BenchContext): number {
  return ctx.fileLimit - 300;
}

export const fmt = (n: number, digits = 0) =>
  // `|| 0`: a value that rounds to zero prints as 0, not -0
  Number.isFinite(n) ? (Number(n.toFixed(digits)) || 0).toLocaleString('en-US', { maximumFractionDigits: digits, minimumFractionDigits: digits }) : 'n/a';

export const kib = (bytes: number) => `${fmt(bytes / 1024, 1)} KiB`;
export const mib = (bytes: number) => `${fmt(bytes / 2 ** 20)} MiB`;

export const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
