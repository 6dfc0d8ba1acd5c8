/**
 * Holds per second on a 3-master Redis Cluster against one Redis, on the same
 * machine in one run (npm run bench:cluster; a benchmark, not a test). The
 * seat store is driven directly, as the gateway drives it: `--events` events
 * spread over the slots, `--clients` callers each holding `--seats` seats and
 * releasing them again, for `--seconds` per target, each target twice,
 * alternating. The Cluster is started from the redis-server binary for the
 * run (scripts/services/redis-cluster.ts) and stopped at the end; the single
 * Redis is REDIS_URL's (scripts/with-services.ts sets it), under a random
 * prefix deleted at the end.
 *
 *   npm run bench:cluster [-- --events 30 --clients 64 --seconds 5 --seats 2]
 *
 * Also `WAIT 1 100` after every hold (a hold acknowledged only once a replica
 * has it, so a failover cannot lose it) against no WAIT, on a private primary
 * with one replica started for the run.
 *
 * Prints a table and the ratios of the best runs, and writes docs/bench/cluster.md.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { createServer } from 'node:net';
import { writeFileSync } from 'node:fs';
import os from 'node:os';
import { parseArgs } from 'node:util';
import { Cluster, Redis } from 'ioredis';
import { SeatStore, deleteKeysByPrefix, type RedisClient } from '../core/store/index.js';
import { findBinary } from '../scripts/services/index.js';
import { startLocalCluster } from '../scripts/services/redis-cluster.js';

const { values: opts } = parseArgs({
  options: {
    events: { type: 'string', default: '30' },
    clients: { type: 'string', default: '64' },
    seconds: { type: 'string', default: '5' },
    seats: { type: 'string', default: '2' },
    write: { type: 'boolean', default: true },
  },
});
const EVENTS = Number(opts.events);
const CLIENTS = Number(opts.clients);
const SECONDS = Number(opts.seconds);
const SEATS = Number(opts.seats);
const SEATS_PER_EVENT = 1000;
const rules = { holdTtlMs: 60_000, maxHoldLifetimeMs: 120_000, maxSeatsPerToken: 8, maxSeatsPerHolder: 1_000_000 };

interface Run {
  target: string;
  holdsPerSecond: number;
  p99Ms: number;
}

/**
 * `connections`: the callers spread over these (caller c on c % n); `afterHold`
 * runs on the caller's connection after each hold, before it counts as answered.
 */
async function measure(target: string, connections: RedisClient[], afterHold?: (redis: RedisClient) => Promise<unknown>): Promise<Run> {
  const prefix = `bench:${randomBytes(4).toString('hex')}:`;
  const stores = connections.map((redis) => new SeatStore({ redis, prefix }));
  const store = stores[0]!;
  try {
    for (let e = 0; e < EVENTS; e++) {
      const created = await store.createEvent({ eventId: `c${e}`, seatCount: SEATS_PER_EVENT, rules });
      if (!created.ok) throw new Error(`createEvent: ${created.code}`);
    }
    let holds = 0;
    const latencies: number[] = [];
    const until = performance.now() + SECONDS * 1000;
    await Promise.all(
      Array.from({ length: CLIENTS }, async (_, c) => {
        const mine = stores[c % stores.length]!;
        const redis = connections[c % connections.length]!;
        // each caller keeps to seats of its own, so every hold succeeds and measures the script, not contention
        const eventId = `c${c % EVENTS}`;
        const first = Math.floor(c / EVENTS) * SEATS;
        const seats = Array.from({ length: SEATS }, (_, i) => first + i);
        while (performance.now() < until) {
          const started = performance.now();
          const held = await mine.hold({ eventId, holder: `h${c}`, seats });
          latencies.push(performance.now() - started);
          if (!held.ok) throw new Error(`hold: ${held.code}`);
          if (afterHold) await afterHold(redis);
          latencies[latencies.length - 1] = performance.now() - started;
          holds++;
          const released = await mine.release({ eventId, holder: `h${c}`, token: held.token });
          if (!released.ok) throw new Error(`release: ${released.code}`);
        }
      }),
    );
    latencies.sort((a, b) => a - b);
    return { target, holdsPerSecond: holds / SECONDS, p99Ms: latencies[Math.floor(latencies.length * 0.99)] ?? NaN };
  } finally {
    await deleteKeysByPrefix(connections[0]!, prefix);
  }
}

if (CLIENTS / EVENTS * SEATS > SEATS_PER_EVENT) throw new Error('too many clients per event for its seats');

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer().listen(0, '127.0.0.1', () => {
      const { port } = server.address() as { port: number };
      server.close(() => resolve(port));
    });
    server.on('error', reject);
  });
}

