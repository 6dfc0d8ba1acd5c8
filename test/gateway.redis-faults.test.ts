/**
 * A gateway process on a Redis that goes away: restarted (its script cache
 * empty), stopped, or frozen (SIGSTOP). Readiness reports what is true now,
 * every Redis command of a client's operation is bounded by
 * REDIS_COMMAND_TIMEOUT_MS (answered INTERNAL, retryable), and the gateway
 * serves again once Redis is back. The change feed's blocking reads (5 s) are
 * not cut by the shorter command timeout. The Redis server is private to this
 * file (started here on a free port, no persistence), never the shared one.
 */
import { Redis } from 'ioredis';
import { afterAll, describe, expect, it } from 'vitest';
import { createEventFromLayout } from '../core/events.js';
import { SeatStore } from '../core/store/index.js';
import { generateVenue } from '../core/layout/index.js';
import { newPrefix, spawnGateway, token, type SpawnedGateway } from './support/gateway.js';
import { startPrivateRedis, type PrivateRedis } from './support/private-redis.js';
import { TestClient } from './support/ws-client.js';

const cleanups: (() => Promise<unknown>)[] = [];
afterAll(async () => {
  for (const fn of cleanups.reverse()) await fn().catch(() => undefined);
});

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

async function privateRedis(): Promise<PrivateRedis> {
  const redis = await startPrivateRedis();
  cleanups.push(() => redis.stop());
  return redis;
}

async function createEvent(redisUrl: string, prefix: string, eventId: string): Promise<void> {
  const client = new Redis(redisUrl);
  try {
    const created = await createEventFromLayout(new SeatStore({ redis: client, prefix }), eventId, generateVenue({ seats: 200, seed: 2, name: eventId }));
    expect(created.ok).toBe(true);
  } finally {
    client.disconnect();
  }
}

async function gateway(redisUrl: string, env: Record<string, string> = {}): Promise<SpawnedGateway & { prefix: string }> {
  const prefix = newPrefix();
  const gw = await spawnGateway(prefix, { DEMO: '0', REDIS_URL: redisUrl, ...env });
  cleanups.push(() => gw.stop('SIGKILL'));
  return { ...gw, prefix, stop: gw.stop };
}

async function readyz(gw: SpawnedGateway): Promise<{ status: number; body: { status: string; checks: Record<string, boolean> } }> {
  const res = await fetch(`${gw.httpUrl}/readyz`, { signal: AbortSignal.timeout(10_000) });
  return { status: res.status, body: (await res.json()) as { status: string; checks: Record<string, boolean> } };
}

/** Polls /readyz until it answers `status`; resolves to the ms it took. */
async function untilReady(gw: SpawnedGateway, status: number, withinMs: number): Promise<number> {
  const started = Date.now();
  let last: Awaited<ReturnType<typeof readyz>> | null = null;
  while (Date.now() - started < withinMs) {
    last = await readyz(gw).catch(() => null);
    if (last?.status === status) return Date.now() - started;
    await sleep(200);
  }
  throw new Error(`/readyz did not answer ${status} within ${withinMs} ms; last: ${JSON.stringify(last)}`);
}

describe('a Redis that restarts', () => {
  it('/readyz is 200 again within seconds: the scripts a restarted Redis lost are loaded again', { timeout: 90_000 }, async () => {
    const redis = await privateRedis();
    const gw = await gateway(redis.url);
    expect(await readyz(gw)).toMatchObject({ status: 200, body: { status: 'ready', checks: { redis: true, scripts: true } } });

    await redis.stop();
    await untilReady(gw, 503, 5000);
    await redis.start();
    const readyAfter = await untilReady(gw, 200, 10_000);
    expect((await readyz(gw)).body).toEqual({ status: 'ready', checks: { redis: true, scripts: true, postgres: true } });
    // and it stays so
    await sleep(1500);
    expect((await readyz(gw)).status).toBe(200);
    console.info(`redis restart: /readyz 200 ${readyAfter} ms after redis was back`);

    // the gateway serves: an event on the new (empty) Redis takes holds
    await createEvent(redis.url, gw.prefix, 'r2');
    const client = await TestClient.connect(gw.wsUrl, { token: await token('sam') });
    cleanups.push(() => client.terminate());
    await client.ok({ t: 'sub', ev: 'r2' });
    expect(await client.request({ t: 'hold', ev: 'r2', seats: [3, 4] })).toMatchObject({ t: 'ok' });
    expect(await gw.stop()).toBe(0);
  });

  it('while it is down, a hold is answered INTERNAL at once, not when Redis is back', { timeout: 90_000 }, async () => {
    const redis = await privateRedis();
    const gw = await gateway(redis.url, { REDIS_COMMAND_TIMEOUT_MS: '2000' });
    await createEvent(redis.url, gw.prefix, 'r1');
    const client = await TestClient.connect(gw.wsUrl, { token: await token('rita') });
    cleanups.push(() => client.terminate());
    await client.ok({ t: 'sub', ev: 'r1' });
    await client.ok({ t: 'hold', ev: 'r1', seats: [1] });

    await redis.stop();
    const started = Date.now();
    expect(await client.request({ t: 'hold', ev: 'r1', seats: [2] }, 15_000)).toMatchObject({ t: 'err', code: 'INTERNAL' });
    const answeredIn = Date.now() - started;
    // at once (no queue waiting for a reconnect), and in any case within the command timeout
    expect(answeredIn).toBeLessThan(2000 + 2000);
    console.info(`redis down: hold answered INTERNAL in ${answeredIn} ms`);
    await redis.start();
    await untilReady(gw, 200, 10_000);
    expect(await gw.stop()).toBe(0);
  });
});

