/**
 * The venue generator's command line (`npm run venue`); the generator itself
 * is core/layout/generate-venue.ts.
 *
 *   npx tsx scripts/generate-venue.ts --seats 20000 [--seed 1] [--name "Demo Arena"] [--out venue.json]
 */
import { realpathSync, writeFileSync } from 'node:fs';
import { pathToFileURL } from 'node:url';
import { parseArgs } from 'node:util';
import type { Layout } from '../core/layout/index.js';
import { MAX_VENUE_SEATS, MIN_VENUE_SEATS, generateVenue } from '../core/layout/generate-venue.js';

export { MAX_VENUE_SEATS, MIN_VENUE_SEATS, generateVenue, type VenueOptions } from '../core/layout/generate-venue.js';

const USAGE = `Usage: npx tsx scripts/generate-venue.ts --seats <n> [--seed <int>] [--name <text>] [--out <file>]

Generates a demo venue layout (JSON, see docs/layout.md) with exactly <n> seats,
${MIN_VENUE_SEATS} to ${MAX_VENUE_SEATS}. The same seed gives the same venue (default seed 1).
Writes to <file>, or to stdout without --out.`;

/** Runs the command line; returns the exit code (2 for bad arguments). */
export function runCli(args: readonly string[]): number {
  let values;
  try {
    ({ values } = parseArgs({
      args: [...args],
      options: {
        seats: { type: 'string' },
        seed: { type: 'string' },
        name: { type: 'string' },
        out: { type: 'string' },
        help: { type: 'boolean', short: 'h' },
      },
      strict: true,
      allowPositionals: false,
    }));
  } catch (error) {
    return usageError((error as Error).message);
  }
  if (values.help) {
    process.stdout.write(`${USAGE}\n`);
    return 0;
  }
  if (values.seats === undefined || !/^\d+$/.test(values.seats)) return usageError('--seats must be a whole number');
  if (values.seed !== undefined && !/^-?\d+$/.test(values.seed)) return usageError('--seed must be an integer');

  let layout: Layout;
  try {
    layout = generateVenue({
      seats: Number(values.seats),
      seed: values.seed === undefined ? undefined : Number(values.seed),
      name: values.name,
    });
  } catch (error) {
    if (error instanceof RangeError) return usageError(error.message);
    throw error;
  }
  const json = `${JSON.stringify(layout)}\n`;
  if (values.out === undefined) process.stdout.write(json);
  else writeFileSync(values.out, json);
  return 0;
}

function usageError(problem: string): number {
  process.stderr.write(`${problem}\n\n${USAGE}\n`);
  return 2;
}

function isEntryPoint(): boolean {
  const script = process.argv[1];
  if (script === undefined) return false;
  try {
    return import.meta.url === pathToFileURL(realpathSync(script)).href;
  } catch {
    return false;
  }
}

if (isEntryPoint()) process.exitCode = runCli(process.argv.slice(2));
