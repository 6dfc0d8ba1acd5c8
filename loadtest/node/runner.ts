/**
 * The Node runner: runs a scenario's clients over several child processes,
 * each from its own loopback source address, merges their metrics, checks
 * the scenario's thresholds (k6 syntax) and builds the report.
 */
import { fork } from 'node:child_process';
import { isIP } from 'node:net';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { SCENARIOS } from '../lib/scenarios/index.js';
import { scenarioConfig, scenarioThresholds } from '../lib/scenario.js';
import { mergeMetrics, summarizeTrend, type MetricData, type TrendSummary } from './metrics.js';
import { now } from './platform.js';
import { evaluateThresholds, type ThresholdResult } from './thresholds.js';
import type { WorkerReply, WorkerTask } from './worker.js';

const WORKER = path.join(path.dirname(fileURLToPath(import.meta.url)), 'worker.ts');
/** Time for the workers to start before the run's clock begins. */
const START_MARGIN_MS = 1500;

export type ScenarioName = keyof typeof SCENARIOS;

export interface LoadOptions {
  scenario: ScenarioName;
  /** scenario settings by their env names (URL, CLIENTS, DURATION, JWT_SECRET, HOT_SEATS, ...) */
  env: Record<string, string | undefined>;
  processes: number;
  /** spread processes over 127.0.0.2, .3, ... (only for an IPv4 loopback URL) */
  sourceAddresses?: boolean;
}

export interface LoadReport {
  scenario: ScenarioName;
  settings: Record<string, string | number>;
  processes: number;
  seconds: number;
  trends: Record<string, TrendSummary>;
  rates: Record<string, { rate: number; passes: number; total: number }>;
  counters: Record<string, number>;
  thresholds: ThresholdResult[];
  passed: boolean;
  notes: Record<string, unknown[]>;
}

export async function runLoad(options: LoadOptions): Promise<LoadReport> {
  const scenario = SCENARIOS[options.scenario];
  if (!scenario) throw new Error(`unknown scenario ${options.scenario}; one of ${Object.keys(SCENARIOS).join(', ')}`);
  const cfg = scenarioConfig(scenario, options.env) as Record<string, string | number>;
  // holders of this run apart from those of earlier runs
  cfg.subPrefix = `${cfg.subPrefix}-${Date.now().toString(36)}`;
  const clients = Number(cfg.clients);
  const processes = Math.max(1, Math.min(options.processes, clients));
  const host = new URL(String(cfg.url)).hostname;
  const spread = (options.sourceAddresses ?? true) && isIP(host) === 4 && host.startsWith('127.');
  const startedAt = now() + START_MARGIN_MS;
  const tasks: WorkerTask[] = Array.from({ length: processes }, (_, p) => ({
    scenario: options.scenario,
    cfg,
    from: Math.floor((p * clients) / processes),
    to: Math.floor(((p + 1) * clients) / processes),
    startedAt,
    ...(spread ? { localAddress: `127.0.0.${2 + (p % 250)}` } : {}),
  }));
  const parts = await Promise.all(tasks.map(runWorker));
  const data = mergeMetrics(parts);
  return buildReport(options.scenario, cfg, processes, (now() - startedAt) / 1000, data, scenarioThresholds(scenario));
}

function runWorker(task: WorkerTask): Promise<MetricData> {
  return new Promise((resolve, reject) => {
    const child = fork(WORKER, [], {
      execArgv: ['--import', 'tsx'],
      env: { ...process.env, SEATMAP_LOAD_WORKER: '1' },
      stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
      serialization: 'advanced',
    });
    let reply: WorkerReply | undefined;
    child.once('message', (m: WorkerReply) => (reply = m));
    child.once('error', reject);
    child.once('exit', (code) => {
      if (reply?.type === 'done') resolve(reply.metrics);
      else reject(new Error(reply?.type === 'failed' ? reply.message : `load process exited with ${code} before reporting`));
    });
    child.send(task);
  });
}

export function buildReport(
  scenario: ScenarioName,
  settings: Record<string, string | number>,
  processes: number,
  seconds: number,
  data: MetricData,
  thresholds: Record<string, readonly string[]>,
): LoadReport {
  const results = evaluateThresholds(thresholds, data);
  const { jwtSecret, token, ...shown } = settings;
  return {
    scenario,
    settings: { ...shown, ...(jwtSecret ? { jwtSecret: '<secret>' } : {}), ...(token ? { token: '<token>' } : {}) },
    processes,
    seconds,
    trends: Object.fromEntries(Object.entries(data.trends).map(([k, v]) => [k, summarizeTrend(v)])),
    rates: Object.fromEntries(Object.entries(data.rates).map(([k, [passes, total]]) => [k, { rate: total ? passes / total : 0, passes, total }])),
    counters: data.counters,
    thresholds: results,
    passed: results.every((r) => r.ok),
    notes: data.notes,
  };
}
