/**
 * Tokens and hold timers pushed, not guessed (docs/onsale.md), on two
 * gateway nodes sharing one Redis: `auth` replaces a connection's token in
 * band (subscriptions kept, another subject refused), the SDK refreshes
 * before `exp` through its getToken callback, and `tok` / `tokend` reach
 * every connection of the holder, on the other node too.
 */
import WebSocket from 'ws';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { SeatMapClient } from '../core/client/index.js';
import type { ServerMessage } from '../core/protocol/index.js';
import { createVenueEvent, newPrefix, startTestGateway, token, wipePrefix, type TestGateway } from './support/gateway.js';
import { TestClient } from './support/ws-client.js';
import { newRedis } from './support/redis.js';

const prefix = newPrefix();
let a: TestGateway;
let b: TestGateway;
const clients: TestClient[] = [];

beforeAll(async () => {
  a = await startTestGateway({ TICK_MS: '10', SWEEP_INTERVAL_MS: '50' }, prefix);
  b = await startTestGateway({ TICK_MS: '10', SWEEP_INTERVAL_MS: '50' }, prefix);
  await createVenueEvent(a.store, 'tk', 200, { holdTtlMs: 60_000, maxHoldLifetimeMs: 600_000 });
  await createVenueEvent(a.store, 'tkshort', 100, { holdTtlMs: 400, maxHoldLifetimeMs: 400 });
}, 60_000);

afterAll(async () => {
  for (const c of clients) c.ws.terminate();
  await Promise.all([a?.stop(), b?.stop()]);
  await wipePrefix(prefix);
});

async function connect(gw: TestGateway, sub: string, ttlSec?: number): Promise<TestClient> {
  const c = await TestClient.connect(gw.wsUrl, { token: await token(sub, undefined, ttlSec) });
  clients.push(c);
  return c;
}

const next = (c: TestClient, t: string, match: (m: Record<string, unknown>) => boolean = () => true, timeoutMs = 3000) =>
  c.next((m) => m.t === t && match(m as unknown as Record<string, unknown>), timeoutMs, t) as Promise<ServerMessage & Record<string, unknown>>;

describe('auth: the token replaced in band', () => {
  it('keeps the connection and its subscriptions past the old exp; another subject is FORBIDDEN, a bad token UNAUTHORIZED', async () => {
    const c = await connect(a, 'refresher', 2);
    expect(c.hello!.exp).toBeGreaterThan(Date.now());
    await c.ok({ t: 'sub', ev: 'tk' });
    expect(await c.request({ t: 'auth', token: await token('someone-else') })).toMatchObject({ t: 'err', code: 'FORBIDDEN' });
    expect(await c.request({ t: 'auth', token: 'not.a.jwt' })).toMatchObject({ t: 'err', code: 'UNAUTHORIZED' });
    const fresh = await c.ok({ t: 'auth', token: await token('refresher', 'seats:read seats:hold', 3600) });
    expect(fresh).toMatchObject({ sub: 'refresher', scopes: ['seats:read', 'seats:hold'] });
    expect(fresh.exp as number).toBeGreaterThan(Date.now() + 3_000_000);
    // past the first token's exp: still open, still subscribed
    await new Promise((r) => setTimeout(r, 2300));
    const writer = await connect(b, 'writer');
    const held = await writer.ok({ t: 'hold', ev: 'tk', seats: [7] });
    const view = await c.until('tk', (v) => v.seq >= (held.seq as number));
    expect(view.status[7]).toBe(1);
    // the new token's scopes apply: no seats:book any more
    expect(await c.request({ t: 'book', ev: 'tk', tok: held.tok as string, key: 'k1' })).toMatchObject({ t: 'err', code: 'FORBIDDEN' });
  });

  it('the SDK refreshes through getToken before exp and keeps its one connection', async () => {
    let issued = 0;
    const client = new SeatMapClient({
      url: a.wsUrl,
      WebSocket: WebSocket as never,
      getToken: async () => (issued++, token('sdk-refresh', undefined, 2)),
      refreshBeforeMs: 1500,
    });
    try {
      const refreshed = new Promise<{ exp: number | null }>((resolve) => client.on('token-refreshed', resolve));
      await client.connect();
      const { exp } = await refreshed;
      expect(exp).toBeGreaterThan(Date.now());
      await new Promise((r) => setTimeout(r, 1200));
      expect(client.state).toBe('open');
      expect(client.stats.opens).toBe(1);
      expect(issued).toBeGreaterThanOrEqual(2);
    } finally {
      client.close();
    }
  });
});

