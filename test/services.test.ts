import path from 'node:path';
import pg from 'pg';
import { freePort } from './support/net.js';
import { describe, expect, it } from 'vitest';
import { REPO_ROOT, displayPath, isLoopbackHost, probePostgres, probeRedis } from '../scripts/services/index.js';
import { testDatabaseUrl, testRedisUrl } from './support/env.js';
import { createTestDatabase } from './support/pg.js';


async function databaseExists(baseUrl: string, name: string): Promise<boolean> {
  const client = new pg.Client({ connectionString: baseUrl });
  await client.connect();
  try {
    const res = await client.query('select 1 from pg_database where datname = $1', [name]);
    return res.rowCount === 1;
  } finally {
    await client.end();
  }
}

describe('service URLs from global setup', () => {
  it('are visible to the test workers through inject and the environment', () => {
    expect(testRedisUrl()).toMatch(/^rediss?:\/\//);
    expect(testDatabaseUrl()).toMatch(/^postgres(ql)?:\/\//);
    expect(process.env.REDIS_URL).toBe(testRedisUrl());
    expect(process.env.DATABASE_URL).toBe(testDatabaseUrl());
  });
});

describe('probes against the running services', () => {
  it('probeRedis reports the Redis from global setup as usable', async () => {
    const res = await probeRedis(testRedisUrl());
    expect(res).toMatchObject({ ok: true, answered: true });
  });

  it('probePostgres reports the Postgres from global setup as usable', async () => {
    const res = await probePostgres(testDatabaseUrl());
    expect(res).toMatchObject({ ok: true, answered: true });
  });

  it('probePostgres tells a missing database apart from a missing server', async () => {
    const url = new URL(testDatabaseUrl());
    url.pathname = '/seatmap_no_such_database';
    const res = await probePostgres(url.toString());
    expect(res).toMatchObject({ ok: false, answered: true, code: '3D000' });
  });
});

describe('probes against an unreachable loopback port', () => {
  it('probeRedis reports it unreachable quickly', async () => {
    const port = await freePort();
    const t0 = Date.now();
    const res = await probeRedis(`redis://127.0.0.1:${port}`);
    expect(res.ok).toBe(false);
    expect(res.answered).toBe(false);
    expect(res.error).toBeTruthy();
    expect(Date.now() - t0).toBeLessThan(2500);
  });

  it('probePostgres reports it unreachable quickly', async () => {
    const port = await freePort();
    const t0 = Date.now();
    const res = await probePostgres(`postgres://postgres@127.0.0.1:${port}/postgres`);
    expect(res.ok).toBe(false);
    expect(res.answered).toBe(false);
    expect(res.error).toBeTruthy();
    expect(Date.now() - t0).toBeLessThan(2500);
  });
});

describe('createTestDatabase', () => {
  it('creates a fresh database you can connect to, and drop() removes it', async () => {
    const base = testDatabaseUrl();
    const db = await createTestDatabase(base);
    expect(db.url).not.toBe(base);
    const name = decodeURIComponent(new URL(db.url).pathname.slice(1));
    expect(name).toMatch(/^seatmap_t_[0-9a-f]+$/);

    const client = new pg.Client({ connectionString: db.url });
    client.on('error', () => undefined); // the forced drop terminates this connection
    await client.connect();
    try {
      const res = await client.query<{ db: string }>('select current_database() as db');
      expect(res.rows[0]?.db).toBe(name);
      // drop() must succeed even while a connection is still open (WITH (FORCE))
      await db.drop();
    } finally {
      await client.end().catch(() => undefined);
    }
    expect(await databaseExists(base, name)).toBe(false);
  });

  it('gives every call its own database', async () => {
    const base = testDatabaseUrl();
    const [a, b] = await Promise.all([createTestDatabase(base), createTestDatabase(base)]);
    try {
      expect(a.url).not.toBe(b.url);
    } finally {
      await Promise.all([a.drop(), b.drop()]);
    }
  });
});

describe('isLoopbackHost', () => {
  it('accepts loopback names and addresses only', () => {
    for (const host of ['127.0.0.1', '127.1.2.3', 'localhost', '::1', '[::1]']) expect(isLoopbackHost(host)).toBe(true);
    for (const host of ['redis', '10.0.0.1', 'db.example.com', '::', '0.0.0.0']) expect(isLoopbackHost(host)).toBe(false);
  });
});

describe('displayPath', () => {
  it('shows directories in the checkout relative to it, and those outside (a cluster under /var/tmp) absolute', () => {
    expect(displayPath(path.join(REPO_ROOT, '.data', 'pg', '5432', 'data'))).toBe(path.join('.data', 'pg', '5432', 'data'));
    expect(displayPath('/var/tmp/seatmap-pg/0123456789ab/5432/data')).toBe('/var/tmp/seatmap-pg/0123456789ab/5432/data');
    expect(displayPath(path.dirname(REPO_ROOT))).toBe(path.dirname(REPO_ROOT));
    expect(displayPath(`${REPO_ROOT}-other/x`)).toBe(`${REPO_ROOT}-other/x`);
  });
});
