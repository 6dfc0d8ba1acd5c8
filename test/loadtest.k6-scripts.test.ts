/**
 * The k6 scripts checked statically (test/loadtest.k6-stubbed.test.ts runs them in a stubbed k6): each
 * imports only k6 modules and local files (every file it reaches, too), parses
 * as the ES2017 k6 runs, and has options with thresholds and a default function.
 */
import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { build } from 'esbuild';
import { describe, expect, it } from 'vitest';
import { METRICS } from '../loadtest/lib/metrics.js';
import { SCENARIOS } from '../loadtest/lib/scenarios/index.js';
import { scenarioThresholds } from '../loadtest/lib/scenario.js';
import { evaluateThresholds } from '../loadtest/node/thresholds.js';

const K6_DIR = path.resolve('loadtest/k6');
const scripts = readdirSync(K6_DIR).filter((f) => f.endsWith('.js') && f !== 'platform.js');

describe('k6 scripts', () => {
  it('exist, one per scenario', () => {
    expect(scripts.map((f) => f.replace(/\.js$/, '')).sort()).toEqual(Object.keys(SCENARIOS).sort());
  });

  it.each(scripts)('%s imports only k6 modules and files under loadtest/', async (file) => {
    const result = await build({
      entryPoints: [path.join(K6_DIR, file)],
      bundle: true,
      write: false,
      metafile: true,
      format: 'esm',
      platform: 'neutral',
      target: 'es2017',
      external: ['k6', 'k6/*'],
      logLevel: 'silent',
    });
    const inputs = result.metafile.inputs;
    for (const [input, meta] of Object.entries(inputs)) {
      expect(path.resolve(input).startsWith(path.resolve('loadtest') + path.sep), input).toBe(true);
      for (const imp of meta.imports) {
        if (imp.external) expect(imp.path, `${input} imports ${imp.path}`).toMatch(/^k6(\/[a-z/]+)?$/);
        else expect(imp.original ?? imp.path, `${input} imports ${imp.path}`).toMatch(/^\.\.?\//);
      }
    }
    // k6/websockets where the k6 has it (1.6 on), the experimental module of 0.51 … 1.x otherwise
    expect(Object.values(inputs).flatMap((m) => m.imports.map((i) => i.path))).toEqual(expect.arrayContaining(['k6/websockets', 'k6/experimental/websockets']));
  });

  it.each(scripts)('%s exports options with thresholds and a default function', (file) => {
    const text = readFileSync(path.join(K6_DIR, file), 'utf8');
    expect(text).toMatch(/^export const options = \{[\s\S]*?\bthresholds\b[\s\S]*?\};$/m);
    expect(text).toMatch(/^export default function\b/m);
    expect(text).toMatch(new RegExp(`from '\\.\\./lib/scenarios/${file}'`));
  });

  it.each(Object.values(SCENARIOS))('$name thresholds are valid k6 expressions the Node runner evaluates', (scenario) => {
    const thresholds = scenarioThresholds(scenario);
    expect(Object.keys(thresholds)).toEqual(expect.arrayContaining(['errors', 'diff_gaps']));
    expect(() => evaluateThresholds(thresholds, { trends: {}, rates: {}, counters: {}, notes: {} })).not.toThrow();
  });

  it('declares every metric the scenario code records, with its kind (k6 creates metrics up front)', () => {
    const lib = path.resolve('loadtest/lib');
    const files = readdirSync(lib, { recursive: true, encoding: 'utf8' }).filter((f) => f.endsWith('.js'));
    const recorded = new Map<string, string>();
    for (const file of files) {
      for (const m of readFileSync(path.join(lib, file), 'utf8').matchAll(/\.(count|trend|rate)\('([a-z_]+)'/g)) recorded.set(m[2]!, m[1] === 'count' ? 'counter' : m[1]!);
    }
    expect(recorded.size).toBeGreaterThan(10);
    for (const [name, kind] of recorded) expect(METRICS[name as keyof typeof METRICS], name).toBe(kind);
  });

  it('sends ArrayBuffers and sets binaryType inside try/catch', () => {
    const text = readFileSync(path.join(K6_DIR, 'platform.js'), 'utf8');
    expect(text).toContain('.slice().buffer');
    expect(text).toMatch(/try \{\s*ws\.binaryType = 'arraybuffer'/);
  });
});
