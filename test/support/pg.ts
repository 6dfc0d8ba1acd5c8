/** Postgres helpers for tests: throwaway databases, dropped afterwards. */
export { createNamedDatabase, createTestDatabase } from '../../scripts/services/index.js';

/**
 * The name prefix of the per-prefix gateway databases of this test run
 * (test/support/gateway.ts testDatabaseFor); the global teardown drops them.
 */
export function testDatabasePrefix(): string {
  return `seatmap_g_${process.env.SEATMAP_TEST_RUN ?? 'local'}_`;
}
