/**
 * Memory a client can make the gateway hold by not reading, measured on a
 * real gateway process from /proc/<pid>/status (VmRSS).
 *
 * - 100 anonymous clients each ask for the snapshot of a 200,000-seat event
 *   100 times (about 4 kB of requests each) and then stop reading: each is
 *   paused once a catch-up would queue past SLOW_CONSUMER_BYTES, so the
 *   process holds about a megabyte per client, not 100 snapshots (it grew by
 *   1.5 GB before).
 * - With the per-client limits set high, the process-wide OUTBOUND_BUDGET_BYTES
 *   still bounds the total: the heaviest non-reading clients are closed first
 *   (dropped without a close frame, so that their unsent data is freed now).
 */
import { readFileSync } from 'node:fs';
import type { Socket } from 'node:net';
import WebSocket from 'ws';
import { afterAll, describe, expect, it } from 'vitest';
import { encodeMessage } from '../core/protocol/index.js';
import { SeatStore } from '../core/store/index.js';
import { createVenueEvent, newPrefix, spawnGateway, wipePrefix, type SpawnedGateway } from './support/gateway.js';
import { newRedis } from './support/redis.js';

const SEATS = 200_000;
const prefixes: string[] = [];
const gateways: SpawnedGateway[] = [];

afterAll(async () => {
  await Promise.all(gateways.map((g) => g.stop()));
  for (const p of prefixes) await wipePrefix(p);
});

const mb = (bytes: number) => (bytes / 1048576).toFixed(0);

function rssBytes(pid: number): number {
  const line = readFileSync(`/proc/${pid}/status`, 'utf8').split('\n').find((l) => l.startsWith('VmRSS:'))!;
  return Number(line.replace(/\D+/g, '')) * 1024;
}

async function gatewayWithBigEvent(env: Record<string, string>): Promise<SpawnedGateway> {
  const prefix = newPrefix();
  prefixes.push(prefix);
  const redis = newRedis();
  await createVenueEvent(new SeatStore({ redis, prefix }), 'huge', SEATS);
  await redis.quit();
  const gw = await spawnGateway(prefix, { LOG_LEVEL: 'info', FLUSHER: '0', REBUILD_CHECK_MS: '0', ...env });
  gateways.push(gw);
  return gw;
}

interface NonReader {
  ws: WebSocket;
  closeCode: Promise<number>;
}

/** Connects anonymously, sends `subs` subs of the event as fast as it can, and stops reading. */
async function nonReader(url: string, subs: number): Promise<NonReader> {
  const ws = new WebSocket(url, ['seatmap.v1']);
  const closeCode = new Promise<number>((resolve) => ws.once('close', (code) => resolve(code)));
  await new Promise<void>((resolve, reject) => {
    ws.once('message', () => resolve()); // hello
    ws.once('error', reject);
  });
  const socket = (ws as unknown as { _socket: Socket })._socket;
  socket.pause();
  for (let rid = 1; rid <= subs; rid++) ws.send(encodeMessage({ t: 'sub', rid, ev: 'huge' }));
  return { ws, closeCode };
}

async function settle(ms: number): Promise<void> {
  await new Promise((r) => setTimeout(r, ms));
}

describe('memory held for clients that stop reading', () => {
  it('100 clients asking for a 200,000-seat snapshot 100 times each cost about one snapshot each', async () => {
    const gw = await gatewayWithBigEvent({ OPS_BURST: '200', OPS_PER_SECOND: '200' });
    const before = rssBytes(gw.child.pid!);
    const clients: NonReader[] = [];
    for (let i = 0; i < 100; i++) clients.push(await nonReader(gw.wsUrl, 100));
    await settle(3000);
    const after = rssBytes(gw.child.pid!);
    const grown = after - before;
    console.log(`100 non-reading clients × 100 subs of a ${SEATS}-seat event: gateway RSS ${mb(before)} → ${mb(after)} MB`);
    // each client: kernel buffers (not the process's), at most SLOW_CONSUMER_BYTES (1 MiB) plus one
    // 200 kB snapshot queued in uWS; 100 clients before the fix took 1.5 GB
    expect(grown).toBeLessThan(250 * 1024 * 1024);
    const text = await (await fetch(`${gw.httpUrl}/metrics`)).text();
    const deferred = Number(/^seatmap_catch_ups_deferred_total (\d+)/m.exec(text)?.[1] ?? 0);
    expect(deferred).toBeGreaterThanOrEqual(90);
    for (const c of clients) c.ws.terminate();
  }, 120_000);

  it('past OUTBOUND_BUDGET_BYTES the heaviest non-reading clients are dropped, their memory freed, and a reading client is served', async () => {
    // per-client limits far above the budget: only the budget can stop them
    const gw = await gatewayWithBigEvent({
      OPS_BURST: '200',
      OPS_PER_SECOND: '200',
      SLOW_CONSUMER_BYTES: String(64 << 20),
      MAX_BACKPRESSURE_BYTES: String(128 << 20),
      SLOW_CONSUMER_GRACE_MS: '600000',
      OUTBOUND_BUDGET_BYTES: String(40 << 20),
    });
    const before = rssBytes(gw.child.pid!);
    const clients: NonReader[] = [];
    for (let i = 0; i < 20; i++) clients.push(await nonReader(gw.wsUrl, 50 + i * 5)); // 10 to 30 MB each, unequal
    await settle(2500);
    const text = await (await fetch(`${gw.httpUrl}/metrics`)).text();
    const closedForBudget = Number(/^seatmap_slow_consumer_total\{action="closed_budget"\} (\d+)/m.exec(text)?.[1] ?? 0);
    expect(closedForBudget).toBeGreaterThan(0);
    expect(closedForBudget).toBeLessThan(clients.length);
    expect(Number(/^seatmap_outbound_budget_bytes (\d+)/m.exec(text)?.[1])).toBe(40 << 20);
    // what the process holds stays near the budget, not 20 clients × their requests
    const after = rssBytes(gw.child.pid!);
    console.log(`20 non-reading clients, OUTBOUND_BUDGET_BYTES 40 MiB: gateway RSS ${mb(before)} → ${mb(after)} MB, ${closedForBudget} closed for the budget`);
    expect(after - before).toBeLessThan(200 * 1024 * 1024);

    // reading again, each closed client finds its connection gone: dropped without a close frame,
    // since its megabytes of unsent data would have kept the memory until sent
    for (const c of clients) (c.ws as unknown as { _socket: Socket })._socket.resume();
    const codes = await Promise.all(clients.map((c) => Promise.race([c.closeCode, settle(5000).then(() => null)])));
    expect(codes.filter((c) => c === 1006)).toHaveLength(closedForBudget);
    expect(codes.filter((c) => c !== 1006 && c !== null)).toEqual([]);

    const reader = new WebSocket(gw.wsUrl, ['seatmap.v1']);
    const frames: number[] = [];
    await new Promise<void>((resolve) => {
      reader.on('message', (data: Buffer) => {
        frames.push(data.byteLength);
        if (frames.length === 3) resolve(); // hello, snap, ok
      });
      reader.once('open', () => reader.send(encodeMessage({ t: 'sub', rid: 1, ev: 'huge' })));
    });
    expect(frames[1]).toBeGreaterThan(SEATS);
    reader.terminate();
    for (const c of clients) c.ws.terminate();
  }, 120_000);
});
