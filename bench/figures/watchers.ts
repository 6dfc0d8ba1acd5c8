/**
 * Watchers per core: the largest number of watchers of one event that one
 * gateway process (one core) serves with a hold-to-diff p99 under 100 ms
 * while 2,000 changes a second are made (1,000 holds/s, each released a
 * second later), found by doubling and then bisecting; beside the loopback
 * limit worked out from the measured cost of one socket write (at 20 diffs a
 * second, one core writes to 1 / (20 × cost) watchers); and the same search
 * with WORKERS=2 (two processes on one port, the pair's figure).
 *
 * BENCH_WATCHERS_MAX caps the search (default: what one process may hold).
 */
import { cpuSeconds } from '../load/process-stats.js';
import { watchersLimits } from '../performance-notes.js';
import { runFanout, type FanoutRun } from './fanout-run.js';
import { fmt, perProcessConnections, type BenchContext, type Figure, type Row } from './context.js';

const SECONDS = 6;
const P99_MS = 100;
/** the tick's diffs a second: each watcher of a busy event gets one per tick */
const TICK_DIFFS = 20;
const BISECT_STEPS = 2;

interface Search {
  best: FanoutRun | null;
  firstMiss: FanoutRun | null;
  runs: FanoutRun[];
}

const passes = (r: FanoutRun) => r.inSync === r.watchers && r.delays['p(99)'] < P99_MS;

async function search(ctx: BenchContext, env: Record<string, string>, max: number): Promise<Search> {
  const runs: FanoutRun[] = [];
  const run = async (watchers: number) => {
    const r = await runFanout(ctx, 'gateway', watchers, SECONDS, env);
    runs.push(r);
    ctx.log(`watchers per core${env.WORKERS ? ` (WORKERS=${env.WORKERS})` : ''}: ${fmt(watchers)} → p99 ${fmt(r.delays['p(99)'])} ms, ${r.inSync}/${r.watchers} in sync`);
    return r;
  };
  let best: FanoutRun | null = null;
  let firstMiss: FanoutRun | null = null;
  for (let w = 1000; w <= max; w = Math.min(max, w * 2)) {
    const r = await run(w);
    if (!passes(r)) {
      firstMiss = r;
      break;
    }
    best = r;
    if (w === max) break;
  }
  let low = best?.watchers ?? 0;
  let high = firstMiss?.watchers ?? 0;
  for (let i = 0; i < BISECT_STEPS && firstMiss && high - low > 250; i++) {
    const r = await run(Math.round((low + high) / 2));
    if (passes(r)) {
      best = r;
      low = r.watchers;
    } else {
      firstMiss = r;
      high = r.watchers;
    }
  }
  return { best, firstMiss, runs };
}

/** Gateway CPU seconds per socket write: the extra CPU of a run over the one-watcher run, per diff written. */
function costPerWrite(run: FanoutRun, alone: FanoutRun): number {
  const cores = (r: FanoutRun) => cpuSeconds(r.window.usage) / r.window.seconds;
  const writes = (r: FanoutRun) => (r.published * r.watchers) / r.window.seconds;
  return (cores(run) - cores(alone)) / (writes(run) - writes(alone));
}

/** `usage`: the run's gateway CPU and CPU wait, read from the gateway's pid (one process: not with WORKERS, whose pid is the primary's) */
function row(name: string, s: Search, limit: number, goal: string, met: boolean | null, limitOf = 'per core', usage = true): Row {
  const b = s.best;
  const fewest = Math.min(...s.runs.map((r) => r.watchers));
  // what the run got from the shared machine: the gateway's cores, and how long its event loop was runnable but waited for a core
  const used = (r: FanoutRun) => `${fmt(cpuSeconds(r.window.usage) / r.window.seconds, 2)} cores, waited ${fmt((100 * r.window.usage.waitedS) / r.window.seconds)}%`;
  const tried = s.runs.map((r) => `${fmt(r.watchers)}: p99 ${fmt(r.delays['p(99)'])} ms${usage ? `, ${used(r)}` : ''}`).join(usage ? '; ' : ', ');
  return {
    figure: name,
    value: b ? fmt(b.watchers) : `< ${fmt(fewest)}`,
    detail: `largest with hold-to-diff p99 < ${P99_MS} ms at 2,000 changes/s (runs of ${SECONDS} s${usage ? ', gateway CPU and CPU wait during each' : ''}: ${tried}); loopback limit ≈ ${fmt(limit)} watchers ${limitOf}`,
    goal,
    met,
  };
}

export const watchersPerCore: Figure = async (ctx) => {
  const max = Math.min(Number(process.env.BENCH_WATCHERS_MAX ?? Infinity), perProcessConnections(ctx));
  const alone = await runFanout(ctx, 'gateway', 1, SECONDS);
  const one = await search(ctx, {}, max);
  const measured = one.firstMiss ?? one.best;
  const perWrite = measured ? costPerWrite(measured, alone) : Number.NaN;
  const limit = perWrite > 0 ? 1 / (TICK_DIFFS * perWrite) : Number.NaN;
  const pair = await search(ctx, { WORKERS: '2' }, max);
  const ratio = (one.best?.watchers ?? 0) / limit;
  return {
    rows: [
      {
        ...row('watchers one gateway core serves within 100 ms p99, 2,000 changes/s', one, limit, '≥ 0.8 of the loopback limit', Number.isFinite(ratio) ? ratio >= 0.8 : null),
        detail: `${row('', one, limit, '', null).detail}, from ≈ ${fmt(perWrite * 1e6, 1)} µs of gateway CPU per socket write; ${fmt(ratio, 2)} of it`,
      },
      row('watchers two gateway processes (WORKERS=2) serve within 100 ms p99, 2,000 changes/s', pair, 2 * limit, '', null, 'for the pair', false),
    ],
    limits: [watchersLimits(alone, one.best, one.firstMiss, limit, pair.best)],
  };
};
