/**
 * The check that fails a run which left something behind (the global
 * teardown, test/support/leaks.ts) sees what a run left: its keys and its
 * databases, gateway or throwaway, and nothing of other runs. Checked on a
 * made-up run id, so this file's own leftovers-to-be never reach the real
 * teardown.
 */
import { randomBytes } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { createNamedDatabase, createTestDatabase, dropDatabase } from '../scripts/services/index.js';
import { testDatabaseUrl, testRedisUrl } from './support/env.js';
import { describeLeftovers, findLeftovers, removeLeftovers } from './support/leaks.js';
import { newRedis } from './support/redis.js';
import { runKeyPrefix, testDatabasePrefix, testRunId, throwawayDatabasePrefix } from './support/run.js';

describe('leftovers of a test run', () => {
  it('are this run id: prefixes and database names carry it', () => {
    const run = testRunId();
    expect(run).toMatch(/^[0-9a-f]{8}$/);
    expect(runKeyPrefix()).toBe(`test:${run}:`);
    expect(testDatabasePrefix()).toBe(`seatmap_g_${run}_`);
    expect(throwawayDatabasePrefix()).toBe(`seatmap_t_${run}`);
  });

  it("are found (keys and databases of the run, not another run's), reported and removed", async () => {
    const run = randomBytes(4).toString('hex');
    const other = randomBytes(4).toString('hex');
    const redis = newRedis();
    const base = testDatabaseUrl();
    const throwaway = await createTestDatabase(base, throwawayDatabasePrefix(run));
    const gatewayDb = `${testDatabasePrefix(run)}x`;
    await createNamedDatabase(base, gatewayDb);
    const otherDb = await createTestDatabase(base, throwawayDatabasePrefix(other));
    try {
      await redis.set(`${runKeyPrefix(run)}abc:{e1}:meta`, '1');
      await redis.set(`${runKeyPrefix(run)}abc:events`, '1');
      await redis.set(`${runKeyPrefix(other)}abc:events`, '1');

      const left = await findLeftovers(testRedisUrl(), base, run);
      expect(left.keys).toEqual([`${runKeyPrefix(run)}abc:events`, `${runKeyPrefix(run)}abc:{e1}:meta`]);
      expect(left.databases).toEqual([throwaway.name, gatewayDb].sort());
      const report = describeLeftovers(run, left);
      expect(report).toContain(`${runKeyPrefix(run)}abc:{e1}:meta`);
      expect(report).toContain(throwaway.name);

      await removeLeftovers(testRedisUrl(), base, left);
      expect(await findLeftovers(testRedisUrl(), base, run)).toEqual({ keys: [], databases: [] });
      expect(await redis.exists(`${runKeyPrefix(other)}abc:events`)).toBe(1);
    } finally {
      await redis.del(`${runKeyPrefix(run)}abc:{e1}:meta`, `${runKeyPrefix(run)}abc:events`, `${runKeyPrefix(other)}abc:events`);
      await redis.quit();
      await Promise.all([throwaway.drop(), otherDb.drop(), dropDatabase(base, gatewayDb)]);
    }
  });
});
