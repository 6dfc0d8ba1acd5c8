/**
 * Redis going back, with real processes: a Redis server of this file's own is
 * killed with SIGKILL during a stream of bookings and comes back with an older
 * state (its last snapshot), as a replica promoted after a failover comes
 * back without the writes it had not received. The gateway must find out (the
 * server's identity changed), rebuild the seats Postgres has booked before
 * they can be held again, and move the event to a new epoch so that every
 * watcher re-snapshots. Checked: every acknowledged booking is in Postgres and
 * booked in Redis; Redis and Postgres agree; every watcher ends equal to Redis.
 * The figures (bookings acked, in Postgres, booked in Redis, holds lost,
 * watchers resynced, time until they agree) are printed and kept in
 * docs/performance.md.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { Redis } from 'ioredis';
import { createEventFromLayout } from '../core/events.js';
import { generateVenue } from '../core/layout/generate-venue.js';
import { SeatState, SeatStore } from '../core/store/index.js';
import { findBinary } from '../scripts/services/index.js';
import { Booker, expectConsistent, waitForFlush } from './support/bookings.js';
import { newPrefix, spawnGateway, testDatabaseFor, token } from './support/gateway.js';
import { freePort } from './support/net.js';
import { TestClient } from './support/ws-client.js';

const cleanups: (() => Promise<unknown>)[] = [];
afterAll(async () => {
  for (const fn of cleanups.reverse()) await fn().catch(() => undefined);
});

/** A redis-server on `port` that keeps its snapshot in `dir` (SAVE writes it, a start loads it). */
async function redisServer(port: number, dir: string): Promise<ChildProcess> {
  const binary = findBinary('redis-server', ['/usr/sbin', '/usr/local/sbin']);
  expect(binary, 'redis-server binary').not.toBeNull();
  const child = spawn(binary!, ['--port', String(port), '--bind', '127.0.0.1', '--dir', dir, '--save', '', '--appendonly', 'no'], { stdio: 'ignore' });
  cleanups.push(async () => child.kill('SIGKILL'));
  const probe = new Redis(`redis://127.0.0.1:${port}`, { retryStrategy: (n) => (n > 50 ? null : 100) });
  probe.on('error', () => undefined);
  await probe.ping();
  await probe.quit();
  return child;
}