describe('a Redis that stops answering (SIGSTOP)', () => {
  it('a hold is answered INTERNAL within about REDIS_COMMAND_TIMEOUT_MS, and served again once Redis answers', { timeout: 90_000 }, async () => {
    const redis = await privateRedis();
    const TIMEOUT = 1000;
    const gw = await gateway(redis.url, { REDIS_COMMAND_TIMEOUT_MS: String(TIMEOUT) });
    const { prefix } = gw;
    await createEvent(redis.url, prefix, 'f1');
    const client = await TestClient.connect(gw.wsUrl, { token: await token('fred') });
    cleanups.push(() => client.terminate());
    await client.ok({ t: 'sub', ev: 'f1' });
    await client.ok({ t: 'hold', ev: 'f1', seats: [0] });

    redis.freeze();
    let elapsed: number;
    try {
      const started = Date.now();
      const reply = await client.request({ t: 'hold', ev: 'f1', seats: [1] }, 15_000);
      elapsed = Date.now() - started;
      expect(reply).toMatchObject({ t: 'err', code: 'INTERNAL' });
      // the bound, not a refusal of another kind: the connection is up, Redis just does not answer
      expect(elapsed).toBeGreaterThanOrEqual(TIMEOUT * 0.8);
      expect(elapsed).toBeLessThan(TIMEOUT + 3000);
      // readiness says so, within its own bound
      expect((await readyz(gw)).status).toBe(503);
    } finally {
      redis.thaw();
    }

    // Redis answers again: so does the gateway
    let served: Awaited<ReturnType<TestClient['request']>> | null = null;
    for (let attempt = 0; attempt < 20 && served?.t !== 'ok'; attempt++) {
      served = await client.request({ t: 'hold', ev: 'f1', seats: [10 + attempt] }, 10_000);
      if (served.t !== 'ok') await sleep(250);
    }
    expect(served).toMatchObject({ t: 'ok' });
    await untilReady(gw, 200, 10_000);
    console.info(`redis frozen: hold answered INTERNAL after ${elapsed} ms (REDIS_COMMAND_TIMEOUT_MS=${TIMEOUT}); served again after SIGCONT`);
    expect(await gw.stop()).toBe(0);
  });

  it('the change feed blocks in XREAD (5 s) past a shorter command timeout without a failed read', { timeout: 60_000 }, async () => {
    const redis = await privateRedis();
    const gw = await gateway(redis.url, { REDIS_COMMAND_TIMEOUT_MS: '500' });
    const { prefix } = gw;
    await createEvent(redis.url, prefix, 'q1');
    const watcher = await TestClient.connect(gw.wsUrl, { token: await token('wendy') });
    const holder = await TestClient.connect(gw.wsUrl, { token: await token('hank') });
    cleanups.push(() => watcher.terminate(), () => holder.terminate());
    await watcher.ok({ t: 'sub', ev: 'q1' });
    await holder.ok({ t: 'sub', ev: 'q1' });
    // quiet for longer than one blocking read
    await sleep(6500);
    const seq = watcher.views.get('q1')!.seq;
    const started = Date.now();
    await holder.ok({ t: 'hold', ev: 'q1', seats: [7] });
    await watcher.until('q1', (v) => v.seq > seq && v.status[7] !== 0, 3000);
    expect(Date.now() - started).toBeLessThan(2000);
    expect(gw.lines.filter((l) => /change feed read failed|timed out/i.test(l))).toEqual([]);
    expect(await gw.stop()).toBe(0);
  });
});
