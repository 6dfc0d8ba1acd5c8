/**
 * `npm run load -- <scenario> [options]`: runs a load scenario from Node,
 * with the same logic and thresholds as its k6 script, prints a summary and
 * exits non-zero when a threshold fails.
 *
 *   npm run load -- onsale --url ws://127.0.0.1:9001/ws --secret <JWT_SECRET> --clients 300 --duration 30s
 *   npm run load -- kiosk --spawn-gateway --json kiosk.json
 *
 * Options: --url, --event, --clients, --duration, --secret (HS256 secret to
 * mint a token per client), --token (one token for all), --processes (load
 * processes, each with its own loopback source address), --json <file>,
 * --set NAME=value (any scenario setting by its env name, repeatable),
 * --spawn-gateway (start a gateway of its own; the default without --url).
 *
 * Whatever the run holds is released when it ends; a gateway of its own and
 * its event are removed from Redis and Postgres (own-gateway.ts).
 */
import { writeFileSync } from 'node:fs';
import { parseArgs } from 'node:util';
import { ensureServices } from '../../scripts/services/index.js';
import { SCENARIOS } from '../lib/scenarios/index.js';
import { startOwnGateway, type OwnGateway } from './own-gateway.js';
import { runLoad, type ScenarioName } from './runner.js';
import { formatSummary } from './summary.js';

const USAGE = `usage: npm run load -- <${Object.keys(SCENARIOS).join('|')}> [--url ws://host:port/ws] [--event ID] [--clients N] [--duration 10s]
       [--secret JWT_SECRET | --token JWT] [--processes P] [--json report.json] [--set NAME=value ...] [--spawn-gateway]`;

function usage(problem: string): never {
  process.stderr.write(`${problem}\n${USAGE}\n`);
  process.exit(2);
}

const { values, positionals } = (() => {
  try {
    return parseArgs({
      allowPositionals: true,
      options: {
        url: { type: 'string' },
        event: { type: 'string' },
        clients: { type: 'string' },
        duration: { type: 'string' },
        secret: { type: 'string' },
        token: { type: 'string' },
        processes: { type: 'string' },
        json: { type: 'string' },
        set: { type: 'string', multiple: true },
        'spawn-gateway': { type: 'boolean' },
      },
    });
  } catch (err) {
    return usage((err as Error).message);
  }
})();

const scenario = positionals[0] as ScenarioName | undefined;
if (!scenario || !(scenario in SCENARIOS)) usage(scenario ? `unknown scenario ${scenario}` : 'which scenario?');

const env: Record<string, string | undefined> = {};
for (const pair of values.set ?? []) {
  const at = pair.indexOf('=');
  if (at < 1) usage(`--set expects NAME=value, got ${pair}`);
  env[pair.slice(0, at).toUpperCase()] = pair.slice(at + 1);
}
const named: Record<string, string | undefined> = { URL: values.url, EV: values.event, CLIENTS: values.clients, DURATION: values.duration, JWT_SECRET: values.secret ?? process.env.JWT_SECRET, TOKEN: values.token };
for (const [k, v] of Object.entries(named)) if (v !== undefined) env[k] = v;

let own: OwnGateway | undefined;
if (values['spawn-gateway'] || !values.url) {
  const services = await ensureServices({ redis: true, postgres: true, logger: (msg) => process.stderr.write(`[services] ${msg}\n`) });
  own = await startOwnGateway(services, (msg) => process.stderr.write(`${msg}\n`));
  Object.assign(env, own.env);
}

let exitCode = 1;
try {
  const report = await runLoad({ scenario: scenario!, env, processes: Number(values.processes ?? 2) });
  process.stdout.write(`${formatSummary(report)}\n`);
  if (values.json) {
    writeFileSync(values.json, `${JSON.stringify(report, null, 2)}\n`);
    process.stdout.write(`report written to ${values.json}\n`);
  }
  exitCode = report.passed ? 0 : 1;
} finally {
  // the event this run made goes from Redis and Postgres; the clients have released their holds
  await own?.remove();
}
process.exit(exitCode);
