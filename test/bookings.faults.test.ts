/**
 * Faults with real processes: a gateway killed with SIGKILL in the middle of a
 * stream of bookings, all of a Redis server flushed during traffic,
 * Postgres stopped and started again during traffic, and Redis not answering
 * after a cancel or a failed payment committed in Postgres (the 202 of those
 * routes, the seats freed later in the background). The Redis and Postgres
 * servers that are flushed or stopped are private to this file (started here
 * on free ports), never the shared test servers.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { rmSync } from 'node:fs';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { Redis } from 'ioredis';
import { createEventFromLayout } from '../core/events.js';
import { SeatState, SeatStore } from '../core/store/index.js';
import { generateVenue } from '../core/layout/generate-venue.js';
import { DATA_DIR, findBinary, startLocalPostgres, stopLocalServices } from '../scripts/services/index.js';
import { Booker, expectConsistent, waitForFlush, type BookAttempt } from './support/bookings.js';
import { createVenueEvent, newPrefix, queryGatewayDb, spawnGateway, startTestGateway, testDatabaseFor, token, wipePrefix, type SpawnedGateway } from './support/gateway.js';
import { freePort } from './support/net.js';
import { apiFetch } from './support/openapi.js';
import { testRedisUrl } from './support/env.js';
import { TestClient } from './support/ws-client.js';

const cleanups: (() => Promise<unknown>)[] = [];
afterAll(async () => {
  for (const fn of cleanups.reverse()) await fn().catch(() => undefined);
});

function seatStore(redisUrl: string, prefix: string): SeatStore {
  const redis = new Redis(redisUrl, { lazyConnect: false });
  cleanups.push(() => redis.quit());
  return new SeatStore({ redis, prefix });
}

async function createEvent(store: SeatStore, eventId: string, seats: number): Promise<void> {
  const created = await createEventFromLayout(store, eventId, generateVenue({ seats, seed: 3, name: eventId }));
  expect(created.ok).toBe(true);
}

/** A redis-server of this file's own on a free port, without persistence; resolves once it answers. */
async function privateRedis(): Promise<{ url: string; child: ChildProcess }> {
  const redisServer = findBinary('redis-server', ['/usr/sbin', '/usr/local/sbin']);
  expect(redisServer, 'redis-server binary').not.toBeNull();
  const port = await freePort();
  const child: ChildProcess = spawn(redisServer!, ['--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no'], { stdio: 'ignore' });
  cleanups.push(async () => child.kill('SIGKILL'));
  const url = `redis://127.0.0.1:${port}`;
  const probe = new Redis(url, { retryStrategy: (n) => (n > 50 ? null : 100) });
  probe.on('error', () => undefined); // refused until the server is up; ping() waits for it
  await probe.ping();
  await probe.quit();
  return { url, child };
}

async function gateway(prefix: string, env: Record<string, string> = {}): Promise<SpawnedGateway> {
  const gw = await spawnGateway(prefix, { DEMO: '0', ...env });
  cleanups.push(() => gw.stop('SIGKILL'));
  return gw;
}

/** `count` bookers over disjoint seats from `firstSeat` on: booker b takes firstSeat + b, + count, + 2 × count, ... */
async function bookers(wsUrl: string, eventId: string, count: number, seatsEach: number, name: string, firstSeat = 0): Promise<Booker[]> {
  const list = await Promise.all(Array.from({ length: count }, (_, b) => Booker.connect(wsUrl, `${name}${b}`)));
  list.forEach((booker, b) => booker.start(eventId, Array.from({ length: seatsEach }, (_, i) => firstSeat + b + i * count)));
  for (const b of list) cleanups.push(async () => b.client.ws.terminate());
  return list;
}

/** Retries a book with the same key and token; resolves to the reply. */
async function retryBook(wsUrl: string, holder: string, eventId: string, attempt: BookAttempt) {
  const client = await TestClient.connect(wsUrl, { token: await token(holder) });
  try {
    return await client.request({ t: 'book', ev: eventId, tok: attempt.tok, key: attempt.key }, 20_000);
  } finally {
    client.ws.terminate();
  }
}

