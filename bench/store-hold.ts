/**
 * Micro-benchmark (not a test) of the seat store's `hold` script: holds/s
 * through ioredis, the way the gateway calls it, against redis-benchmark
 * running the same script with the same kind of arguments, on this machine,
 * in one run. Prints a table and the ratios, and writes docs/bench/store.md.
 *
 *   npm run bench:store [-- --ops 200000 --clients 50 --pipeline 16 --repeat 3 --seats N --warmup N]
 *
 * Needs REDIS_URL (scripts/with-services.ts sets it). Every key lives under a
 * random `bench:<hex>:` prefix and is deleted at the end, also on failure.
 *
 * Some 490 lines in one file on purpose: a benchmark is read top to bottom
 * (setup, the ioredis run, the redis-benchmark run, the report), and the
 * parts shared with other benchmarks already live in redis-benchmark.ts.
 */
import { randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { Redis } from 'ioredis';
import { SCRIPTS, SeatStore, deleteKeysByPrefix, loadScripts, parseReply, type HoldRules, type ScriptArgs } from '../core/store/internal.js';
import {
  REDIS_BENCHMARK,
  benchmarkArgs,
  redisTarget,
  runRedisBenchmark,
  shellQuote,
  stopRunningBenchmark,
  type RedisTarget,
} from './redis-benchmark.js';
import { consoleTable, describeMachine, disturbances, rate, ratios, successRate, writeMarkdown, type PhaseResult } from './report.js';

const REPO_ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const REPORT_FILE = path.join(REPO_ROOT, 'docs/bench/store.md');

const EVENT_ID = 'hold';
/** Generous rules: a hold is refused only when its seat is taken, and nothing expires during a run. */
const RULES: HoldRules = { holdTtlMs: 3_600_000, maxHoldLifetimeMs: 7_200_000, maxSeatsPerToken: 1, maxSeatsPerHolder: 1_000_000 };
/** Below this share of successful holds the run measured refusals, not holds: it fails. */
const MIN_SUCCESS = 0.9;
/** redis-benchmark's placeholder: each occurrence becomes its own 12-digit number in [0, -r). */
const RAND = '__rand_int__';

interface Options {
  ops: number;
  seats: number;
  clients: number;
  pipeline: number;
  warmup: number;
  repeat: number;
  /** connections of the pooled SeatStore side */
  connections: number;
}

interface Bench {
  opts: Options;
  redis: Redis;
  store: SeatStore;
  /** the same store with further connections, holders spread over them */
  pooledStore: SeatStore;
  prefix: string;
  target: RedisTarget;
  holdSha: string;
}

function parseOptions(): Options {
  const { values } = parseArgs({
    options: {
      ops: { type: 'string', default: '200000' },
      seats: { type: 'string' },
      clients: { type: 'string', default: '50' },
      pipeline: { type: 'string', default: '16' },
      warmup: { type: 'string' },
      repeat: { type: 'string', default: '3' },
      connections: { type: 'string', default: '4' },
    },
  });
  const int = (name: string, v: string | undefined, min: number) => {
    const n = Number(v);
    if (!Number.isSafeInteger(n) || n < min) throw new Error(`--${name} must be an integer >= ${min}`);
    return n;
  };
  const ops = int('ops', values.ops, 1);
  return {
    ops,
    // 20x the calls keeps seat collisions (UNAVAILABLE) near 2.5%; redis-benchmark's -r stays below 2^31.
    seats: int('seats', values.seats ?? String(Math.min(Math.max(200_000, 20 * ops), 2 ** 31 - 1)), 1),
    clients: int('clients', values.clients, 1),
    pipeline: int('pipeline', values.pipeline, 0),
    warmup: int('warmup', values.warmup ?? String(Math.min(ops, 20_000)), 0),
    repeat: int('repeat', values.repeat, 1),
    connections: int('connections', values.connections, 1),
  };
}

/** Share of N uniformly random seats out of S that hit a seat not taken before: S(1 - e^(-N/S)) / N. */
function expectedSuccess(ops: number, seats: number): number {
  return (seats * (1 - Math.exp(-ops / seats))) / ops;
}

// ---------------------------------------------------------------------------
// The hold call, one definition for both sides

/**
 * The hold script's arguments, built from a random-number source. Given
 * redis-benchmark's placeholder it yields the template redis-benchmark
 * expands; given 12-digit numbers it yields the very same strings for ioredis.
 * Two numbers in the token make collisions (CONFLICT) negligible.
 */
function holdArgs(rand: () => string): ScriptArgs<typeof SCRIPTS.hold> {
  return { now: '', holder: `h${rand()}`, token: `t${rand()}${rand()}`, create: '1', seats: rand(), accessible: '0', exempt: '0', ratePerSec: '0', rateBurst: '0', ga: '', chan: '' };
}

/** The redis-benchmark command: EVALSHA of the loaded hold script, keys and arguments in registry order. */
function holdCommand(b: Bench): string[] {
  const keys = b.store.keys(EVENT_ID);
  const args = holdArgs(() => RAND);
  return [
    'EVALSHA',
    b.holdSha,
    String(SCRIPTS.hold.keys.length),
    ...SCRIPTS.hold.keys.map((k) => keys[k]),
    ...SCRIPTS.hold.args.map((a) => String(args[a])),
  ];
}

const randomBelow = (n: number) => Math.floor(Math.random() * n);
const pad12 = (n: number) => String(n).padStart(12, '0');

type HoldCall = () => Promise<string>;

/** The hold script through ioredis, with redis-benchmark's exact argument format: the same server work. */
function scriptHold(b: Bench): HoldCall {
  const keys = b.store.keys(EVENT_ID);
  const rand = () => pad12(randomBelow(b.opts.seats));
  return async () => parseReply(await b.store.scripts.run(SCRIPTS.hold, keys, holdArgs(rand))).status;
}

/** The gateway's call: input checks, then the hold script that also updates the sweep index (holdIndexed-13). */
function storeHold(b: Bench, store = b.store): HoldCall {
  const { seats } = b.opts;
  return async () => {
    const r = await store.hold({ eventId: EVENT_ID, holder: `h${pad12(randomBelow(seats))}`, seats: [randomBelow(seats)] });
    return r.ok ? 'OK' : r.code;
  };
}

// ---------------------------------------------------------------------------
// Drivers

interface DriverRun {
  seconds: number;
  clientCpuSeconds: number;
  replies?: Record<string, number>;
}

/** `callers` async loops sharing one auto-pipelined connection, until `ops` calls are done. */
async function driveIoredis(ops: number, callers: number, call: HoldCall): Promise<DriverRun> {
  const replies: Record<string, number> = {};
  let issued = 0;
  const worker = async () => {
    while (issued < ops) {
      issued++;
      const status = await call();
      replies[status] = (replies[status] ?? 0) + 1;
    }
  };
  const cpu = process.cpuUsage();
  const started = process.hrtime.bigint();
  await Promise.all(Array.from({ length: Math.min(callers, ops) }, worker));
  const seconds = Number(process.hrtime.bigint() - started) / 1e9;
  const used = process.cpuUsage(cpu);
  return { seconds, clientCpuSeconds: (used.user + used.system) / 1e6, replies };
}

async function driveRedisBenchmark(b: Bench, ops: number, pipeline: number): Promise<DriverRun> {
  const r = await runRedisBenchmark(b.target, {
    requests: ops,
    clients: b.opts.clients,
    pipeline,
    randomRange: b.opts.seats,
    command: holdCommand(b),
  });
  // redis-benchmark's own clock (first request to last reply); its CPU covers its whole run.
  return { seconds: Number.isFinite(r.rps) ? ops / r.rps : r.wallSeconds, clientCpuSeconds: r.cpuSeconds };
}

// ---------------------------------------------------------------------------
// Event state and server counters

async function resetEvent(b: Bench): Promise<void> {
  await b.store.deleteEvent(EVENT_ID);
  const created = await b.store.createEvent({ eventId: EVENT_ID, seatCount: b.opts.seats, rules: RULES });
  if (!created.ok) throw new Error(`cannot create the bench event: ${created.code}`);
}

/** Seats whose status byte is HELD: counted the same way after every phase, whoever drove it. */
async function heldSeats(b: Bench): Promise<number> {
  const status = await b.redis.getBuffer(b.store.keys(EVENT_ID).status);
  let held = 0;
  for (const byte of status ?? []) if (byte === 1) held++;
  return held;
}

interface ServerCounters {
  scriptCalls: number;
  scriptUsec: number;
  cpuSeconds: number;
  errorReplies: number;
}

async function serverCounters(redis: Redis): Promise<ServerCounters> {
  const info = String(await redis.call('INFO', 'stats', 'cpu', 'commandstats'));
  const num = (re: RegExp) => Number(re.exec(info)?.[1] ?? 0);
  const cmd = (name: string) => ({
    calls: num(new RegExp(`^cmdstat_${name}:calls=(\\d+)`, 'm')),
    usec: num(new RegExp(`^cmdstat_${name}:calls=\\d+,usec=(\\d+)`, 'm')),
  });
  // ioredis sends EVAL once per connection, then EVALSHA.
  const evalsha = cmd('evalsha');
  const evalCmd = cmd('eval');
  return {
    scriptCalls: evalsha.calls + evalCmd.calls,
    scriptUsec: evalsha.usec + evalCmd.usec,
    cpuSeconds: num(/^used_cpu_user:([\d.]+)/m) + num(/^used_cpu_sys:([\d.]+)/m),
    errorReplies: num(/^total_error_replies:(\d+)/m),
  };
}

// ---------------------------------------------------------------------------
// Phases

interface Failure {
  message: string;
}

async function measure(
  b: Bench,
  variant: string,
  side: PhaseResult['side'],
  label: string,
  drive: () => Promise<DriverRun>,
  failures: Failure[],
): Promise<PhaseResult> {
  await resetEvent(b);
  await waitForQuiet();
  const before = await serverCounters(b.redis);
  const machineBefore = machineBusySeconds();
  const ownBefore = process.cpuUsage();
  const started = process.hrtime.bigint();
  const run = await drive();
  const wall = Number(process.hrtime.bigint() - started) / 1e9;
  const own = process.cpuUsage(ownBefore);
  const machine = machineBusySeconds() - machineBefore;
  const after = await serverCounters(b.redis);
  const ops = b.opts.ops;
  const redisCpuSeconds = after.cpuSeconds - before.cpuSeconds;
  // This process's CPU, plus redis-benchmark's when it drove the phase (for ioredis it is the client).
  const benchCpuSeconds = (own.user + own.system) / 1e6 + (side === 'redis-benchmark' ? run.clientCpuSeconds : 0);
  const scriptCalls = after.scriptCalls - before.scriptCalls;
  // Our calls: one script per hold on every side (SeatStore.hold's index update is inside its script).
  const ownScriptCalls = ops;
  const phase: PhaseResult = {
    variant,
    side,
    label,
    ops,
    seconds: run.seconds,
    heldSeats: await heldSeats(b),
    ...(run.replies ? { replies: run.replies } : {}),
    serverUsecPerHold: (after.scriptUsec - before.scriptUsec) / ops,
    scriptCallsPerHold: scriptCalls / ops,
    redisCpu: redisCpuSeconds / wall,
    clientCpu: run.clientCpuSeconds / wall,
    otherCpu: Math.max(0, machine - redisCpuSeconds - benchCpuSeconds) / wall,
    foreignScriptCalls: Math.max(0, scriptCalls - ownScriptCalls),
    errorReplies: after.errorReplies - before.errorReplies,
  };
  checkPhase(phase, expectedSuccess(ops, b.opts.seats), failures);
  process.stderr.write(`  ${label}: ${Math.round(ops / run.seconds)} holds/s, ${(successRate(phase) * 100).toFixed(1)}% held\n`);
  return phase;
}

/**
 * On a shared machine other processes come and go; a phase started while
 * they run measures them too. Waits (bounded) until the machine is nearly
 * idle; the phase still reports the load it saw.
 */
async function waitForQuiet(maxWaitMs = 30_000, maxBusyCores = 0.15): Promise<void> {
  const deadline = Date.now() + maxWaitMs;
  let announced = false;
  for (;;) {
    const before = machineBusySeconds();
    await new Promise((r) => setTimeout(r, 500));
    const busyCores = (machineBusySeconds() - before) / 0.5;
    if (!(busyCores > maxBusyCores)) return; // NaN (no /proc) counts as quiet
    if (Date.now() > deadline) {
      process.stderr.write(`  (machine still busy after ${maxWaitMs / 1000} s, measuring anyway)\n`);
      return;
    }
    if (!announced) process.stderr.write(`  (other processes use ${Math.round(busyCores * 100)}% of a core: waiting)\n`);
    announced = true;
  }
}

/**
 * Busy CPU seconds of the whole machine (/proc/stat: all but idle and
 * iowait), to show load from other processes that competes with the bench.
 */
function machineBusySeconds(): number {
  try {
    const cpu = readFileSync('/proc/stat', 'utf8').split('\n')[0]!.trim().split(/\s+/).slice(1).map(Number);
    const [user = 0, nice = 0, system = 0, , , irq = 0, softirq = 0, steal = 0] = cpu;
    return (user + nice + system + irq + softirq + steal) / 100; // USER_HZ
  } catch {
    return Number.NaN;
  }
}

/**
 * A phase counts only if its holds demonstrably succeeded: the share of held
 * seats must be what random seat collisions explain. A call that failed (a
 * script error, a refusal of another kind) would lower it; Redis's error
 * counter cannot tell, since on a shared Redis it counts other clients too.
 */
function checkPhase(p: PhaseResult, expected: number, failures: Failure[]): void {
  const floor = Math.max(MIN_SUCCESS, expected - 0.01);
  if (successRate(p) < floor) {
    failures.push({
      message: `${p.label}: ${(successRate(p) * 100).toFixed(1)}% of the calls held a seat, expected ${(expected * 100).toFixed(1)}%`,
    });
  }
  if (p.replies && (p.replies.OK ?? 0) !== p.heldSeats) {
    failures.push({ message: `${p.label}: ${p.replies.OK ?? 0} OK replies but ${p.heldSeats} seats held` });
  }
}

/**
 * Before measuring: run redis-benchmark for three calls while MONITOR watches,
 * and check that the arguments arrive as intended (`now` really empty, the
 * placeholders expanded to 12-digit numbers) and that the holds succeed.
 */
async function preflight(b: Bench): Promise<void> {
  await resetEvent(b);
  const seen: string[][] = [];
  const monitor = await b.redis.monitor();
  monitor.on('monitor', (_time: string, args: string[]) => {
    // The Redis may be shared (tests use the same scripts): only calls on this run's keys count.
    if (args[0]?.toUpperCase() === 'EVALSHA' && args[3] === b.store.keys(EVENT_ID).meta) seen.push(args);
  });
  try {
    await runRedisBenchmark(b.target, { requests: 3, clients: 1, pipeline: 1, randomRange: b.opts.seats, command: holdCommand(b) });
    const deadline = Date.now() + 2000;
    while (seen.length < 3 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));
  } finally {
    monitor.disconnect();
  }
  const first = 3 + SCRIPTS.hold.keys.length; // EVALSHA sha numkeys keys... then the arguments
  const problems: string[] = [];
  if (seen.length !== 3) problems.push(`MONITOR saw ${seen.length} of 3 EVALSHA calls`);
  for (const args of seen) {
    const [now, holder, token, create, seats] = args.slice(first);
    if (now !== '') problems.push(`now arrived as ${JSON.stringify(now)}, not empty`);
    if (!/^h\d{12}$/.test(holder ?? '')) problems.push(`holder arrived as ${JSON.stringify(holder)}`);
    if (!/^t\d{24}$/.test(token ?? '')) problems.push(`token arrived as ${JSON.stringify(token)}`);
    if (create !== '1') problems.push(`create arrived as ${JSON.stringify(create)}`);
    if (!/^\d{12}$/.test(seats ?? '') || Number(seats) >= b.opts.seats) problems.push(`seats arrived as ${JSON.stringify(seats)}`);
  }
  const held = await heldSeats(b);
  if (held !== 3) problems.push(`${held} of 3 holds succeeded`);
  if (problems.length > 0) throw new Error(`redis-benchmark preflight failed:\n  ${problems.join('\n  ')}`);
  const sample = seen[0]!.slice(first).map((a) => JSON.stringify(a)).join(' ');
  process.stderr.write(`preflight: MONITOR shows the arguments ${sample}; 3 of 3 holds succeeded\n`);
}