describe('tok and tokend', () => {
  it('reach a second connection of the holder on the other node: hold, extend, release, book', async () => {
    const onA = await connect(a, 'two-tabs');
    const onB = await connect(b, 'two-tabs');
    const stranger = await connect(b, 'stranger');
    const made = next(onB, 'tok');
    // the sending connection is told as well, in the write of the reply or after it
    const told = next(onA, 'tok');
    const held = await onA.ok({ t: 'hold', ev: 'tk', seats: [21, 20] });
    expect(await made).toMatchObject({ ev: 'tk', tok: held.tok, exp: held.exp, seats: [20, 21] });
    expect(await told).toMatchObject({ tok: held.tok, seats: [20, 21] });
    expect(onA.messages.findIndex((m) => m.t === 'tok')).toBeGreaterThan(onA.messages.findIndex((m) => m.t === 'ok' && m.tok === held.tok));

    const afterRelease = next(onB, 'tok', (m) => (m.seats as number[]).length === 1);
    await onA.ok({ t: 'release', ev: 'tk', tok: held.tok as string, seats: [20] });
    expect(await afterRelease).toMatchObject({ seats: [21] });

    const ended = next(onB, 'tokend');
    await onA.ok({ t: 'release', ev: 'tk', tok: held.tok as string });
    expect(await ended).toMatchObject({ ev: 'tk', tok: held.tok, reason: 'released' });

    const second = await onB.ok({ t: 'hold', ev: 'tk', seats: [30] });
    const booked = next(onA, 'tokend', (m) => m.tok === second.tok);
    await onB.ok({ t: 'book', ev: 'tk', tok: second.tok as string, key: 'two-tabs-1' });
    expect(await booked).toMatchObject({ reason: 'booked' });
    // nobody else hears of them
    expect(stranger.messages.filter((m) => m.t === 'tok' || m.t === 'tokend')).toEqual([]);
  });

  /** node a's notices kept off Redis so far */
  const localOnly = async () => (await a.node.metrics.holderNoticesLocalOnly.get()).values[0]?.value ?? 0;

  /** Extends the token from `holder` until node a counts one more local-only notice than `than` (bounded); true when it did. */
  async function untilLocalOnly(holder: TestClient, tok: string, than: number): Promise<boolean> {
    for (let i = 0; i < 40; i++) {
      const told = next(holder, 'tok', (m) => m.tok === tok);
      await holder.ok({ t: 'extend', ev: 'tk', tok });
      await told; // the holder's own connection is told either way
      if ((await localOnly()) > than) return true;
      await new Promise((r) => setTimeout(r, 25));
    }
    return false;
  }

  /** Extends the token from `holder` until `other` is told of it (bounded); true when it was. */
  async function untilTold(holder: TestClient, other: TestClient, tok: string): Promise<boolean> {
    for (let i = 0; i < 60; i++) {
      const told = next(other, 'tok', (m) => m.tok === tok, 150).then(
        () => true,
        () => false,
      );
      await holder.ok({ t: 'extend', ev: 'tk', tok });
      if (await told) return true;
    }
    return false;
  }

  it('a holder on one node only: its notices stay on that node, until a connection of the holder on the other node says hello', async () => {
    const solo = await connect(a, 'solo-holder');
    const held = await solo.ok({ t: 'hold', ev: 'tk', seats: [40] });
    const tok = held.tok as string;
    // the first notice's PUBLISH reached only node a's own subscriber: the ones after it are not published
    expect(await untilLocalOnly(solo, tok, await localOnly()), 'notices of a holder on one node are kept local').toBe(true);

    // a second tab on node b: b's hello makes a publish again, and b's connection is told from then on
    const other = await connect(b, 'solo-holder');
    expect(await untilTold(solo, other, tok), 'the connection on node b hears of the token').toBe(true);
    const afterHello = await localOnly();
    for (let i = 0; i < 5; i++) {
      const told = next(other, 'tok', (m) => m.tok === tok && (m.seats as number[]).includes(41 + i));
      await solo.ok({ t: 'hold', ev: 'tk', tok, seats: [41 + i] });
      expect(await told).toMatchObject({ ev: 'tk', tok });
    }
    expect(await localOnly()).toBe(afterHello);

    // the second tab closes: node a finds itself alone again
    other.ws.close();
    expect(await untilLocalOnly(solo, tok, afterHello)).toBe(true);
  });

  it('after both nodes\' holder subscribers were cut, a tab opened on the other node meanwhile still hears of a local-only holder\'s token', async () => {
    const solo = await connect(a, 'cut-holder');
    const held = await solo.ok({ t: 'hold', ev: 'tk', seats: [60] });
    const tok = held.tok as string;
    expect(await untilLocalOnly(solo, tok, await localOnly())).toBe(true);
    // both nodes' holder subscribers are cut; a second tab opens on b while they come back
    const admin = newRedis();
    const list = String(await admin.client('LIST'));
    const ports = [a, b].map((gw) => gw.node.server.holderNotices!.subscriberPort);
    const ids = list
      .split('\n')
      .filter((line) => ports.some((port) => port !== null && line.includes(` addr=127.0.0.1:${port} `)))
      .map((line) => /id=(\d+)/.exec(line)![1]!);
    expect(ids.length).toBe(2);
    for (const id of ids) await admin.client('KILL', 'ID', id);
    await admin.quit();
    const other = await connect(b, 'cut-holder');
    expect(await untilTold(solo, other, tok), 'the tab on node b hears of the token after the reconnect').toBe(true);
  });

  it('tokend expired when the sweeper frees a hold, on every connection of the holder', async () => {
    const onA = await connect(a, 'short-holder');
    const onB = await connect(b, 'short-holder');
    const held = await onA.ok({ t: 'hold', ev: 'tkshort', seats: [3] });
    const [endA, endB] = await Promise.all([
      next(onA, 'tokend', (m) => m.tok === held.tok, 4000),
      next(onB, 'tokend', (m) => m.tok === held.tok, 4000),
    ]);
    expect(endA).toMatchObject({ ev: 'tkshort', reason: 'expired' });
    expect(endB).toMatchObject({ ev: 'tkshort', reason: 'expired' });
  });
});
