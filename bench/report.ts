/**
 * Output of the store benchmark: the console table and docs/bench/store.md.
 */
import { execFileSync } from 'node:child_process';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { Redis } from 'ioredis';
import { REDIS_BENCHMARK } from './redis-benchmark.js';

export interface PhaseResult {
  /** which concurrency setting the phase belongs to, e.g. "-c 50" */
  variant: string;
  side: 'redis-benchmark' | 'ioredis script' | 'ioredis SeatStore.hold' | 'ioredis SeatStore.hold, pooled';
  /** the side with its concurrency, as shown in the table */
  label: string;
  ops: number;
  seconds: number;
  /** seats whose status byte is HELD after the phase: the holds that really happened */
  heldSeats: number;
  /** replies by status, where the side can see them (ioredis) */
  replies?: Record<string, number>;
  /** Lua script time inside Redis (commandstats usec of EVALSHA/EVAL) per hold */
  serverUsecPerHold: number;
  /** EVALSHA/EVAL calls per hold */
  scriptCallsPerHold: number;
  /** Redis process CPU over the phase, in cores */
  redisCpu: number;
  /** the client's CPU over the phase, in cores */
  clientCpu: number;
  /** CPU of every other process on the machine over the phase, in cores: load that competes with the bench */
  otherCpu: number;
  /** EVALSHA/EVAL calls during the phase that were not ours (someone else using the same Redis) */
  foreignScriptCalls: number;
  /** error replies Redis sent to anyone during the phase (ours would also lower the held seats) */
  errorReplies: number;
  /** holds/s of every repetition of this phase, when it was repeated */
  runs?: number[];
}

export interface Machine {
  nproc: number;
  cpuModel: string;
  node: string;
  redis: string;
  redisBenchmark: string;
  ioredis: string;
  date: string;
}

export interface Report {
  machine: Machine;
  settings: { ops: number; seats: number; clients: number; pipeline: number; warmup: number; repeat: number; connections: number; expectedSuccess: number };
  /** redis-benchmark command lines, one per variant */
  commands: string[];
  phases: PhaseResult[];
}

export const rate = (p: PhaseResult) => p.ops / p.seconds;
export const successRate = (p: PhaseResult) => p.heldSeats / p.ops;

export async function describeMachine(redis: Redis, repoRoot: string): Promise<Machine> {
  const info = await redis.info('server');
  const cpuinfo = safely(() => readFileSync('/proc/cpuinfo', 'utf8'), '');
  return {
    nproc: Number(safely(() => execFileSync('nproc', { encoding: 'utf8' }).trim(), String(os.availableParallelism()))),
    cpuModel: /^model name\s*:\s*(.+)$/m.exec(cpuinfo)?.[1]?.trim() ?? os.cpus()[0]?.model ?? 'unknown',
    node: process.version,
    redis: /^redis_version:(\S+)/m.exec(info)?.[1] ?? 'unknown',
    redisBenchmark: safely(() => execFileSync(REDIS_BENCHMARK, ['--version'], { encoding: 'utf8' }).trim(), 'unknown'),
    ioredis: safely(() => JSON.parse(readFileSync(path.join(repoRoot, 'node_modules/ioredis/package.json'), 'utf8')).version as string, 'unknown'),
    date: new Date().toISOString(),
  };
}

function safely<T>(fn: () => T, fallback: T): T {
  try {
    return fn();
  } catch {
    return fallback;
  }
}

/** Ratio lines: each ioredis side against redis-benchmark of the same variant. */
export function ratios(phases: readonly PhaseResult[]): string[] {
  const lines: string[] = [];
  for (const variant of new Set(phases.map((p) => p.variant))) {
    const same = phases.filter((p) => p.variant === variant);
    const base = same.find((p) => p.side === 'redis-benchmark');
    if (!base) continue;
    for (const p of same.filter((q) => q !== base)) {
      lines.push(`ioredis/redis-benchmark = ${(rate(p) / rate(base)).toFixed(2)}   (${p.label} vs ${base.label})`);
    }
  }
  return lines;
}

const COLUMNS = ['side', 'ops', 'seconds', 'holds/s', 'all runs, k holds/s', 'success %', 'server µs/hold', 'scripts/hold', 'Redis CPU', 'client CPU', 'other CPU'];

function cells(p: PhaseResult): string[] {
  return [
    p.label,
    String(p.ops),
    p.seconds.toFixed(2),
    Math.round(rate(p)).toLocaleString('en-US'),
    (p.runs ?? [rate(p)]).map((r) => (r / 1000).toFixed(1)).join(' '),
    (successRate(p) * 100).toFixed(1),
    p.serverUsecPerHold.toFixed(1),
    p.scriptCallsPerHold.toFixed(1),
    percent(p.redisCpu),
    percent(p.clientCpu),
    percent(p.otherCpu),
  ];
}

const percent = (cores: number) => (Number.isFinite(cores) ? `${Math.round(cores * 100)}%` : 'n/a');

export function consoleTable(phases: readonly PhaseResult[]): string {
  const rows = [COLUMNS, ...phases.map(cells)];
  const widths = COLUMNS.map((_, i) => Math.max(...rows.map((r) => r[i]!.length)));
  const line = (r: string[]) => r.map((c, i) => (i === 0 ? c.padEnd(widths[i]!) : c.padStart(widths[i]!))).join('  ');
  return [line(rows[0]!), widths.map((w) => '-'.repeat(w)).join('  '), ...rows.slice(1).map(line)].join('\n');
}

