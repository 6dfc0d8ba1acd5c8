import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    // finds or starts Redis and Postgres once per run and hands their URLs to the test files
    globalSetup: ['test/global-setup.ts'],
    // test gateways log to test-results/logs/<file>/<test>.log, printed only when that test fails
    setupFiles: ['test/support/log-capture.ts'],
    testTimeout: 30_000,
    hookTimeout: 60_000,
    // the global teardown drops this run's databases and looks for leftovers; give it time on a busy machine
    teardownTimeout: 60_000,
    // In CI also write a JSON report, from which .ci/run prints a plain "N passed, N failed" line.
    reporters: process.env.CI ? ['default', ['json', { outputFile: 'test-results/vitest.json' }]] : ['default'],
  },
});
