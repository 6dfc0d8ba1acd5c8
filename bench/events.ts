/**
 * Cost per watched event (npm run bench:events): one gateway process on a
 * Redis of its own, N events of 100 seats each with one watcher each; the
 * gateway's and Redis's CPU at rest, then under 100 holds/s each released
 * again (200 operations/s, on random events), with the hold→diff latency a
 * watcher sees (p50/p99). At N = 1, 1,000 and 10,000 events.
 *
 *   npm run bench:events [-- --events 1,1000,10000 --gateway-dir ../main]
 *
 * `--gateway-dir` runs the gateway of another checkout (its gateway/main.ts,
 * with its own node_modules), so the same run measures before and after;
 * `--label` names the column. Writes docs/bench/events.md (with --write).
 */
import { writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { measureEvents, type EventsRow } from './figures/events-run.js';

const { values: opts } = parseArgs({
  options: {
    events: { type: 'string', default: '1,1000,10000' },
    'gateway-dir': { type: 'string', multiple: true },
    label: { type: 'string', multiple: true },
    'idle-s': { type: 'string', default: '6' },
    'load-s': { type: 'string', default: '10' },
    write: { type: 'boolean', default: false },
  },
});
const SIZES = opts.events.split(',').map(Number);
const DIRS = opts['gateway-dir'] ?? [process.cwd()];
const LABELS = opts.label ?? DIRS.map((d) => path.basename(path.resolve(d)));
const IDLE_S = Number(opts['idle-s']);
const LOAD_S = Number(opts['load-s']);

const rows: EventsRow[] = [];
for (const size of SIZES) {
  for (let d = 0; d < DIRS.length; d++) {
    const row = await measureEvents(DIRS[d]!, LABELS[d]!, size, { idleS: IDLE_S, loadS: LOAD_S });
    rows.push(row);
    console.log(
      `${row.label} ${row.events} events: idle gateway ${row.idleGatewayPct.toFixed(1)}% redis ${row.idleRedisPct.toFixed(1)}%; ` +
        `under 200 ops/s gateway ${row.loadGatewayPct.toFixed(1)}% redis ${row.loadRedisPct.toFixed(1)}%, hold→diff p50 ${row.p50.toFixed(1)} ms p99 ${row.p99.toFixed(1)} ms (${row.diffs} diffs)`,
    );
  }
}

const pct = (v: number) => `${v.toFixed(1)}%`;
const ms = (v: number) => `${v.toFixed(1)} ms`;
const lines = [
  '# Cost per watched event',
  '',
  `\`npm run bench:events\` on ${os.cpus().length} cores (${os.cpus()[0]?.model ?? 'unknown CPU'}), ${new Date().toISOString().slice(0, 10)}.`,
  'One gateway process on a Redis of its own, N events of 100 seats with one watcher each (500 subscriptions per connection);',
  `at rest for ${IDLE_S} s, then ${LOAD_S} s of 100 holds/s on random events, each released 100 ms later (200 operations/s).`,
  'CPU is % of one core (gateway: /proc/<pid>/stat; Redis: INFO cpu). Latency: from the hold call to the watcher\'s diff.',
  '',
  '| build | events watched | idle gateway CPU | idle Redis CPU | gateway CPU under load | Redis CPU under load | hold→diff p50 | hold→diff p99 |',
  '| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: |',
  ...rows.map((r) => `| ${r.label} | ${r.events.toLocaleString('en')} | ${pct(r.idleGatewayPct)} | ${pct(r.idleRedisPct)} | ${pct(r.loadGatewayPct)} | ${pct(r.loadRedisPct)} | ${ms(r.p50)} | ${ms(r.p99)} |`),
  '',
];
for (const label of LABELS) {
  const mine = rows.filter((r) => r.label === label);
  const one = mine.find((r) => r.events === Math.min(...SIZES));
  const most = mine.find((r) => r.events === Math.max(...SIZES));
  if (one && most && one !== most) {
    lines.push(
      `${label}: at ${most.events.toLocaleString('en')} events against ${one.events}: idle gateway CPU ×${(most.idleGatewayPct / Math.max(0.1, one.idleGatewayPct)).toFixed(1)} ` +
        `(${pct(most.idleGatewayPct)} vs ${pct(one.idleGatewayPct)}), idle Redis CPU ×${(most.idleRedisPct / Math.max(0.1, one.idleRedisPct)).toFixed(1)} ` +
        `(${pct(most.idleRedisPct)} vs ${pct(one.idleRedisPct)}), hold→diff p99 ×${(most.p99 / one.p99).toFixed(1)} (${ms(most.p99)} vs ${ms(one.p99)}).`,
      '',
    );
  }
}
console.log(lines.join('\n'));
if (opts.write) writeFileSync('docs/bench/events.md', lines.join('\n'));
process.exit(0);