/** Polls `check` every 200 ms for up to 10 s (gauges are refreshed every few seconds). */
async function until(check: () => Promise<boolean>, what: string): Promise<void> {
  const deadline = Date.now() + 10_000;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 200));
  }
}

function countOutcomes(attempts: BookAttempt[]): Record<string, number> {
  const counts: Record<string, number> = {};
  for (const a of attempts) {
    const k = a.outcome.ok ? 'ok' : a.outcome.code;
    counts[k] = (counts[k] ?? 0) + 1;
  }
  return counts;
}

describe('a gateway killed with SIGKILL during a stream of book calls', () => {
  it('loses no acknowledged booking and books nothing twice; a restarted gateway flushes the rest', { timeout: 120_000 }, async () => {
    const prefix = newPrefix();
    cleanups.push(() => wipePrefix(prefix));
    const store = seatStore(testRedisUrl(), prefix);
    await createEvent(store, 'k9', 2000);
    const first = await gateway(prefix);
    const list = await bookers(first.wsUrl, 'k9', 20, 60, 'k9-');
    // let bookings flow, then kill the process without warning
    const deadline = Date.now() + 10_000;
    while (list.reduce((n, b) => n + b.acked.length, 0) < 60 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));
    first.child.kill('SIGKILL');
    await Promise.all(list.map((b) => b.stop()));
    const attempts = list.flatMap((b) => b.attempts);
    const acked = attempts.filter((a) => a.outcome.ok);
    const unanswered = attempts.filter((a) => !a.outcome.ok && a.outcome.code === 'lost');
    expect(acked.length).toBeGreaterThanOrEqual(60);

    // a new process (another flusher consumer) takes over the dead one's pending outbox entries
    const second = await gateway(prefix);
    await waitForFlush(store, 'k9');
    // a client that never got its answer retries with the same key: the same booking, or none was made
    for (const a of unanswered) {
      const holder = a.key.slice(0, a.key.lastIndexOf('-'));
      const reply = await retryBook(second.wsUrl, holder, 'k9', a);
      if (reply.t === 'ok') a.outcome = { ok: true, id: reply.id as string, ref: reply.ref as string };
      else expect(reply).toMatchObject({ t: 'err', code: 'EXPIRED' }); // the hold was made, the book never ran
    }
    const confirmed = await expectConsistent(await testDatabaseFor(prefix), store, 'k9', attempts);
    expect(confirmed).toBe(attempts.filter((a) => a.outcome.ok).length);
    console.info(`SIGKILL: ${acked.length} bookings acknowledged before the kill, ${unanswered.length} unanswered and retried, ${confirmed} confirmed in Postgres, all consistent`);
    await second.stop();
  });
});

