/**
 * `npm run load` with no --url, as users run it: the runner starts a gateway
 * of its own with a fresh event, runs the scenario, and leaves nothing behind
 * in Redis or Postgres (the event, its bookings and its keys are removed).
 */
import { execFile } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { testDatabaseUrl } from './support/env.js';
import { createTestDatabase } from './support/pg.js';
import { newRedis } from './support/redis.js';

let db: Awaited<ReturnType<typeof createTestDatabase>>;
let dir: string;

beforeAll(async () => {
  db = await createTestDatabase(testDatabaseUrl());
  dir = mkdtempSync(path.join(tmpdir(), 'seatmap-load-cli-'));
});

afterAll(async () => {
  await db?.drop();
  if (dir) rmSync(dir, { recursive: true, force: true });
});

function runCli(args: string[], env: Record<string, string>): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    execFile(process.execPath, ['--import', 'tsx', 'loadtest/node/cli.ts', ...args], { env: { ...process.env, ...env }, timeout: 120_000 }, (err, stdout, stderr) =>
      resolve({ code: err ? ((err as { code?: number }).code ?? 1) : 0, stdout, stderr }),
    );
  });
}

async function rowCount(sql: string, params: unknown[]): Promise<number> {
  const client = new pg.Client({ connectionString: db.url });
  await client.connect();
  try {
    return Number((await client.query<{ n: string }>(sql, params)).rows[0]!.n);
  } finally {
    await client.end();
  }
}

describe('npm run load with a gateway of its own', () => {
  it('books seats on a fresh event, then removes the event, its bookings and its keys', async () => {
    const report = path.join(dir, 'onsale.json');
    const settings = ['--set', 'SPIKE=1s', '--set', 'HOT_SEATS=60', '--set', 'THINK_MIN=100ms', '--set', 'THINK_MAX=300ms'];
    const run = await runCli(['onsale', '--clients', '10', '--duration', '4s', '--processes', '1', '--json', report, ...settings], { DATABASE_URL: db.url });
    const output = `exit ${run.code}\n${run.stdout}\n${run.stderr}`;
    expect(run.code, output).toBe(0);

    const started = /key prefix (load:[0-9a-f]+:), event (load-[0-9a-f]+)/.exec(run.stderr);
    expect(started, output).not.toBeNull();
    const [, prefix, eventId] = started!;
    // the run did book: there was a durable record to remove
    const counters = (JSON.parse(readFileSync(report, 'utf8')) as { counters: Record<string, number> }).counters;
    expect(counters.seats_booked, output).toBeGreaterThan(0);

    expect(await rowCount('SELECT count(*) AS n FROM events WHERE id = $1', [eventId])).toBe(0);
    expect(await rowCount('SELECT count(*) AS n FROM bookings WHERE event_id = $1', [eventId])).toBe(0);
    expect(await rowCount('SELECT count(*) AS n FROM booked_seats WHERE event_id = $1', [eventId])).toBe(0);
    expect(await rowCount('SELECT count(*) AS n FROM seat_changes WHERE event_id = $1', [eventId])).toBe(0);
    expect(await rowCount('SELECT count(*) AS n FROM booking_history', [])).toBe(0);
    // the run's bookings were logged (the event log), and the log went with them
    for (const table of ['event_log', 'event_log_heads', 'seat_checkins', 'seat_releases', 'webhook_deliveries']) {
      expect(await rowCount(`SELECT count(*) AS n FROM ${table} WHERE event_id = $1`, [eventId]), table).toBe(0);
    }

    const redis = newRedis();
    try {
      let cursor = '0';
      const keys: string[] = [];
      do {
        const [next, batch] = await redis.scan(cursor, 'MATCH', `${prefix}*`, 'COUNT', 1000);
        cursor = next;
        keys.push(...batch);
      } while (cursor !== '0');
      expect(keys).toEqual([]);
    } finally {
      await redis.quit();
    }
  }, 150_000);
});
