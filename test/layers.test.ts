/**
 * The layers of the code base (.dependency-cruiser.cjs), checked with
 * dependency-cruiser: core/ imports neither gateway/ nor the tools, gateway/
 * imports no tools, there are no import cycles and every relative import
 * resolves. A fixture tree with planted violations proves each rule is live
 * (a rule that cannot fire would pass forever).
 */
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { cruise, type ICruiseResult, type IViolation } from 'dependency-cruiser';
import extractDepcruiseOptions from 'dependency-cruiser/config-utl/extract-depcruise-options';
import extractTSConfig from 'dependency-cruiser/config-utl/extract-ts-config';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

const REPO_ROOT = fileURLToPath(new URL('..', import.meta.url));
const CONFIG = path.join(REPO_ROOT, '.dependency-cruiser.cjs');
const CRUISED = ['core', 'gateway', 'scripts', 'bench', 'loadtest', 'test'];

/**
 * Cycles tolerated, each as its modules sorted: none. Nothing may be added
 * here: break the cycle instead.
 */
const KNOWN_CYCLES: string[][] = [];

/** Cruises `dirs` under `baseDir` with the project's rules and that directory's tsconfig.json. */
async function cruiseTree(baseDir: string, dirs: string[]): Promise<ICruiseResult> {
  const options = await extractDepcruiseOptions(CONFIG);
  const fileName = path.join(baseDir, 'tsconfig.json');
  const reported = await cruise(dirs, { ...options, baseDir, tsConfig: { fileName } }, {}, { tsConfig: extractTSConfig(fileName) });
  return reported.output as ICruiseResult;
}

function cycleOf(v: IViolation): string[] {
  return [...new Set((v.cycle ?? []).map((step) => step.name).concat(v.from))].sort();
}

function isKnownCycle(v: IViolation): boolean {
  if (v.rule.name !== 'no-cycles') return false;
  const cycle = cycleOf(v);
  return KNOWN_CYCLES.some((known) => known.length === cycle.length && known.every((m, i) => cycle[i] === m));
}

function describeViolation(v: IViolation): string {
  const via = v.cycle?.length ? ` (cycle: ${[v.from, ...v.cycle.map((s) => s.name)].join(' → ')})` : '';
  return `${v.rule.name}: ${v.from} → ${v.to}${via}`;
}

function violations(result: ICruiseResult, rule?: string): IViolation[] {
  return result.summary.violations.filter((v) => rule === undefined || v.rule.name === rule);
}

describe('the layers of the code base', () => {
  let result: ICruiseResult;

  beforeAll(async () => {
    result = await cruiseTree(REPO_ROOT, CRUISED);
  }, 60_000);

  it('sees the import graph: `.js` imports resolve to the `.ts` files', () => {
    expect(result.summary.totalCruised).toBeGreaterThan(150);
    expect(result.summary.totalDependenciesCruised).toBeGreaterThan(400);
    const main = result.modules.find((m) => m.source === 'gateway/main.ts');
    const resolved = main?.dependencies.map((d) => d.resolved) ?? [];
    expect(resolved).toContain('core/layout/generate-venue.ts');
    expect(resolved).toContain('gateway/node.ts');
    const store = result.modules.find((m) => m.source === 'core/store/seat-store.ts');
    expect(store?.dependencies.some((d) => d.resolved === 'core/store/keys.ts')).toBe(true);
  });

  it('holds: core/ and gateway/ import no outer layer, and every relative import resolves', () => {
    const found = result.summary.violations.filter((v) => v.rule.name !== 'no-cycles').map(describeViolation);
    expect(found, `layer violations:\n${found.join('\n')}`).toEqual([]);
  });

  it('has no import cycles', () => {
    const found = violations(result, 'no-cycles').filter((v) => !isKnownCycle(v)).map(describeViolation);
    expect(found, `import cycles:\n${found.join('\n')}`).toEqual([]);
  });
});

describe('the layer rules are live (a fixture tree with planted violations)', () => {
  let dir: string;
  const write = (file: string, text: string) => {
    mkdirSync(path.dirname(path.join(dir, file)), { recursive: true });
    writeFileSync(path.join(dir, file), text);
  };

  beforeAll(() => {
    dir = mkdtempSync(path.join(tmpdir(), 'seatmap-layers-'));
    write('tsconfig.json', JSON.stringify({ compilerOptions: { module: 'NodeNext', moduleResolution: 'NodeNext', strict: true, noEmit: true } }));
    write('package.json', JSON.stringify({ type: 'module' }));
    write('core/clean.ts', "export const clean = 1;\n");
    write('core/uses-gateway.ts', "import { server } from '../gateway/server.js';\nexport const x = server;\n");
    write('core/types-from-gateway.ts', "import type { Server } from '../gateway/server.js';\nexport type T = Server;\n");
    write('core/uses-bench.ts', "import { figure } from '../bench/figure.js';\nexport const y = figure;\n");
    write('gateway/server.ts', "import { clean } from '../core/clean.js';\nexport type Server = { n: number };\nexport const server: Server = { n: clean };\n");
    write('gateway/uses-scripts.ts', "import { tool } from '../scripts/tool.js';\nexport const z = tool;\n");
    write('gateway/uses-missing.ts', "import { gone } from './gone.js';\nexport const w = gone;\n");
    write('scripts/tool.ts', "import { server } from '../gateway/server.js';\nexport const tool = server;\n");
    write('bench/figure.ts', "export const figure = 2;\n");
    write('loadtest/a.ts', "import { b } from './b.js';\nexport const a = () => b;\n");
    write('loadtest/b.ts', "import { a } from './a.js';\nexport const b = () => a;\n");
  });

  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it('reports each planted violation, and nothing that is allowed', async () => {
    const fixture = await cruiseTree(dir, ['core', 'gateway', 'scripts', 'bench', 'loadtest']);
    const found = fixture.summary.violations.map((v) => `${v.rule.name}: ${v.from} → ${v.to}`).sort();
    expect(found).toEqual([
      'core-stays-below: core/types-from-gateway.ts → gateway/server.ts',
      'core-stays-below: core/uses-bench.ts → bench/figure.ts',
      'core-stays-below: core/uses-gateway.ts → gateway/server.ts',
      'gateway-without-tools: gateway/uses-scripts.ts → scripts/tool.ts',
      'no-cycles: loadtest/a.ts → loadtest/b.ts',
      'resolvable: gateway/uses-missing.ts → ./gone.js',
    ]);
    // the known-cycle exception matches only its own modules
    expect(violations(fixture, 'no-cycles').filter(isKnownCycle)).toEqual([]);
  }, 60_000);
});
