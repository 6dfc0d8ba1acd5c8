/**
 * docs/performance.md: the latest table of `npm run bench`. Results are kept
 * per figure in docs/bench/performance.json, so that running one figure
 * (`npm run bench -- fanout`) updates its rows and keeps the others.
 */
import { execFileSync } from 'node:child_process';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import type { Row } from './figures/context.js';

export interface FigureRun {
  rows: Row[];
  /** what limits these figures here, worked out from the run (docs/performance.md, "What limits the figures here") */
  limits?: string[];
  machine: Machine;
  date: string;
}

export interface Machine {
  cpu: string;
  cores: number;
  memoryGiB: number;
  os: string;
  node: string;
  redis: string;
  openFiles: number;
}

export function describeMachine(redisVersion: string, openFiles: number): Machine {
  return {
    cpu: os.cpus()[0]?.model.trim() ?? 'unknown',
    cores: os.availableParallelism(),
    memoryGiB: Math.round(os.totalmem() / 2 ** 30),
    os: `${os.type()} ${os.release()} ${os.arch()}`,
    node: process.version,
    redis: redisVersion,
    openFiles,
  };
}

export function loadRuns(file: string): Record<string, FigureRun> {
  return existsSync(file) ? (JSON.parse(readFileSync(file, 'utf8')) as Record<string, FigureRun>) : {};
}

const mark = (met: boolean | null) => (met === null ? '' : met ? 'met' : '**missed**');

export function consoleTable(rows: readonly Row[]): string {
  const cells = [['figure', 'measured', 'goal', ''], ...rows.map((r) => [r.figure, r.value, r.goal, mark(r.met).replace(/\*/g, '')])];
  const widths = [0, 1, 2, 3].map((i) => Math.min(70, Math.max(...cells.map((c) => c[i]!.length))));
  return cells.map((c) => c.map((v, i) => v.padEnd(widths[i]!)).join('  ')).join('\n');
}

export function writePerformanceDoc(file: string, runs: Record<string, FigureRun>, order: readonly string[], notes: string): void {
  const machines = [...new Set(order.filter((f) => runs[f]).map((f) => JSON.stringify(runs[f]!.machine)))].map((m) => JSON.parse(m) as Machine);
  const m = machines[0];
  const rows = order.filter((f) => runs[f]).flatMap((f) => runs[f]!.rows.map((r) => ({ ...r, date: runs[f]!.date.slice(0, 10) })));
  const text = `# Performance

The latest table of \`npm run bench\` (\`npm run bench -- <figure>\` reruns one of ${order.map((f) => `\`${f}\``).join(', ')}; the
file is regenerated from \`docs/bench/performance.json\`). Each figure is measured in one run on one machine, the
gateway in a process of its own (its CPU and memory read from \`/proc/<pid>\`), the load generators in others, and
Redis a private \`redis-server\` started by the benchmark. Ratios compare things measured side by side; absolute
numbers are this machine's.

## Machine

| | |
| --- | --- |
| CPU | ${m?.cpu ?? 'n/a'} |
| cores | ${m?.cores ?? 'n/a'} (shared by the gateway, Redis, and the load generators) |
| memory | ${m?.memoryGiB ?? 'n/a'} GiB |
| OS | ${m?.os ?? 'n/a'} |
| Node | ${m?.node ?? 'n/a'} |
| Redis | ${m?.redis ?? 'n/a'} |
| open files per process | ${m?.openFiles.toLocaleString('en-US') ?? 'n/a'} (hard limit; no privilege to raise it) |
${machines.length > 1 ? '\nSome figures were measured on another machine than the one above; see docs/bench/performance.json.\n' : ''}
## Results

| figure | measured | absolute numbers | goal | | run |
| --- | --- | --- | --- | --- | --- |
${rows.map((r) => `| ${r.figure} | ${r.value} | ${r.detail} | ${r.goal} | ${mark(r.met)} | ${r.date} |`).join('\n')}

${notes}
`;
  writeFileSync(file, text);
}

export function redisVersion(url: string): string {
  try {
    const u = new URL(url);
    return /redis_version:(\S+)/.exec(execFileSync('redis-cli', ['-h', u.hostname, '-p', u.port || '6379', 'INFO', 'server'], { encoding: 'utf8' }))?.[1] ?? 'unknown';
  } catch {
    return 'unknown';
  }
}
