/**
 * Runs `redis-benchmark` with one custom command and reads its CSV result,
 * plus the CPU time the tool itself used (to see which side is the bottleneck).
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { readFileSync } from 'node:fs';

export const REDIS_BENCHMARK = process.env.REDIS_BENCHMARK ?? 'redis-benchmark';

export interface RedisTarget {
  host: string;
  port: number;
  username?: string;
  password?: string;
  db: number;
}

/** Host, port, credentials and database of a redis:// URL, as redis-benchmark options need them. */
export function redisTarget(url: string): RedisTarget {
  const u = new URL(url);
  const target: RedisTarget = {
    host: u.hostname.replace(/^\[|\]$/g, '') || '127.0.0.1',
    port: Number(u.port || 6379),
    db: Number(u.pathname.slice(1) || 0),
  };
  if (u.username) target.username = decodeURIComponent(u.username);
  if (u.password) target.password = decodeURIComponent(u.password);
  return target;
}

export interface BenchmarkRun {
  requests: number;
  clients: number;
  /** requests per write on each connection (-P); 1 = no pipelining */
  pipeline: number;
  /** range of every `__rand_int__` substitution (-r) */
  randomRange: number;
  /** the command and its arguments, one argv entry each (an entry may be '') */
  command: readonly string[];
}

export interface BenchmarkResult {
  /** requests per second as redis-benchmark measured them (first send to last reply); NaN for a run under 1 ms */
  rps: number;
  avgLatencyMs: number;
  p99LatencyMs: number;
  /** spawn to exit, including connection set-up */
  wallSeconds: number;
  /** user + system CPU of the redis-benchmark process */
  cpuSeconds: number;
}

export function benchmarkArgs(target: RedisTarget, run: BenchmarkRun): string[] {
  const args = ['-h', target.host, '-p', String(target.port)];
  if (target.password !== undefined) {
    if (target.username !== undefined) args.push('--user', target.username);
    args.push('-a', target.password);
  }
  if (target.db !== 0) args.push('--dbnum', String(target.db));
  args.push(
    '-n', String(run.requests),
    '-c', String(run.clients),
    '-P', String(run.pipeline),
    '-r', String(run.randomRange),
    '--csv',
    ...run.command,
  );
  return args;
}

/** A shell-pasteable rendering of a command line (empty arguments shown as ''). */
export function shellQuote(argv: readonly string[]): string {
  return argv.map((a) => (/^[\w@%+=:,./-]+$/.test(a) ? a : `'${a.replace(/'/g, `'\\''`)}'`)).join(' ');
}

let running: ChildProcess | undefined;

/** Stops a redis-benchmark this module started (on SIGINT of the bench). */
export function stopRunningBenchmark(): void {
  if (running && running.exitCode === null) running.kill('SIGTERM');
}

export async function runRedisBenchmark(target: RedisTarget, run: BenchmarkRun): Promise<BenchmarkResult> {
  const cpuBefore = childrenCpuSeconds();
  const started = process.hrtime.bigint();
  // spawn passes each argv entry as is, so '' arrives as an empty argument (no shell quoting involved).
  const child = spawn(REDIS_BENCHMARK, benchmarkArgs(target, run), { stdio: ['ignore', 'pipe', 'pipe'] });
  running = child;
  let stdout = '';
  let stderr = '';
  child.stdout.setEncoding('utf8').on('data', (s: string) => (stdout += s));
  child.stderr.setEncoding('utf8').on('data', (s: string) => (stderr += s));
  const code = await new Promise<number | null>((resolve, reject) => {
    child.on('error', reject);
    child.on('close', (exitCode) => resolve(exitCode));
  });
  running = undefined;
  const wallSeconds = Number(process.hrtime.bigint() - started) / 1e9;
  if (code !== 0) throw new Error(`${REDIS_BENCHMARK} exited with ${code}: ${stderr.trim() || stdout.trim()}`);
  const row = parseCsvRow(stdout);
  return {
    rps: row.rps,
    avgLatencyMs: row.avg,
    p99LatencyMs: row.p99,
    wallSeconds,
    cpuSeconds: childrenCpuSeconds() - cpuBefore,
  };
}

/** The data row of `--csv` output: "test","rps","avg_latency_ms","min","p50","p95","p99","max". */
function parseCsvRow(stdout: string): { rps: number; avg: number; p99: number } {
  const lines = stdout.split('\n').map((l) => l.trim()).filter((l) => l.startsWith('"'));
  const header = lines[0] ? splitCsv(lines[0]) : [];
  const data = lines[1] ? splitCsv(lines[1]) : [];
  const field = (name: string) => Number(data[header.indexOf(name)]);
  if (header.length === 0 || data.length !== header.length) throw new Error(`cannot read redis-benchmark output:\n${stdout}`);
  // A run shorter than its millisecond clock reports rps "inf": NaN here, the caller falls back to wall time.
  return { rps: field('rps'), avg: field('avg_latency_ms'), p99: field('p99_latency_ms') };
}

function splitCsv(line: string): string[] {
  return [...line.matchAll(/"((?:[^"]|"")*)"/g)].map((m) => m[1]!.replace(/""/g, '"'));
}

/**
 * CPU seconds of this process's waited-for children (cutime + cstime of
 * /proc/self/stat): Node reaps redis-benchmark before 'close', so the
 * difference around one run is that run's CPU. NaN where /proc is missing.
 */
function childrenCpuSeconds(): number {
  try {
    const stat = readFileSync('/proc/self/stat', 'utf8');
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    // fields[0] is field 3 (state); cutime and cstime are fields 16 and 17.
    const ticks = Number(fields[13]) + Number(fields[14]);
    return ticks / 100; // USER_HZ, 100 on Linux
  } catch {
    return Number.NaN;
  }
}
