/**
 * The "local binaries" step of the two-command promise, for real: with
 * nothing answering at the URL, ensureServices starts a Redis and a Postgres
 * from this machine's binaries, and stopLocalServices stops exactly those.
 * Skipped (with the reason in the title) where the binaries are missing.
 */
import fs from 'node:fs';
import path from 'node:path';
import { freePort } from './support/net.js';
import { afterAll, describe, expect, it } from 'vitest';
import { DATA_DIR, ensureServices, findBinary, findPgBin, listLocalServers, probePostgres, probeRedis, stopLocalServices } from '../scripts/services/index.js';


const haveRedis = findBinary('redis-server') !== null;
const havePostgres = findPgBin('initdb') !== null && findPgBin('pg_ctl') !== null;
const startedPorts: number[] = [];
const quiet = () => undefined;

afterAll(async () => {
  // Whatever happened above, stop and remove only what this file started.
  await stopLocalServices({ ports: startedPorts, logger: quiet });
  for (const port of startedPorts) {
    // A cluster the postgres user could not keep inside the checkout lives where `location` points.
    const location = path.join(DATA_DIR, 'pg', String(port), 'location');
    if (fs.existsSync(location)) fs.rmSync(fs.readFileSync(location, 'utf8').trim(), { recursive: true, force: true });
    for (const kind of ['redis', 'pg']) fs.rmSync(path.join(DATA_DIR, kind, String(port)), { recursive: true, force: true });
  }
}, 120_000);

describe.skipIf(!haveRedis)(`starting a local Redis${haveRedis ? '' : ' (skipped: redis-server not installed)'}`, () => {
  it('starts redis-server when nothing answers at the URL, and stops only that one', async () => {
    const port = await freePort();
    const redisUrl = `redis://127.0.0.1:${port}`;
    expect((await probeRedis(redisUrl)).ok).toBe(false);
    startedPorts.push(port);
    const result = await ensureServices({ redis: true, postgres: false, redisUrl, logger: quiet, allowInstall: false });
    expect(result.started).toHaveLength(1);
    expect((await probeRedis(redisUrl)).ok).toBe(true);
    expect(listLocalServers()).toContainEqual(expect.objectContaining({ kind: 'redis', port, running: true }));
    // A second call finds it instead of starting another.
    expect((await ensureServices({ redis: true, postgres: false, redisUrl, logger: quiet })).started).toEqual([]);

    const stopped = await stopLocalServices({ ports: [port], logger: quiet });
    expect(stopped).toHaveLength(1);
    expect((await probeRedis(redisUrl)).ok).toBe(false);
    // The machine's own Redis is untouched.
    expect((await probeRedis(process.env.REDIS_URL!)).ok).toBe(true);
  }, 60_000);
});

describe.skipIf(!havePostgres)(`starting a local Postgres${havePostgres ? '' : ' (skipped: Postgres server binaries not installed)'}`, () => {
  it('initialises and starts a cluster when nothing answers at the URL, creates the database, and stops only that one', async () => {
    const port = await freePort();
    const databaseUrl = `postgres://postgres@127.0.0.1:${port}/seatmap_local`;
    expect((await probePostgres(databaseUrl)).ok).toBe(false);
    startedPorts.push(port);
    const result = await ensureServices({ redis: false, postgres: true, databaseUrl, logger: quiet, allowInstall: false });
    expect(result.started).toHaveLength(1);
    expect((await probePostgres(databaseUrl)).ok).toBe(true);

    const stopped = await stopLocalServices({ ports: [port], logger: quiet });
    expect(stopped).toHaveLength(1);
    expect((await probePostgres(databaseUrl)).ok).toBe(false);
    expect((await probePostgres(process.env.DATABASE_URL!)).ok).toBe(true);
  }, 120_000);
});
