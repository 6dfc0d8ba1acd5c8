/**
 * Cost per watched event (issue: idle events must cost nearly nothing): the
 * events-run measurement at 1, 1,000 and 10,000 watched events, each a
 * gateway on a Redis of its own; rows for each size and the 10,000 ÷ 1 ratios
 * of idle gateway CPU, idle Redis CPU and hold→diff p99 (goal ≤ 2× each).
 * `npm run bench:events` runs the same measurement to compare checkouts.
 */
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { measureEvents, type EventsRow } from './events-run.js';
import { fmt, type Figure, type Row } from './context.js';

const REPO_ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
const SIZES = [1, 1_000, 10_000];
const GOAL = 2;

const pct = (v: number) => `${fmt(v, 1)}%`;
/** a ratio of CPU shares: a share under 0.1% of a core counts as 0.1% (the reading's resolution) */
const ratio = (most: number, one: number) => most / Math.max(0.1, one);

export const events: Figure = async (ctx) => {
  const rows: EventsRow[] = [];
  for (const n of SIZES) {
    const r = await measureEvents(REPO_ROOT, 'gateway', n, { idleS: 6, loadS: 10 });
    ctx.log(`events ${fmt(n)}: idle gateway ${pct(r.idleGatewayPct)}, idle Redis ${pct(r.idleRedisPct)}, hold→diff p99 ${fmt(r.p99, 1)} ms`);
    rows.push(r);
  }
  const one = rows[0]!;
  const most = rows[rows.length - 1]!;
  const perSize: Row[] = rows.map((r) => ({
    figure: `${fmt(r.events)} watched event${r.events === 1 ? "" : "s"} (100 seats, a watcher each): idle gateway CPU / idle Redis CPU / hold→diff p99`,
    value: `${pct(r.idleGatewayPct)} / ${pct(r.idleRedisPct)} / ${fmt(r.p99)} ms`,
    detail: `at rest 6 s, then 200 operations/s on random events for 10 s: gateway ${pct(r.loadGatewayPct)}, Redis ${pct(r.loadRedisPct)} of a core, hold→diff p50 ${fmt(r.p50, 1)} ms, ${fmt(r.diffs)} diffs`,
    goal: '',
    met: null,
  }));
  const ratios = [ratio(most.idleGatewayPct, one.idleGatewayPct), ratio(most.idleRedisPct, one.idleRedisPct), most.p99 / one.p99];
  return {
    rows: [
      ...perSize,
      {
        figure: `${fmt(most.events)} watched events ÷ 1: idle gateway CPU / idle Redis CPU / hold→diff p99`,
        value: ratios.map((x) => `${fmt(x, 1)}×`).join(' / '),
        detail: `${pct(most.idleGatewayPct)} vs ${pct(one.idleGatewayPct)}, ${pct(most.idleRedisPct)} vs ${pct(one.idleRedisPct)}, ${fmt(most.p99, 1)} vs ${fmt(one.p99, 1)} ms`,
        goal: `≤ ${GOAL}× each`,
        met: ratios.every((x) => x <= GOAL),
      },
    ],
    limits: [],
  };
};
