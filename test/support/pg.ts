/** Postgres helpers for tests: a throwaway database per test file, dropped afterwards. */
export { createTestDatabase } from '../../scripts/services.js';
