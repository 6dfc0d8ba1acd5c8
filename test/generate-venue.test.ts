import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { compileLayout, parseLayout, seatsByCategory, validateLayout, type Layout } from '../core/layout/index.js';
import { generateVenue, MAX_VENUE_SEATS, MIN_VENUE_SEATS } from '../core/layout/generate-venue.js';

const repoRoot = fileURLToPath(new URL('..', import.meta.url));
const script = join(repoRoot, 'scripts', 'generate-venue.ts');

function countSeats(layout: Layout): number {
  let count = 0;
  for (const section of layout.sections) for (const row of section.rows) count += row.seats.length;
  return count;
}

/** Validates the layout as it would arrive from the CLI's JSON output. */
function issuesAfterJsonRoundTrip(layout: Layout): unknown[] {
  const result = validateLayout(JSON.parse(JSON.stringify(layout)));
  return result.ok ? [] : result.issues;
}

function runCli(...args: string[]) {
  return spawnSync(process.execPath, ['--import', 'tsx', script, ...args], { cwd: repoRoot, encoding: 'utf8', maxBuffer: 64 << 20 });
}

describe('generateVenue', () => {
  it.each([100, 1_000, 20_000])('builds exactly %i seats that validate without issues', (seats) => {
    const layout = generateVenue({ seats });
    expect(countSeats(layout)).toBe(seats);
    expect(issuesAfterJsonRoundTrip(layout)).toEqual([]);
    expect(compileLayout(parseLayout(layout)).seatCount).toBe(seats);
  });

  it('builds exactly 200,000 seats and compiles them quickly', () => {
    const layout = generateVenue({ seats: MAX_VENUE_SEATS, seed: 9 });
    expect(countSeats(layout)).toBe(MAX_VENUE_SEATS);
    const parsed = parseLayout(layout);
    const started = performance.now();
    const compiled = compileLayout(parsed);
    const elapsedMs = performance.now() - started;
    expect(compiled.seatCount).toBe(MAX_VENUE_SEATS);
    expect(compiled.rowStart[compiled.rows.length]).toBe(MAX_VENUE_SEATS);
    // A sanity bound only: compiling takes tens of milliseconds on ordinary hardware.
    expect(elapsedMs).toBeLessThan(5_000);
  }, 60_000);

  it('is deterministic for a seed, and the seed matters', () => {
    expect(generateVenue({ seats: 3_000, seed: 42 })).toEqual(generateVenue({ seats: 3_000, seed: 42 }));
    expect(generateVenue({ seats: 3_000, seed: 42 })).not.toEqual(generateVenue({ seats: 3_000, seed: 43 }));
    expect(generateVenue({ seats: 150 })).toEqual(generateVenue({ seats: 150, seed: 1 }));
    expect(generateVenue({ seats: 150, seed: 5 })).not.toEqual(generateVenue({ seats: 150, seed: 6 }));
  });

  it('gives exact counts and valid layouts for any size from 100 to 5,000', () => {
    fc.assert(
      fc.property(fc.integer({ min: 100, max: 5_000 }), fc.integer({ min: 0, max: 2 ** 32 - 1 }), (seats, seed) => {
        const layout = generateVenue({ seats, seed });
        expect(countSeats(layout)).toBe(seats);
        expect(issuesAfterJsonRoundTrip(layout)).toEqual([]);
      }),
      { numRuns: 60 },
    );
  });

  it('uses the given name, or one that fits the size', () => {
    expect(generateVenue({ seats: 500, name: 'Little Hall' }).name).toBe('Little Hall');
    expect(generateVenue({ seats: 500 }).name).toBe('Demo Theatre');
    expect(generateVenue({ seats: 10_000 }).name).toBe('Demo Arena');
    expect(generateVenue({ seats: 50_000 }).name).toBe('Demo Stadium');
  });

  it.each([MIN_VENUE_SEATS - 1, MAX_VENUE_SEATS + 1, 1_000.5, Number.NaN])('refuses %d seats', (seats) => {
    expect(() => generateVenue({ seats })).toThrow(RangeError);
  });

  it('refuses a blank name', () => {
    expect(() => generateVenue({ seats: 200, name: '  ' })).toThrow(RangeError);
  });
});