function markdownTable(phases: readonly PhaseResult[]): string {
  const rows = phases.map(cells);
  return [
    `| ${COLUMNS.join(' | ')} |`,
    `|${COLUMNS.map((_, i) => (i === 0 ? ' --- ' : ' ---: ')).join('|')}|`,
    ...rows.map((r) => `| ${r.join(' | ')} |`),
  ].join('\n');
}

/** Phases disturbed by other load: worth knowing before trusting a ratio. */
export function disturbances(phases: readonly PhaseResult[], cpuThreshold = 0.1): string[] {
  return phases.flatMap((p) => {
    const notes: string[] = [];
    if (p.otherCpu > cpuThreshold) notes.push(`other processes used ${percent(p.otherCpu)} of a core`);
    if (p.foreignScriptCalls > 0) notes.push(`${p.foreignScriptCalls} script calls from other Redis clients`);
    if (p.errorReplies > 0) notes.push(`${p.errorReplies} error replies from Redis`);
    return notes.length > 0 ? [`${p.label}: ${notes.join('; ')}`] : [];
  });
}

function refusalSummary(phases: readonly PhaseResult[]): string[] {
  return phases
    .filter((p) => p.replies)
    .map((p) => `- ${p.label}: ${Object.entries(p.replies!).map(([status, n]) => `${status} ${n}`).join(', ')}`);
}

function disturbanceNote(phases: readonly PhaseResult[]): string {
  const lines = disturbances(phases);
  if (lines.length === 0) return 'No other load was seen during the phases.';
  return `Other load during the run (these numbers are disturbed; rerun on a quiet machine to compare):\n\n${lines.map((l) => `- ${l}`).join('\n')}`;
}

export function writeMarkdown(file: string, report: Report): void {
  const { machine: m, settings: s } = report;
  const text = `# Seat store benchmark: hold script, ioredis vs redis-benchmark

Generated by \`npm run bench:store\` on ${m.date}; the file is overwritten on every run.
Regenerate with \`npm run bench:store\` (options: \`npm run bench:store -- --ops 200000 --clients 50 --pipeline 16 --repeat 3\`;
\`--pipeline 0\` skips the pipelined variant). Numbers are from one run on one machine: compare the ratios, not the
absolute rates, across machines; on a small shared VM even the same phase varies by tens of percent between runs.

## Machine

| | |
| --- | --- |
| nproc | ${m.nproc} |
| CPU | ${m.cpuModel} |
| Node | ${m.node} |
| Redis | ${m.redis} |
| redis-benchmark | ${m.redisBenchmark} |
| ioredis | ${m.ioredis} |

Client and Redis share the machine, so the client's CPU competes with Redis's.

## Workload

Both sides run the \`hold\` script (EVALSHA of the same SHA, the same 7 keys) against one event of ${s.seats.toLocaleString('en-US')}
seats (maxSeatsPerToken 1, maxSeatsPerHolder 1,000,000, hold TTL 1 h so nothing expires during a run). Each call holds
one random seat for a new token and a random holder, with \`now\` = '' (Redis clock). The event is deleted and recreated
before every phase; each phase runs ${s.ops.toLocaleString('en-US')} calls after a warm-up of ${s.warmup.toLocaleString('en-US')} calls per side.
Every phase runs ${s.repeat} times, the sides interleaved; the table shows each side's fastest run (the least disturbed
by other load) and all runs beside it. Before each phase the bench waits (up to 30 s) for the machine to be nearly idle.
With random seats some calls find their seat taken (UNAVAILABLE); the expected success rate is
${(s.expectedSuccess * 100).toFixed(1)}%, the same on both sides.

- **redis-benchmark**: ${s.clients} connections (\`-c\`), every \`__rand_int__\` replaced by a 12-digit zero-padded number below the seat count.
- **ioredis script**: one ioredis connection with auto-pipelining, N concurrent async callers of
  \`ScriptRunner.run(SCRIPTS.hold, …)\` with arguments in exactly redis-benchmark's format: the same server work.
- **ioredis SeatStore.hold**: the gateway's call, \`SeatStore.hold\`, which validates the input and runs
  \`holdIndexed-13.lua\`: the hold plus, on success, the expiry-index update, in one script.
- **ioredis SeatStore.hold, ${s.connections} connections**: the same call on a store given ${s.connections - 1} further connections
  (\`SeatStoreOptions.connections\`), over which holders are spread.

The pipelined variant compares \`-c ${s.clients} -P ${s.pipeline}\` with ${s.clients * s.pipeline} concurrent ioredis callers (the same number of calls in flight).

Commands (the key prefix is random per run):

\`\`\`
${report.commands.join('\n')}
\`\`\`

## Results

${markdownTable(report.phases)}

\`\`\`
${ratios(report.phases).join('\n')}
\`\`\`

- holds/s counts hold calls, refused or not; success % is the share of calls whose seat is HELD afterwards (counted
  from the status string, the same check for every side).
- server µs/hold is the time Redis spent inside the scripts (INFO commandstats) per hold; scripts/hold counts every
  EVALSHA/EVAL Redis ran during the phase per hold. Redis CPU, client CPU (redis-benchmark or this Node process) and
  other CPU (every other process on the machine) are CPU time over the phase's wall time, in cores (100% = one core).

${disturbanceNote(report.phases)}

ioredis replies by status:

${refusalSummary(report.phases).join('\n')}
`;
  mkdirSync(path.dirname(file), { recursive: true });
  writeFileSync(file, text);
}