describe('all of Redis flushed during traffic', () => {
  it('rebuilds the event from Postgres with a new epoch; no acknowledged booking is lost; watchers converge by re-snapshot', { timeout: 120_000 }, async () => {
    const { url: redisUrl } = await privateRedis();
    const admin = new Redis(redisUrl);
    cleanups.push(() => admin.quit());

    const prefix = newPrefix();
    const store = seatStore(redisUrl, prefix);
    await createEvent(store, 'fl', 1000);
    const gw = await gateway(prefix, { REDIS_URL: redisUrl, REBUILD_CHECK_MS: '200', ROOM_CHECK_MS: '200', BOOK_ACK_TIMEOUT_MS: '3000' });
    const watchers = await Promise.all(['w1', 'w2', 'w3'].map(async (w) => TestClient.connect(gw.wsUrl, { token: await token(w) })));
    for (const w of watchers) cleanups.push(async () => w.ws.terminate());
    for (const w of watchers) await w.ok({ t: 'sub', ev: 'fl' });
    const before = (await store.meta('fl'))!;

    // bookings acknowledged before the flush: durable in Postgres, so they must survive it
    const early = await bookers(gw.wsUrl, 'fl', 5, 6, 'early-');
    await Promise.all(early.map((b) => b.finished()));
    const earlyAcked = early.flatMap((b) => b.acked);
    expect(earlyAcked).toHaveLength(30);

    // traffic during the flush
    const during = await bookers(gw.wsUrl, 'fl', 10, 20, 'during-', 100);
    await new Promise((r) => setTimeout(r, 150));
    await admin.flushall();
    await Promise.all(during.map((b) => b.stop()));

    // the event is back, with a new epoch
    let after = await store.meta('fl');
    for (let i = 0; i < 100 && !after; i++) {
      await new Promise((r) => setTimeout(r, 100));
      after = await store.meta('fl');
    }
    expect(after, 'the event was rebuilt').not.toBeNull();
    expect(after!.epoch).toBeGreaterThan(before.epoch);

    // bookings after the rebuild work, and the outbox drains
    const late = await bookers(gw.wsUrl, 'fl', 3, 3, 'late-', 500);
    await Promise.all(late.map((b) => b.finished()));
    expect(late.flatMap((b) => b.refusedHolds)).toEqual([]);
    expect(late.flatMap((b) => b.acked)).toHaveLength(9);
    await waitForFlush(store, 'fl');

    const attempts = [...early, ...during, ...late].flatMap((b) => b.attempts);
    const confirmed = await expectConsistent(await testDatabaseFor(prefix), store, 'fl', attempts);
    const outcomes = countOutcomes(during.flatMap((b) => b.attempts));
    console.info(`FLUSHALL: epoch ${before.epoch} -> ${after!.epoch}; bookings during the flush: ${JSON.stringify(outcomes)}; ${confirmed} confirmed, all consistent`);
    // every watcher re-snapshotted into the new epoch and matches Redis
    const snap = (await store.snapshot('fl'))!;
    for (const w of watchers) {
      const view = await w.until('fl', (v) => v.epoch === snap.epoch && v.seq >= snap.seq, 10_000);
      expect(Buffer.from(view.status).equals(snap.status)).toBe(true);
    }
    await gw.stop();
  });
});

describe('Postgres stopped during traffic', () => {
  it('holds and books go on, acks answer PENDING, and everything is flushed exactly once when it is back', { timeout: 120_000 }, async () => {
    const pgPort = await freePort();
    const databaseUrl = `postgres://postgres@127.0.0.1:${pgPort}/postgres`;
    cleanups.push(async () => {
      await stopLocalServices({ ports: [pgPort], logger: () => undefined });
      rmSync(path.join(DATA_DIR, 'pg', String(pgPort)), { recursive: true, force: true });
    });
    await startLocalPostgres(databaseUrl, () => undefined);

    const prefix = newPrefix();
    cleanups.push(() => wipePrefix(prefix));
    const store = seatStore(testRedisUrl(), prefix);
    await createEvent(store, 'pg', 500);
    const gw = await gateway(prefix, { DATABASE_URL: databaseUrl, BOOK_ACK_TIMEOUT_MS: '1500' });

    const before = await bookers(gw.wsUrl, 'pg', 4, 5, 'up-');
    await Promise.all(before.map((b) => b.finished()));
    expect(before.flatMap((b) => b.acked)).toHaveLength(20);

    await stopLocalServices({ ports: [pgPort], logger: () => undefined });
    const down = await bookers(gw.wsUrl, 'pg', 4, 3, 'down-', 100);
    await Promise.all(down.map((b) => b.finished()));
    expect(down.flatMap((b) => b.refusedHolds)).toEqual([]);
    const pending = down.flatMap((b) => b.attempts);
    expect(pending).toHaveLength(12);
    // every book was made in Redis (the seats are taken) but none could be confirmed
    for (const a of pending) expect(a.outcome).toEqual({ ok: false, code: 'PENDING' });
    // the backlog is visible to monitoring
    const backlog = async () => Number(/^seatmap_outbox_backlog (\d+)/m.exec(await (await fetch(`${gw.httpUrl}/metrics`)).text())?.[1]);
    await until(async () => (await backlog()) >= 12, 'the backlog gauge shows the 12 waiting bookings');
    const ready = await fetch(`${gw.httpUrl}/readyz`);
    expect(ready.status).toBe(200);
    expect(await ready.json()).toMatchObject({ checks: { postgres: false } });

    await startLocalPostgres(databaseUrl, () => undefined);
    await waitForFlush(store, 'pg');
    await until(async () => (await backlog()) === 0, 'the backlog gauge back at 0');
    // the retries with the same keys get the very bookings made during the outage
    for (const a of pending) {
      const reply = await retryBook(gw.wsUrl, a.key.slice(0, a.key.lastIndexOf('-')), 'pg', a);
      expect(reply).toMatchObject({ t: 'ok', replayed: true, seats: a.seats });
      const ok = reply as unknown as { id: string; ref: string };
      a.outcome = { ok: true, id: ok.id, ref: ok.ref };
    }
    const all = [...before.flatMap((b) => b.attempts), ...pending];
    expect(await expectConsistent(databaseUrl, store, 'pg', all)).toBe(32);
    await gw.stop();
  });
});

