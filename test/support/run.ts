/**
 * Names scoped to one test run. The global setup draws a run id
 * (`SEATMAP_TEST_RUN`, 8 hex digits) before any test file starts; every
 * Redis key prefix and database a test makes carries it, so that the run's
 * end can find exactly what this run left behind, while other runs use the
 * same Redis and Postgres beside it (test/support/leaks.ts).
 */
import { randomBytes } from 'node:crypto';

/** This run's id ('local' outside `npm test`, e.g. a file imported by hand). */
export function testRunId(): string {
  return process.env.SEATMAP_TEST_RUN ?? 'local';
}

/** The start of every Redis key this run's tests write: `test:<run>:`. */
export function runKeyPrefix(run = testRunId()): string {
  return `test:${run}:`;
}

/** A fresh key prefix of this run: `test:<run>:<random hex>:`. */
export function newPrefix(): string {
  return `${runKeyPrefix()}${randomBytes(5).toString('hex')}:`;
}

/** The name prefix of the per-prefix gateway databases of this run (dropped by the global teardown). */
export function testDatabasePrefix(run = testRunId()): string {
  return `seatmap_g_${run}_`;
}

/** The name prefix of the throwaway databases of this run (createTestDatabase; each test drops its own). */
export function throwawayDatabasePrefix(run = testRunId()): string {
  return `seatmap_t_${run}`;
}
