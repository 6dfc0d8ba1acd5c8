/** Postgres helpers for tests: throwaway databases named after this run, dropped afterwards. */
import { createTestDatabase as createDatabase } from '../../scripts/services/index.js';
import { throwawayDatabasePrefix } from './run.js';

export { createNamedDatabase } from '../../scripts/services/index.js';
export { testDatabasePrefix } from './run.js';

/** A fresh, empty database `seatmap_t_<run><random hex>`; the test drops it with `drop()`. */
export function createTestDatabase(baseUrl: string): ReturnType<typeof createDatabase> {
  return createDatabase(baseUrl, throwawayDatabasePrefix());
}