async function warmUp(b: Bench): Promise<void> {
  const { warmup, clients } = b.opts;
  if (warmup === 0) return;
  process.stderr.write(`warm-up: ${warmup} calls per side\n`);
  await resetEvent(b);
  await driveIoredis(warmup, clients, scriptHold(b));
  await driveIoredis(warmup, clients, storeHold(b));
  await driveIoredis(warmup, clients, storeHold(b, b.pooledStore));
  await driveRedisBenchmark(b, warmup, 1);
}

interface Variant {
  name: string;
  pipeline: number;
  callers: number;
}

async function runVariant(b: Bench, v: Variant, failures: Failure[]): Promise<PhaseResult[]> {
  const { ops } = b.opts;
  const callers = `${v.callers} callers`;
  return [
    await measure(b, v.name, 'redis-benchmark', `redis-benchmark ${v.name}`, () => driveRedisBenchmark(b, ops, v.pipeline), failures),
    await measure(b, v.name, 'ioredis script', `ioredis script, ${callers}`, () => driveIoredis(ops, v.callers, scriptHold(b)), failures),
    await measure(b, v.name, 'ioredis SeatStore.hold', `ioredis SeatStore.hold, ${callers}`, () => driveIoredis(ops, v.callers, storeHold(b)), failures),
    await measure(b, v.name, 'ioredis SeatStore.hold, pooled', `ioredis SeatStore.hold, ${callers}, ${b.opts.connections} conns`, () => driveIoredis(ops, v.callers, storeHold(b, b.pooledStore)), failures),
  ];
}

