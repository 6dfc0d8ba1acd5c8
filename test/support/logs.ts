/**
 * Gateway logs of the tests, kept out of the terminal: every test gateway (in
 * this process or spawned, test/support/gateway.ts) hands its log lines to
 * `logLine`, which appends them to the log file of the test running at that
 * moment, `test-results/logs/<test file>/<test name>.log`, or of the file's
 * hooks (`hooks.log`) between tests. A clean run prints no gateway log; a
 * failing test prints its own lines (test/support/log-capture.ts, a vitest
 * setup file, marks where each test starts and ends).
 */
import { createHash } from 'node:crypto';
import { appendFileSync, mkdirSync, rmSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const LOG_ROOT = path.join(fileURLToPath(new URL('../..', import.meta.url)), 'test-results', 'logs');
/** Lines printed of a failing test's log (the file has them all). */
const PRINTED_LINES = 200;

interface LogTarget {
  file: string;
  lines: string[];
}

let fileDir: string | null = null;
let hooks: LogTarget | null = null;
let current: LogTarget | null = null;

/** A file name for a test: its readable name, cut short, and a hash of the full name so that none collide. */
function fileNameFor(testName: string): string {
  const readable = testName.replace(/[^A-Za-z0-9._-]+/g, '-').replace(/^-+|-+$/g, '').slice(0, 100);
  return `${readable}-${createHash('sha1').update(testName).digest('hex').slice(0, 8)}.log`;
}

/** Starts the logs of a test file: its directory, emptied of an earlier run's logs. */
export function beginTestFile(testFile: string): void {
  fileDir = path.join(LOG_ROOT, path.basename(testFile).replace(/\.test\.ts$/, ''));
  rmSync(fileDir, { recursive: true, force: true });
  hooks = { file: path.join(fileDir, 'hooks.log'), lines: [] };
}

/** From now on lines go to this test's log. */
export function beginTest(fullName: string): LogTarget {
  const dir = fileDir ?? LOG_ROOT;
  current = { file: path.join(dir, fileNameFor(fullName)), lines: [] };
  return current;
}

/** Lines go to the file's hooks log again. */
export function endTest(): void {
  current = null;
}

/** Appends one log line (or several, newline-separated) to the current test's log. */
export function logLine(text: string): void {
  const target = current ?? hooks;
  if (!target) {
    process.stderr.write(text.endsWith('\n') ? text : `${text}\n`); // outside vitest: nowhere else to go
    return;
  }
  const lines = text.split('\n').filter((l) => l.length > 0);
  if (lines.length === 0) return;
  target.lines.push(...lines);
  mkdirSync(path.dirname(target.file), { recursive: true });
  appendFileSync(target.file, `${lines.join('\n')}\n`);
}

/** A pino destination that writes to the current test's log. */
export const gatewayLogDestination = { write: (line: string): void => logLine(line) };

/** What a failing test prints: the last lines of its gateway log and where the whole log is. */
export function describeTestLog(target: LogTarget): string | null {
  if (target.lines.length === 0) return null;
  const shown = target.lines.slice(-PRINTED_LINES);
  const cut = target.lines.length > shown.length ? ` (last ${shown.length} of ${target.lines.length})` : '';
  const where = path.relative(process.cwd(), target.file);
  const hooksNote = hooks && hooks.lines.length > 0 ? `; the file's hooks logged to ${path.relative(process.cwd(), hooks.file)}` : '';
  return `gateway log of this test${cut}, in ${where}${hooksNote}:\n${shown.join('\n')}`;
}
