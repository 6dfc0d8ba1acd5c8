/**
 * Faults with real processes: a gateway killed with SIGKILL in the middle of a
 * stream of bookings, all of a Redis server flushed during traffic, and
 * Postgres stopped and started again during traffic. The Redis and Postgres
 * servers that are flushed or stopped are private to this file (started here
 * on free ports), never the shared test servers.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { rmSync } from 'node:fs';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { Redis } from 'ioredis';
import { createEventFromLayout } from '../core/events.js';
import { SeatStore } from '../core/store/index.js';
import { generateVenue } from '../core/layout/generate-venue.js';
import { DATA_DIR, findBinary, startLocalPostgres, stopLocalServices } from '../scripts/services/index.js';
import { Booker, expectConsistent, waitForFlush, type BookAttempt } from './support/bookings.js';
import { newPrefix, spawnGateway, testDatabaseFor, token, wipePrefix, type SpawnedGateway } from './support/gateway.js';
import { freePort } from './support/net.js';
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
    const redisServer = findBinary('redis-server', ['/usr/sbin', '/usr/local/sbin']);
    expect(redisServer, 'redis-server binary').not.toBeNull();
    const port = await freePort();
    const child: ChildProcess = spawn(redisServer!, ['--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no'], { stdio: 'ignore' });
    cleanups.push(async () => child.kill('SIGKILL'));
    const redisUrl = `redis://127.0.0.1:${port}`;
    const admin = new Redis(redisUrl, { retryStrategy: (n) => (n > 50 ? null : 100) });
    admin.on('error', () => undefined); // refused until the server is up; ping() below waits for it
    cleanups.push(() => admin.quit());
    await admin.ping();

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
