/**
 * Run a command with Redis and Postgres available:
 *
 *   npx tsx scripts/with-services.ts -- <command...>
 *
 * Finds or starts both services (scripts/services/), then runs the command with REDIS_URL and
 * DATABASE_URL set, forwards SIGINT/SIGTERM to it and exits with its exit code.
 */
import { spawn } from 'node:child_process';
import os from 'node:os';
import path from 'node:path';
import { REPO_ROOT, ensureServices } from './services/index.js';

function usage(): never {
  process.stderr.write('usage: tsx scripts/with-services.ts -- <command> [args...]\n');
  process.exit(2);
}

async function main(): Promise<void> {
  const argv = process.argv.slice(2);
  const command = argv[0] === '--' ? argv.slice(1) : argv;
  const [cmd, ...args] = command;
  if (!cmd) usage();

  let urls: { redisUrl: string; databaseUrl: string };
  try {
    urls = await ensureServices({ redis: true, postgres: true });
  } catch (err) {
    process.stderr.write(`\n${err instanceof Error ? err.message : String(err)}\n`);
    process.exit(1);
  }

  const env: NodeJS.ProcessEnv = {
    ...process.env,
    REDIS_URL: urls.redisUrl,
    DATABASE_URL: urls.databaseUrl,
    // so "vitest", "tsx", ... resolve even when not started through npm
    PATH: [path.join(REPO_ROOT, 'node_modules', '.bin'), process.env.PATH ?? ''].join(path.delimiter),
  };
  const child = spawn(cmd, args, { stdio: 'inherit', env });

  const forward = (signal: NodeJS.Signals) => () => {
    if (child.exitCode === null && child.signalCode === null) child.kill(signal);
  };
  process.on('SIGINT', forward('SIGINT'));
  process.on('SIGTERM', forward('SIGTERM'));

  child.on('error', (err) => {
    process.stderr.write(`could not run ${cmd}: ${err.message}\n`);
    process.exit(127);
  });
  child.on('exit', (code, signal) => {
    if (signal) process.exit(128 + (os.constants.signals[signal] ?? 1));
    process.exit(code ?? 1);
  });
}

await main();
