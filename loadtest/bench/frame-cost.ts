/**
 * `npm run bench:k6 [-- --k6 <binary> ...]`: what one frame costs a load
 * client, measured with the bundled code (loadtest/lib/frame-cost.js) in Node
 * and, for each k6 binary given, inside that k6. Prints the table and writes
 * it into loadtest/README.md between its frame-cost markers.
 */
import { execFileSync, spawnSync } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { measureFrameCosts } from '../lib/frame-cost.js';

const HERE = path.dirname(fileURLToPath(import.meta.url));
const README = path.join(HERE, '../README.md');
const K6_SCRIPT = path.join(HERE, 'frame-cost.k6.js');
const BEGIN = '<!-- frame-cost:begin (npm run bench:k6 writes this table) -->';
const END = '<!-- frame-cost:end -->';

type Costs = Record<string, number>;

const ROWS: [key: string, label: string, goal?: string][] = [
  ['decodeDiffUs', 'decode a small diff frame (1–4 seats)', '< 20 µs'],
  ['clientDiffFrameUs', "a load client's whole work per diff frame (decode, apply, continuity, timing)", '< 20 µs'],
  ['applyDiffUs', 'apply a decoded diff to a SeatView'],
  ['decodeSnapUs', 'decode a 20,000-seat snapshot frame'],
  ['applySnapUs', 'apply a 20,000-seat snapshot (copy of the states)', '< 1 ms'],
  ['clientSnapFrameUs', "a load client's whole work per 20,000-seat snapshot frame", '< 1 ms'],
  ['freeSeatsHotUs', 'list the free seats of a sold-out 500-seat hot section'],
  ['freeSeatAnywhereUs', 'find a free seat anywhere in a nearly sold-out 20,000-seat event'],
  ['metricSampleUs', 'record one k6 metric sample (why per-frame counters are added up)'],
];

function parseArgs(argv: string[]): string[] {
  const binaries: string[] = [];
  for (let i = 0; i < argv.length; i++) {
    if (argv[i] === '--k6' && argv[i + 1]) binaries.push(argv[++i]!);
    else throw new Error(`usage: npm run bench:k6 [-- --k6 <k6 binary> ...] (unexpected ${argv[i]})`);
  }
  return binaries;
}

function k6Costs(binary: string): { version: string; costs: Costs } {
  const version = execFileSync(binary, ['version'], { encoding: 'utf8' }).trim().split(/\s+/).find((w) => /^v\d/.test(w)) ?? 'k6';
  // console.log lands in k6's log, on stderr
  const run = spawnSync(binary, ['run', '--no-usage-report', '-q', K6_SCRIPT], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });
  const output = `${run.stdout}${run.stderr}`;
  const line = /FRAME_COSTS (\{.*?\})(?:"|\s|$)/.exec(output.replace(/\\"/g, '"'));
  if (!line) throw new Error(`${binary} printed no FRAME_COSTS line:\n${output}`);
  return { version, costs: JSON.parse(line[1]!) as Costs };
}

const fmt = (us: number | undefined): string => {
  if (us === undefined || !Number.isFinite(us)) return '—';
  if (us >= 1000) return `${(us / 1000).toFixed(1)} ms`;
  if (us >= 10) return `${us.toFixed(0)} µs`;
  return `${us.toFixed(2)} µs`;
};

const binaries = parseArgs(process.argv.slice(2));
const columns: { name: string; costs: Costs }[] = [{ name: `Node ${process.version}`, costs: measureFrameCosts(() => performance.now(), { minMs: 500 }) }];
for (const binary of binaries) {
  const { version, costs } = k6Costs(binary);
  columns.push({ name: `k6 ${version}`, costs });
}

const header = `| per frame | ${columns.map((c) => c.name).join(' | ')} | goal |`;
const rule = `| --- | ${columns.map(() => '---:').join(' | ')} | --- |`;
const body = ROWS.map(([key, label, goal]) => `| ${label} | ${columns.map((c) => fmt(c.costs[key])).join(' | ')} | ${goal ?? ''} |`);
const machine = `${os.cpus().length} × ${os.cpus()[0]?.model.trim() ?? 'CPU'}, load average ${os.loadavg()[0]!.toFixed(1)} at the start, ${new Date().toISOString().slice(0, 10)}`;
const table = [header, rule, ...body, '', `Measured on ${machine}.`].join('\n');
process.stdout.write(`${table}\n`);

const readme = readFileSync(README, 'utf8');
const from = readme.indexOf(BEGIN);
const to = readme.indexOf(END);
if (from < 0 || to < from) throw new Error(`${README} has no frame-cost markers`);
writeFileSync(README, `${readme.slice(0, from + BEGIN.length)}\n${table}\n${readme.slice(to)}`);
process.stderr.write(`wrote the table into ${path.relative(process.cwd(), README)}\n`);
