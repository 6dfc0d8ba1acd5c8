/**
 * The k6 scripts run as k6 would run them, in a stubbed k6 environment: the
 * bundle of each script (its k6 imports served by stubs that record metrics)
 * is evaluated in a fresh V8 context that has exactly the globals given.
 *
 * - Without global timers (k6 before 0.51) a script fails at module load,
 *   before any VU would start.
 * - With timers but a gateway that never answers, every scenario did no work,
 *   and its thresholds (evaluated as k6 does) fail the run.
 * - `k6/websockets` is used where the k6 has it, the experimental module otherwise.
 */
import path from 'node:path';
import vm from 'node:vm';
import { build, type Plugin } from 'esbuild';
import { describe, expect, it } from 'vitest';
import { SCENARIOS } from '../loadtest/lib/scenarios/index.js';
import { evaluateThresholds } from '../loadtest/node/thresholds.js';
import type { MetricData } from '../loadtest/node/metrics.js';

const K6_DIR = path.resolve('loadtest/k6');

/** Stub sources of the k6 modules the scripts import; `missing` ones throw on import, as an unknown module does in k6. */
function k6Stubs(missing: string[]): Plugin {
  const sources: Record<string, string> = {
    k6: 'export function check(value, sets) { for (const k of Object.keys(sets)) globalThis.__k6.rate("checks", sets[k](value)); return true; }',
    'k6/crypto': 'export default { hmac: () => "c2ln" };',
    'k6/encoding': 'export default { b64encode: () => "e30" };',
    'k6/metrics': `
      class Metric { constructor(name, kind) { this.name = name; this.kind = kind; } add(v) { globalThis.__k6[this.kind](this.name, v); } }
      export class Counter extends Metric { constructor(n) { super(n, 'count'); } }
      export class Rate extends Metric { constructor(n) { super(n, 'rate'); } }
      export class Trend extends Metric { constructor(n) { super(n, 'trend'); } }`,
    // a gateway that never answers: sockets that never open
    'k6/websockets': 'export class WebSocket { constructor(url) { globalThis.__k6.sockets.push({ url, module: "k6/websockets" }); } close() {} send() {} }',
    'k6/experimental/websockets': 'export class WebSocket { constructor(url) { globalThis.__k6.sockets.push({ url, module: "k6/experimental/websockets" }); } close() {} send() {} }',
  };
  return {
    name: 'k6-stubs',
    setup(b) {
      b.onResolve({ filter: /^k6(\/.*)?$/ }, (args) => ({ path: args.path, namespace: 'k6' }));
      b.onLoad({ filter: /.*/, namespace: 'k6' }, (args) => ({
        contents: missing.includes(args.path) ? `throw new Error('GoError: unknown module: ${args.path}');` : sources[args.path] ?? `throw new Error('no stub for ${args.path}');`,
        loader: 'js',
      }));
    },
  };
}

async function bundle(script: string, missing: string[] = []): Promise<string> {
  const result = await build({
    entryPoints: [path.join(K6_DIR, script)],
    bundle: true,
    write: false,
    format: 'iife',
    globalName: '__script',
    platform: 'neutral',
    target: 'es2017',
    plugins: [k6Stubs(missing)],
    logLevel: 'silent',
  });
  return result.outputFiles[0]!.text;
}

interface Recorded extends MetricData {
  sockets: { url: string; module: string }[];
}

/** A fresh context with only what k6 gives a script: __ENV, __VU, console, and the timers when asked. */
function k6Context(env: Record<string, string>, timers: boolean): { context: vm.Context; recorded: Recorded } {
  const recorded: Recorded = { trends: {}, rates: {}, counters: {}, notes: {}, sockets: [] };
  const sink = {
    count: (name: string, n: number) => (recorded.counters[name] = (recorded.counters[name] ?? 0) + n),
    rate: (name: string, ok: boolean) => {
      const r = (recorded.rates[name] ??= [0, 0]);
      r[0] += ok ? 1 : 0;
      r[1] += 1;
    },
    trend: (name: string, v: number) => (recorded.trends[name] ??= []).push(v),
    sockets: recorded.sockets,
  };
  const globals: Record<string, unknown> = { __ENV: env, __VU: 1, console, __k6: sink };
  if (timers) Object.assign(globals, { setTimeout, clearTimeout });
  return { context: vm.createContext(globals), recorded };
}

const scripts = Object.keys(SCENARIOS).map((name) => `${name}.js`);

describe('the k6 scripts in a stubbed k6', () => {
  it.each(scripts)('%s fails at module load on a k6 without global timers (before 0.51)', async (script) => {
    const code = await bundle(script);
    const { context } = k6Context({}, false);
    expect(() => vm.runInContext(code, context)).toThrow(/need k6 0\.51 to 1\.x: this k6 has no global timers/);
  });

  it.each(scripts)('%s fails its thresholds when it did no work (a gateway that never answers)', async (script) => {
    const code = await bundle(script);
    const env = { URL: 'ws://127.0.0.1:9/ws', CLIENTS: '2', DURATION: '300ms', SPIKE: '50ms', RAMP: '50ms', REQUEST_TIMEOUT: '200ms', JWT_SECRET: 's' };
    const { context, recorded } = k6Context(env, true);
    vm.runInContext(code, context);
    const k6 = (context as { __script: { options: { thresholds: Record<string, string[]> }; setup: () => unknown; default: (data: unknown) => void } }).__script;
    const data = k6.setup();
    k6.default(data);
    await new Promise((resolve) => setTimeout(resolve, 2200)); // setup starts the clients 1 s on; the run's end, and its settling
    expect(recorded.sockets.length).toBeGreaterThan(0); // it tried
    const results = evaluateThresholds(k6.options.thresholds, recorded);
    const failed = results.filter((r) => !r.ok).map((r) => `${r.metric} ${r.expression}`);
    // among the failures, the one that says "no work": a count>0 on what the scenario exists to do
    expect(failed.some((f) => f.endsWith('count>0')), failed.join(', ')).toBe(true);
  });

  it('uses k6/websockets where k6 has it (1.6 and later), the experimental module otherwise', async () => {
    for (const [missing, module] of [[[], 'k6/websockets'], [['k6/websockets'], 'k6/experimental/websockets']] as const) {
      const code = await bundle('browse.js', [...missing]);
      const { context, recorded } = k6Context({ URL: 'ws://127.0.0.1:9/ws', CLIENTS: '1', DURATION: '100ms', RAMP: '0ms' }, true);
      vm.runInContext(code, context);
      const k6 = (context as { __script: { setup: () => unknown; default: (data: unknown) => void } }).__script;
      k6.default(k6.setup());
      await new Promise((resolve) => setTimeout(resolve, 1400));
      expect(recorded.sockets.map((s) => s.module)).toEqual(expect.arrayContaining([module]));
      expect(new Set(recorded.sockets.map((s) => s.module)).size).toBe(1);
    }
  });
});
