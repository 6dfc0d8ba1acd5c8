/**
 * `npm run bench [-- figure ...]`: the gateway's speed beside its limits and
 * its peers, each figure a ratio or a count measured in one run, printed as a
 * table and published in docs/performance.md. Figures: holds, op-cost, fanout,
 * watchers, connections, storm, snapshot, selection, events (all by default).
 */
import { createTestDatabase } from '../scripts/services/index.js';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { connections } from './figures/connections.js';
import { events } from './figures/events.js';
import { newContext, privateRedis, type Figure, type Row } from './figures/context.js';
import { fanout } from './figures/fanout.js';
import { holds } from './figures/holds.js';
import { opCost } from './figures/op-cost.js';
import { selection } from './figures/selection.js';
import { snapshot } from './figures/snapshot.js';
import { reconnectStorm } from './figures/storm.js';
import { watchersPerCore } from './figures/watchers.js';
import { PERFORMANCE_NOTES, limitsSection } from './performance-notes.js';
import { consoleTable, describeMachine, loadRuns, redisVersion, writePerformanceDoc } from './performance-report.js';
import { writeFileSync } from 'node:fs';

const REPO_ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const DOC = path.join(REPO_ROOT, 'docs/performance.md');
const RESULTS = path.join(REPO_ROOT, 'docs/bench/performance.json');

const FIGURES: Record<string, Figure> = { holds, 'op-cost': opCost, fanout, watchers: watchersPerCore, connections, storm: reconnectStorm, snapshot, selection, events };

const wanted = process.argv.slice(2);
const unknown = wanted.filter((f) => !(f in FIGURES));
if (unknown.length > 0) {
  process.stderr.write(`unknown figure ${unknown.join(', ')}; figures: ${Object.keys(FIGURES).join(', ')}\n`);
  process.exit(2);
}
const selected = wanted.length > 0 ? wanted : Object.keys(FIGURES);
const log = (m: string) => process.stderr.write(`${m}\n`);

const redis = await privateRedis(process.env.REDIS_URL ?? 'redis://127.0.0.1:6379', log);
// a database of its own, like the Redis: the gateways under test would otherwise rebuild every event an earlier run left in Postgres
const database = await createTestDatabase(process.env.DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/postgres');
const ctx = newContext(redis.url, database.url, log);
const machine = describeMachine(redisVersion(redis.url), ctx.fileLimit);
const runs = loadRuns(RESULTS);
const measured: Row[] = [];
let failed = false;
try {
  for (const name of selected) {
    log(`— ${name}`);
    try {
      const { rows, limits, partial } = await FIGURES[name]!(ctx);
      measured.push(...rows);
      if (partial) log(`${name}: a narrowed run, printed but not published:\n${rows.map((r) => `  ${r.figure}: ${r.value} (${r.detail})`).join('\n')}`);
      else runs[name] = { rows, limits, machine, date: new Date().toISOString() };
    } catch (err) {
      failed = true;
      log(`${name} failed: ${err instanceof Error ? err.stack : String(err)}`);
    }
  }
} finally {
  await ctx.redis.quit();
  redis.stop();
  await database.drop();
}
process.stdout.write(`\n${consoleTable(measured)}\n`);
writeFileSync(RESULTS, `${JSON.stringify(runs, null, 2)}\n`);
const figureLimits = Object.keys(FIGURES).flatMap((f) => runs[f]?.limits ?? []);
writePerformanceDoc(DOC, runs, Object.keys(FIGURES), `${PERFORMANCE_NOTES}\n${limitsSection(figureLimits)}`);
process.stdout.write(`\nwritten to ${path.relative(process.cwd(), DOC)}\n`);
process.exit(failed ? 1 : 0);