async function until<T>(read: () => Promise<T>, ok: (v: T) => boolean, what: string, ms = 20_000): Promise<T> {
  const deadline = Date.now() + ms;
  for (;;) {
    const v = await read();
    if (ok(v)) return v;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

async function bookers(wsUrl: string, eventId: string, count: number, seatsEach: number, name: string, firstSeat: number): Promise<Booker[]> {
  const list = await Promise.all(Array.from({ length: count }, (_, b) => Booker.connect(wsUrl, `${name}${b}`)));
  list.forEach((booker, b) => booker.start(eventId, Array.from({ length: seatsEach }, (_, i) => firstSeat + b + i * count)));
  for (const b of list) cleanups.push(async () => b.client.ws.terminate());
  return list;
}

describe('Redis back with an older state (a failover to a replica that missed the last writes)', () => {
  it('repairs the booked seats from Postgres, moves the event to a new epoch, and every watcher ends equal to Redis', { timeout: 120_000 }, async () => {
    const port = await freePort();
    const dir = mkdtempSync(path.join(tmpdir(), 'seatmap-failover-'));
    cleanups.push(async () => rmSync(dir, { recursive: true, force: true }));
    let server = await redisServer(port, dir);
    const redisUrl = `redis://127.0.0.1:${port}`;
    const admin = new Redis(redisUrl, { retryStrategy: () => 100 });
    admin.on('error', () => undefined);
    cleanups.push(() => admin.quit());
    const prefix = newPrefix();
    const store = new SeatStore({ redis: new Redis(redisUrl, { retryStrategy: () => 100 }), prefix });
    store.redis.on('error', () => undefined);
    cleanups.push(() => store.redis.quit());
    const ev = 'fo';
    expect((await createEventFromLayout(store, ev, generateVenue({ seats: 1000, seed: 3, name: ev }))).ok).toBe(true);

    const gw = await spawnGateway(prefix, { DEMO: '0', REDIS_URL: redisUrl, REBUILD_CHECK_MS: '200', ROOM_CHECK_MS: '200', BOOK_ACK_TIMEOUT_MS: '5000' });
    cleanups.push(() => gw.stop('SIGKILL'));
    const watchers = await Promise.all(['w1', 'w2', 'w3'].map(async (w) => TestClient.connect(gw.wsUrl, { token: await token(w) })));
    for (const w of watchers) cleanups.push(async () => w.ws.terminate());
    for (const w of watchers) await w.ok({ t: 'sub', ev });

    // bookings before the snapshot the server will come back with
    const early = await bookers(gw.wsUrl, ev, 5, 6, 'early-', 0);
    await Promise.all(early.map((b) => b.finished()));
    await waitForFlush(store, ev);
    await until(() => admin.exists(store.global.redisIdentity), (n) => n === 1, 'the identity recorded');
    await admin.save();
    const before = (await store.meta(ev))!;

    // bookings and holds the older state will lack: the bookings acknowledged, so in Postgres
    const lost = await bookers(gw.wsUrl, ev, 5, 6, 'lost-', 100);
    await Promise.all(lost.map((b) => b.finished()));
    await waitForFlush(store, ev);
    const holder = await TestClient.connect(gw.wsUrl, { token: await token('holder') });
    cleanups.push(async () => holder.ws.terminate());
    const heldSeats = [900, 901, 902, 903, 904];
    await holder.ok({ t: 'hold', ev, seats: heldSeats });
    const seenBefore = Math.max(...watchers.map((w) => w.views.get(ev)!.seq));
    expect(seenBefore).toBeGreaterThan(before.seq);

    // traffic through the fault: the server killed, back at once from its snapshot
    const during = await bookers(gw.wsUrl, ev, 5, 20, 'during-', 300);
    await new Promise((r) => setTimeout(r, 150));
    server.kill('SIGKILL');
    await new Promise<void>((resolve) => server.once('exit', () => resolve()));
    server = await redisServer(port, dir);
    const restartedAt = Date.now();
    expect(before.seq).toBeLessThan(seenBefore); // the state it comes back with is behind what watchers saw

    // the repair: a new epoch, the lost bookings' seats booked again
    const repaired = await until(() => store.meta(ev).catch(() => null), (m) => m !== null && m.epoch > before.epoch, 'the repair');
    const repairedMs = Date.now() - restartedAt;
    await Promise.all(watchers.map((w) => w.until(ev, (v) => v.epoch === repaired!.epoch, 20_000)));
    const resnapshotMs = Date.now() - restartedAt;
    await Promise.all(during.map((b) => b.stop()));
    await waitForFlush(store, ev);

    const attempts = [...early, ...lost, ...during].flatMap((b) => b.attempts);
    const acked = attempts.filter((a) => a.outcome.ok);
    const confirmed = await expectConsistent(await testDatabaseFor(prefix), store, ev, attempts);
    expect(confirmed).toBe(acked.length);
    const snap = (await store.snapshot(ev))!;
    const bookedInRedis = snap.status.filter((s) => s === SeatState.BOOKED).length;
    for (const a of lost.flatMap((b) => b.acked)) for (const seat of a.seats) expect(snap.status[seat]).toBe(SeatState.BOOKED);
    const holdsLost = heldSeats.filter((s) => snap.status[s] !== SeatState.HELD).length;

    // every watcher re-snapshotted into the new epoch and is equal to Redis
    for (const w of watchers) {
      const view = await w.until(ev, (v) => v.epoch === snap.epoch && v.seq >= snap.seq, 20_000);
      expect(Buffer.from(view.status).equals(snap.status)).toBe(true);
    }
    expect(gw.lines.some((l) => l.includes('redis has a new identity')), 'the gateway saw the new identity').toBe(true);
    expect(gw.lines.some((l) => l.includes('event rebuilt from postgres')), 'the gateway rebuilt the event').toBe(true);
    console.info(
      `FAILOVER: epoch ${before.epoch} -> ${repaired!.epoch}; Redis came back at seq ${before.seq}, watchers had seen ${seenBefore}; ` +
        `bookings acked ${acked.length}, in Postgres ${confirmed}, seats booked in Redis after the repair ${bookedInRedis}; ` +
        `holds lost ${holdsLost} of ${heldSeats.length}; repaired ${repairedMs} ms after the restart, every watcher (${watchers.length}) in the new epoch ${resnapshotMs} ms after it, and equal to Redis once the traffic stopped`,
    );
    await gw.stop();
  });
});