/**
 * Every phase `repeat` times, the sides interleaved so that a burst of other
 * load hits one repetition rather than one side; each side is reported by its
 * fastest repetition (the least disturbed), with all repetitions beside it.
 */
async function runAll(b: Bench, variants: readonly Variant[], failures: Failure[]): Promise<PhaseResult[]> {
  const all: PhaseResult[] = [];
  for (let round = 1; round <= b.opts.repeat; round++) {
    for (const v of variants) {
      process.stderr.write(`round ${round}/${b.opts.repeat}, ${v.name}:\n`);
      all.push(...(await runVariant(b, v, failures)));
    }
  }
  const labels = [...new Set(all.map((p) => p.label))];
  return labels.map((label) => {
    const runs = all.filter((p) => p.label === label);
    const best = runs.reduce((a, p) => (rate(p) > rate(a) ? p : a));
    return { ...best, runs: runs.map(rate) };
  });
}

// ---------------------------------------------------------------------------

async function main(): Promise<number> {
  const opts = parseOptions();
  const url = process.env.REDIS_URL ?? 'redis://127.0.0.1:6379';
  const redis = new Redis(url, { enableAutoPipelining: true, maxRetriesPerRequest: 3 });
  const prefix = `bench:${randomBytes(4).toString('hex')}:`;
  const store = new SeatStore({ redis, prefix });
  const extra = Array.from({ length: opts.connections - 1 }, () => new Redis(url, { enableAutoPipelining: true, maxRetriesPerRequest: 3 }));
  const pooledStore = new SeatStore({ redis, prefix, connections: extra });
  const holdSha = loadScripts().get(SCRIPTS.hold.name)!.sha;
  const b: Bench = { opts, redis, store, pooledStore, prefix, target: redisTarget(url), holdSha };

  let cleaning: Promise<void> | undefined;
  const quitAll = () => Promise.all([redis, ...extra].map((r) => r.quit().then(() => undefined, () => undefined)));
  const cleanup = () => (cleaning ??= deleteKeysByPrefix(redis, prefix).then(() => undefined).finally(quitAll).then(() => undefined));
  for (const signal of ['SIGINT', 'SIGTERM'] as const) {
    process.once(signal, () => {
      stopRunningBenchmark();
      void cleanup().finally(() => process.exit(130));
    });
  }

  try {
    // redis-benchmark sends EVALSHA only: the script must be in the server's cache first.
    await store.scripts.preload();
    const expected = expectedSuccess(opts.ops, opts.seats);
    process.stderr.write(
      `hold benchmark: ${opts.ops} calls per phase, ${opts.seats} seats (expected success ${(expected * 100).toFixed(1)}%), ` +
        `-c ${opts.clients}${opts.pipeline > 1 ? `, and -P ${opts.pipeline}` : ''}, ${opts.repeat} rounds; key prefix ${prefix}\n`,
    );
    await preflight(b);
    await warmUp(b);

    const variants: Variant[] = [{ name: `-c ${opts.clients}`, pipeline: 1, callers: opts.clients }];
    if (opts.pipeline > 1) {
      variants.push({ name: `-c ${opts.clients} -P ${opts.pipeline}`, pipeline: opts.pipeline, callers: opts.clients * opts.pipeline });
    }
    const failures: Failure[] = [];
    const phases = await runAll(b, variants, failures);

    process.stdout.write(`\n${consoleTable(phases)}\n\n${ratios(phases).join('\n')}\n`);
    const disturbed = disturbances(phases);
    if (disturbed.length > 0) process.stdout.write(`\nother load during the run:\n  ${disturbed.join('\n  ')}\n`);
    if (failures.length > 0) {
      process.stderr.write(`\nthe run is not valid, ${REPORT_FILE} left unchanged:\n  ${failures.map((f) => f.message).join('\n  ')}\n`);
      return 1;
    }
    // The report shows the command lines, never a password from REDIS_URL.
    const shown: RedisTarget = b.target.password === undefined ? b.target : { ...b.target, password: '<password>' };
    const commands = variants.map((v) =>
      shellQuote([REDIS_BENCHMARK, ...benchmarkArgs(shown, { requests: opts.ops, clients: opts.clients, pipeline: v.pipeline, randomRange: opts.seats, command: holdCommand(b) })]),
    );
    writeMarkdown(REPORT_FILE, {
      machine: await describeMachine(redis, REPO_ROOT),
      settings: { ...opts, expectedSuccess: expected },
      commands,
      phases,
    });
    process.stdout.write(`\nwritten to ${path.relative(process.cwd(), REPORT_FILE)}\n`);
    return 0;
  } finally {
    await cleanup();
  }
}

process.exitCode = await main();