/** A primary and its replica, children of this process, without persistence. */
async function startReplicated(): Promise<{ primary: number; children: ChildProcess[] }> {
  const binary = findBinary('redis-server', ['/usr/sbin', '/usr/local/sbin']);
  if (!binary) throw new Error('no redis-server binary');
  const [primary, replica] = [await freePort(), await freePort()];
  const base = ['--bind', '127.0.0.1', '--save', '', '--appendonly', 'no'];
  const children = [
    spawn(binary, ['--port', String(primary), ...base], { stdio: 'ignore' }),
    spawn(binary, ['--port', String(replica), ...base, '--replicaof', '127.0.0.1', String(primary)], { stdio: 'ignore' }),
  ];
  const probe = new Redis(primary, '127.0.0.1', { lazyConnect: true, retryStrategy: () => 50 });
  probe.on('error', () => undefined); // refused until the server is up
  for (let i = 0; ; i++) {
    try {
      if (probe.status !== 'ready') await probe.connect();
      if (/connected_slaves:1/.test(await probe.info('replication'))) break;
    } catch {
      // not up yet
    }
    if (i > 200) throw new Error('the replica did not connect');
    await new Promise((r) => setTimeout(r, 50));
  }
  probe.disconnect();
  return { primary, children };
}
const redisUrl = process.env.REDIS_URL ?? 'redis://127.0.0.1:6379';
const single = new Redis(redisUrl, { enableAutoPipelining: true });
const local = await startLocalCluster({ masters: 3 });
const cluster = new Cluster(local.ports.map((port) => ({ host: '127.0.0.1', port })), { enableAutoPipelining: true });
const replicated = await startReplicated();
// WAIT covers the writes of the connection it is sent on: each caller waits on the connection its
// hold went over, with the others' holds of that moment (as a gateway would, per batch)
const primaries = Array.from({ length: 8 }, () => new Redis(replicated.primary, '127.0.0.1', { enableAutoPipelining: true }));
const runs: Run[] = [];
try {
  for (let round = 0; round < 2; round++) {
    runs.push(await measure('one Redis', [single]));
    runs.push(await measure('3-master Cluster', [cluster]));
    runs.push(await measure('primary + replica, no WAIT', primaries));
    runs.push(await measure('primary + replica, WAIT 1 after each hold', primaries, (redis) => (redis as Redis).wait(1, 100)));
  }
} finally {
  cluster.disconnect();
  single.disconnect();
  for (const redis of primaries) redis.disconnect();
  for (const child of replicated.children) child.kill('SIGKILL');
  await local.stop();
}

const best = (target: string) => runs.filter((r) => r.target === target).sort((a, b) => b.holdsPerSecond - a.holdsPerSecond)[0]!;
const ratio = best('3-master Cluster').holdsPerSecond / best('one Redis').holdsPerSecond;
const fmt = (n: number) => Math.round(n).toLocaleString('en-US');
const cpus = os.cpus();
const table = [
  '| run | target | holds/s (each with its release) | hold p99 |',
  '| --- | --- | ---: | ---: |',
  ...runs.map((r, i) => `| ${i + 1} | ${r.target} | ${fmt(r.holdsPerSecond)} | ${r.p99Ms.toFixed(1)} ms |`),
].join('\n');
const waited = best('primary + replica, WAIT 1 after each hold');
const unwaited = best('primary + replica, no WAIT');
const summary = [
  `Cluster ÷ one Redis, best runs: **${ratio.toFixed(2)}×** (${fmt(best('3-master Cluster').holdsPerSecond)} vs ${fmt(best('one Redis').holdsPerSecond)} holds/s).`,
  `WAIT ÷ no WAIT, best runs: **${(waited.holdsPerSecond / unwaited.holdsPerSecond).toFixed(2)}×** holds/s (${fmt(waited.holdsPerSecond)} vs ${fmt(unwaited.holdsPerSecond)}), hold p99 ${waited.p99Ms.toFixed(1)} vs ${unwaited.p99Ms.toFixed(1)} ms.`,
].join('\n');
const machine = `${cpus.length} × ${cpus[0]?.model.trim() ?? 'unknown CPU'}, load average ${os.loadavg()[0]!.toFixed(1)} at the end, ${new Date().toISOString().slice(0, 10)}; ${EVENTS} events, ${CLIENTS} callers, ${SEATS} seats a hold, ${SECONDS} s a run.`;
console.log(`${table}\n\n${summary}\n${machine}`);

if (opts.write) {
  writeFileSync(
    new URL('../docs/bench/cluster.md', import.meta.url),
    `# Holds on a Redis Cluster against one Redis

Written by \`npm run bench:cluster\` (bench/cluster-holds.ts): the seat store driven directly, as
the gateway drives it, each caller holding seats of its own and releasing them again, on a
3-master Cluster started for the run and on one Redis, on the same machine in one run.

${table}

${summary}

${machine}

What limits it here: the three masters and the one Redis share the same 2 cores with the
benchmark's own process, so the Cluster cannot show the parallelism it has on machines of its
own; what it shows is the cost of the Cluster client (slot routing, one connection per master)
and of spreading the events over three servers. On separate hosts each master adds a Redis core.
\`WAIT\` (the caller's hold answered only once a replica has it) adds a replication round trip to
every hold; the WAIT rows measure it on one host, where that round trip is loopback.
`,
  );
  console.log('wrote docs/bench/cluster.md');
}
