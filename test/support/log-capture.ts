/**
 * Vitest setup file (runs in every test file): tells test/support/logs.ts
 * where each test starts and ends, so that gateway log lines land in that
 * test's log file, and prints a failing test's log with its failure.
 */
import { afterEach, beforeAll, beforeEach } from 'vitest';
import { beginTest, beginTestFile, describeTestLog, endTest } from './logs.js';

beforeAll(({}, suite) => {
  beginTestFile(suite.file.filepath);
});

beforeEach((ctx) => {
  const target = beginTest(ctx.task.fullTestName ?? ctx.task.name);
  ctx.onTestFailed(() => {
    const text = describeTestLog(target);
    if (text) console.error(text);
  });
});

afterEach(() => {
  endTest();
});