describe('generated venues look like venues', () => {
  const compiled = compileLayout(parseLayout(generateVenue({ seats: 20_000, seed: 3 })));
  const distanceToStage = (i: number) => Math.hypot(compiled.seatX[i]!, compiled.seatY[i]!);

  it('prices categories lower the further they are from the stage', () => {
    const sums = new Float64Array(compiled.categories.length);
    compiled.seatCategory.forEach((category, i) => (sums[category]! += distanceToStage(i)));
    const counts = seatsByCategory(compiled);
    const byDistance = compiled.categories
      .map((category, c) => ({ ...category, meanDistance: sums[c]! / counts[c]! }))
      .sort((a, b) => a.meanDistance - b.meanDistance);
    expect(byDistance.map((category) => category.id)).toEqual(['front', 'premium', 'standard', 'balcony']);
    const prices = byDistance.map((category) => category.price);
    expect(prices).toEqual([...prices].sort((a, b) => b - a));
    expect(new Set(prices).size).toBe(prices.length);
  });

  it('spaces neighbouring seats of a row a seat apart, with the odd aisle', () => {
    let aisles = 0;
    for (let r = 0; r < compiled.rows.length; r++) {
      for (let i = compiled.rowStart[r]!; i + 1 < compiled.rowStart[r + 1]!; i++) {
        const gap = Math.hypot(compiled.seatX[i + 1]! - compiled.seatX[i]!, compiled.seatY[i + 1]! - compiled.seatY[i]!);
        expect(gap).toBeGreaterThan(0.5);
        if (gap > 1) aisles++;
      }
    }
    expect(aisles).toBeGreaterThan(0);
    expect(aisles).toBeLessThan(compiled.rows.length);
  });

  it('curves rows around the stage and varies their length', () => {
    const lengths = new Set<number>();
    let curvedRows = 0;
    for (let r = 0; r < compiled.rows.length; r++) {
      const start = compiled.rowStart[r]!;
      const end = compiled.rowStart[r + 1]!;
      lengths.add(end - start);
      const ys = compiled.seatY.subarray(start, end);
      if (end - start >= 3 && Math.max(...ys) - Math.min(...ys) > 0.05) curvedRows++;
    }
    expect(lengths.size).toBeGreaterThan(5);
    expect(curvedRows).toBeGreaterThan(compiled.rows.length / 2);
  });

  it('names sections and rows the way venues do', () => {
    const ids = compiled.sections.map((section) => section.id);
    expect(ids).toContain('A');
    expect(ids).toContain('101');
    expect(ids).toContain('201');
    expect(compiled.seatLabel(0)).toEqual({ section: 'A', row: 'A', seat: '1' });
  });
});

describe('command line', () => {
  it('prints the venue to stdout', () => {
    const result = runCli('--seats', '150', '--seed', '3', '--name', 'Little Hall');
    expect(result.status).toBe(0);
    expect(JSON.parse(result.stdout)).toEqual(generateVenue({ seats: 150, seed: 3, name: 'Little Hall' }));
  }, 30_000);

  it('writes the venue to --out', () => {
    const dir = mkdtempSync(join(tmpdir(), 'venue-'));
    try {
      const out = join(dir, 'venue.json');
      const result = runCli('--seats', '2500', '--out', out);
      expect(result.status).toBe(0);
      expect(result.stdout).toBe('');
      expect(countSeats(parseLayout(JSON.parse(readFileSync(out, 'utf8'))))).toBe(2_500);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  }, 30_000);

  it('prints usage on --help', () => {
    const result = runCli('--help');
    expect(result.status).toBe(0);
    expect(result.stdout).toContain('Usage:');
  }, 30_000);

  it.each([[[]], [['--seats', 'many']], [['--seats', '50']], [['--seats', '500', '--colour', 'red']], [['--seats', '500', '--seed', 'x']]])(
    'exits with 2 and usage for bad arguments %j',
    (args) => {
      const result = runCli(...args);
      expect(result.status).toBe(2);
      expect(result.stdout).toBe('');
      expect(result.stderr).toContain('Usage:');
    },
    30_000,
  );

  it('does not run when imported', () => {
    const result = spawnSync(
      process.execPath,
      ['--import', 'tsx', '--input-type=module', '-e', `const m = await import(${JSON.stringify(script)}); console.log(typeof m.generateVenue);`],
      { cwd: repoRoot, encoding: 'utf8' },
    );
    expect(result.status).toBe(0);
    expect(result.stdout.trim()).toBe('function');
    expect(result.stderr).not.toContain('Usage:');
  }, 30_000);
});
