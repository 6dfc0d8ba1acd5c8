/**
 * Cost per watched event, measured from outside: one gateway process on a
 * Redis of its own, N events of 100 seats each with one watcher each; the
 * gateway's and Redis's CPU at rest, then under 100 holds/s each released
 * again (200 operations/s, on random events), with the hold→diff latency a
 * watcher sees (p50/p99). Used by `npm run bench:events` (bench/events.ts,
 * which can compare checkouts) and by the `events` figure of `npm run bench`.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import net from 'node:net';
import WebSocket from 'ws';
import { Redis } from 'ioredis';
import { decodeServerMessage, encodeMessage } from '../../core/protocol/index.js';
import { SeatStore } from '../../core/store/index.js';
import { mintDevToken } from '../../gateway/auth.js';
import { cpuSeconds, processUsage, usageSince } from '../load/process-stats.js';
import { createTestDatabase } from '../../scripts/services/index.js';
import { FAIRNESS_LIMITS_OFF } from '../../gateway/config.js';

const SECRET = 'bench-events-secret-0123456789';
const SUBS_PER_CONNECTION = 500;
const rules = { holdTtlMs: 60_000, maxHoldLifetimeMs: 120_000, maxSeatsPerToken: 4, maxSeatsPerHolder: 100_000 };
const baseDatabaseUrl = process.env.DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/postgres';

export interface EventsRow {
  label: string;
  events: number;
  idleGatewayPct: number;
  idleRedisPct: number;
  loadGatewayPct: number;
  loadRedisPct: number;
  p50: number;
  p99: number;
  diffs: number;
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

function freePort(): Promise<number> {
  return new Promise((resolve) => {
    const server = net.createServer();
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address() as net.AddressInfo;
      server.close(() => resolve(port));
    });
  });
}

function startRedis(port: number): ChildProcess {
  return spawn('redis-server', ['--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no'], { stdio: 'ignore' });
}

async function redisCpu(redis: Redis): Promise<number> {
  const info = await redis.info('cpu');
  const get = (k: string) => Number(new RegExp(`${k}:([\\d.]+)`).exec(info)?.[1] ?? 0);
  return get('used_cpu_user') + get('used_cpu_sys');
}

async function waitReady(child: ChildProcess): Promise<number> {
  return new Promise((resolve, reject) => {
    let buffer = '';
    const onData = (chunk: Buffer) => {
      buffer += chunk.toString();
      const line = buffer.split('\n').find((l) => l.includes('gateway node ready'));
      if (line) {
        child.stdout!.off('data', onData);
        resolve(Number(JSON.parse(line).port));
      }
    };
    child.stdout!.on('data', onData);
    child.once('exit', (code) => reject(new Error(`gateway exited with ${code}: ${buffer.slice(-2000)}`)));
  });
}

/** One measurement: the gateway of checkout `dir` with `events` watched events, at rest and then under 200 operations/s. */
export async function measureEvents(dir: string, label: string, events: number, { idleS: IDLE_S, loadS: LOAD_S }: { idleS: number; loadS: number }): Promise<EventsRow> {
  const redisPort = await freePort();
  const redisChild = startRedis(redisPort);
  const redisUrl = `redis://127.0.0.1:${redisPort}`;
  const redis = new Redis(redisUrl, { enableAutoPipelining: true, retryStrategy: () => 50 });
  redis.on('error', () => undefined);
  while ((await redis.ping().catch(() => '')) !== 'PONG') await sleep(50);
  const db = await createTestDatabase(baseDatabaseUrl, 'seatmap_bench_');
  const prefix = 'bench:';
  const store = new SeatStore({ redis, prefix });
  const ids = Array.from({ length: events }, (_, i) => `ev${i}`);
  for (let i = 0; i < ids.length; i += 500) await Promise.all(ids.slice(i, i + 500).map((eventId) => store.createEvent({ eventId, seatCount: 100, rules })));

  // BENCH_GATEWAY_NODE_ARGS: extra node flags for the gateway (e.g. --cpu-prof --cpu-prof-dir=/tmp/prof)
  const nodeArgs = process.env.BENCH_GATEWAY_NODE_ARGS?.split(' ').filter(Boolean) ?? [];
  const gateway = spawn(process.execPath, [...nodeArgs, '--import', 'tsx', 'gateway/main.ts'], {
    cwd: dir,
    env: {
      ...process.env,
      REDIS_URL: redisUrl,
      REDIS_CLUSTER_NODES: '',
      DATABASE_URL: db.url,
      KEY_PREFIX: prefix,
      PORT: '0',
      DEMO: '0',
      JWT_SECRET: SECRET,
      LOG_LEVEL: 'info',
      MAX_SUBSCRIPTIONS: String(SUBS_PER_CONNECTION),
      OPS_PER_SECOND: '100000',
      OPS_BURST: '100000',
      // one subject watches every event over many connections, on purpose
      ...FAIRNESS_LIMITS_OFF,
    },
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  const port = await waitReady(gateway);
  const token = await mintDevToken(SECRET, { sub: 'watcher', scope: 'seats:read' });

  // one watcher per event: SUBS_PER_CONNECTION subscriptions per connection
  const latencies: number[] = [];
  const waiting = new Map<string, { seq: number; at: number }[]>();
  let diffs = 0;
  const sockets: WebSocket[] = [];
  for (let c = 0; c * SUBS_PER_CONNECTION < events; c++) {
    const mine = ids.slice(c * SUBS_PER_CONNECTION, (c + 1) * SUBS_PER_CONNECTION);
    await new Promise<void>((resolve, reject) => {
      const ws = new WebSocket(`ws://127.0.0.1:${port}/ws`, ['seatmap.v1', `bearer.${token}`]);
      sockets.push(ws);
      let acked = 0;
      ws.on('error', reject);
      // a refused connection (a limit, a bad token) ends the run instead of waiting for oks that never come
      ws.on('close', (code, reason) => reject(new Error(`watcher connection ${c} closed ${code} ${reason.toString()} after ${acked} of ${mine.length} subs`)));
      ws.on('message', (data: Buffer) => {
        const m = decodeServerMessage(data);
        if (m.t === 'hello') mine.forEach((ev, i) => ws.send(encodeMessage({ t: 'sub', rid: i + 1, ev })));
        else if (m.t === 'ok' && ++acked === mine.length) resolve();
        else if (m.t === 'err' && acked < mine.length) reject(new Error(`a sub was refused: ${JSON.stringify(m)}`));
        else if (m.t === 'diff') {
          diffs++;
          const list = waiting.get(m.ev);
          if (!list) return;
          const now = performance.now();
          while (list.length > 0 && list[0]!.seq <= m.to) latencies.push(now - list.shift()!.at);
        }
      });
    });
  }
  // start-up work done (rooms loaded; the flusher has made every outbox's group and event row), then the window at rest
  const pg = new (await import('pg')).default.Client({ connectionString: db.url });
  await pg.connect();
  for (const deadline = Date.now() + 180_000; Date.now() < deadline; await sleep(500)) {
    const rows = await pg.query('SELECT count(*)::int AS n FROM events').catch(() => ({ rows: [{ n: 0 }] }));
    if (rows.rows[0].n >= events) break;
  }
  await pg.end();
  await sleep(3000);
  const pid = gateway.pid!;
  let g0 = processUsage(pid);
  let r0 = await redisCpu(redis);
  let t0 = performance.now();
  for (let s = 0; s < IDLE_S; s++) {
    const g = processUsage(pid);
    await sleep(1000);
    if (process.env.BENCH_TRACE) console.error(`  idle second ${s}: gateway ${(100 * cpuSeconds(usageSince(pid, g))).toFixed(1)}%`);
  }
  const idleS = (performance.now() - t0) / 1000;
  const idleGatewayPct = (100 * cpuSeconds(usageSince(pid, g0))) / idleS;
  const idleRedisPct = (100 * ((await redisCpu(redis)) - r0)) / idleS;

  // 100 holds/s, each released 100 ms later, on random events
  g0 = processUsage(pid);
  r0 = await redisCpu(redis);
  t0 = performance.now();
  const total = 100 * LOAD_S;
  const pending: Promise<unknown>[] = [];
  for (let i = 0; i < total; i++) {
    const due = t0 + i * 10;
    const wait = due - performance.now();
    if (wait > 1) await sleep(wait);
    const eventId = ids[Math.floor(Math.random() * ids.length)]!;
    const holder = `h${i}`;
    const at = performance.now();
    pending.push(
      store.hold({ eventId, holder, seats: [i % 100] }).then(async (r) => {
        if (!r.ok) return;
        const list = waiting.get(eventId) ?? [];
        list.push({ seq: r.seq, at });
        waiting.set(eventId, list);
        await sleep(100);
        await store.release({ eventId, holder, token: r.token });
      }),
    );
  }
  await Promise.all(pending);
  const loadS = (performance.now() - t0) / 1000;
  const loadGatewayPct = (100 * cpuSeconds(usageSince(pid, g0))) / loadS;
  const loadRedisPct = (100 * ((await redisCpu(redis)) - r0)) / loadS;
  await sleep(500);

  for (const ws of sockets) ws.terminate();
  const exited = new Promise((r) => gateway.once('exit', r));
  gateway.kill('SIGTERM');
  await exited;
  await redis.quit();
  redisChild.kill('SIGTERM');
  await db.drop();
  latencies.sort((a, b) => a - b);
  const q = (p: number) => latencies[Math.min(latencies.length - 1, Math.floor(p * latencies.length))] ?? NaN;
  return { label, events, idleGatewayPct, idleRedisPct, loadGatewayPct, loadRedisPct, p50: q(0.5), p99: q(0.99), diffs };
}