describe('Redis not answering after Postgres gave seats up', () => {
  it('a cancel and a failed payment answer 202 with freed: null; the seats are freed in the background once Redis answers', { timeout: 60_000 }, async () => {
    const redis = await privateRedis();
    const gw = await startTestGateway({ REDIS_URL: redis.url, REDIS_COMMAND_TIMEOUT_MS: '500', RELEASE_RETRY_MS: '200', WEBHOOKS: '0', DEMO: '0' });
    cleanups.push(() => gw.stop());
    await createVenueEvent(gw.store, 'rr', 100);
    const buyer = await TestClient.connect(gw.wsUrl, { token: await token('rr-buyer') });
    cleanups.push(async () => buyer.ws.terminate());
    const booked = await buyer.ok({ t: 'book', ev: 'rr', tok: (await buyer.ok({ t: 'hold', ev: 'rr', seats: [3, 4] })).tok as string, key: 'rr-1' });
    const unpaid = await buyer.ok({ t: 'checkout', ev: 'rr', tok: (await buyer.ok({ t: 'hold', ev: 'rr', seats: [7] })).tok as string, key: 'rr-2' });
    const adminToken = await token('box-office', 'admin');
    const admin = (path: string, body?: unknown) =>
      apiFetch(`${gw.httpUrl}${path}`, { method: 'POST', headers: { authorization: `Bearer ${adminToken}` }, body: body === undefined ? undefined : JSON.stringify(body) });

    redis.child.kill('SIGSTOP'); // Redis stops answering: every command times out
    try {
      const cancelled = await admin(`/events/rr/bookings/${booked.ref as string}/cancel`, { reason: 'refund' });
      expect(cancelled.status).toBe(202);
      expect(await cancelled.json()).toMatchObject({ changed: true, freed: null, booking: { state: 'cancelled' } });
      const failed = await admin(`/bookings/${unpaid.ref as string}/fail`);
      expect(failed.status).toBe(202);
      expect(await failed.json()).toMatchObject({ changed: true, freed: null, booking: { state: 'failed' } });
      // durable in Postgres, the releases kept to be applied
      expect(await queryGatewayDb(gw.prefix, 'SELECT count(*)::int AS n FROM seat_releases')).toEqual([{ n: 2 }]);
    } finally {
      redis.child.kill('SIGCONT');
    }
    await until(async () => (await queryGatewayDb(gw.prefix, 'SELECT count(*)::int AS n FROM seat_releases'))[0]!.n === 0, 'the releases applied in the background');
    const snap = (await gw.store.snapshot('rr'))!;
    expect([snap.status[3], snap.status[4], snap.status[7]]).toEqual([SeatState.FREE, SeatState.FREE, SeatState.FREE]);
    // again, with Redis answering: nothing changes, nothing more to free
    const again = await admin(`/events/rr/bookings/${booked.ref as string}/cancel`);
    expect(await again.json()).toMatchObject({ changed: false, freed: 0 });
  });
});
