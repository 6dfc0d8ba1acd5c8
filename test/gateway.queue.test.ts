/**
 * The waiting room end to end on two gateway nodes sharing one Redis
 * (docs/onsale.md): the admin API, one queue for both nodes, a place kept
 * across reconnects and nodes, NOT_ADMITTED from every node for a subject
 * that skips the queue, admission in the documented order (fifo; random
 * then fifo), admit and qpos pushes, and the room closing at sold-out and
 * opening again when the holds expire.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ServerMessage } from '../core/protocol/index.js';
import { createVenueEvent, newPrefix, startTestGateway, token, wipePrefix, type TestGateway } from './support/gateway.js';
import { apiFetch } from './support/openapi.js';
import { TestClient } from './support/ws-client.js';

const prefix = newPrefix();
let a: TestGateway;
let b: TestGateway;
let admin: string;
const clients: TestClient[] = [];

const ENV = { QUEUE_POLL_MS: '100', ADMIT_INTERVAL_MS: '100', TICK_MS: '10' };

beforeAll(async () => {
  a = await startTestGateway(ENV, prefix);
  b = await startTestGateway(ENV, prefix);
  admin = await token('ops', 'admin');
}, 60_000);

afterAll(async () => {
  for (const c of clients) c.ws.terminate();
  await Promise.all([a?.stop(), b?.stop()]);
  await wipePrefix(prefix);
});

async function connect(gw: TestGateway, sub: string, scope?: string): Promise<TestClient> {
  const c = await TestClient.connect(gw.wsUrl, { token: await token(sub, scope) });
  clients.push(c);
  return c;
}

function putQueue(gw: TestGateway, ev: string, body: unknown, jwt: string | null = admin): Promise<Response> {
  return apiFetch(`${gw.httpUrl}/events/${ev}/queue`, {
    method: 'PUT',
    headers: { 'content-type': 'application/json', ...(jwt && { authorization: `Bearer ${jwt}` }) },
    body: JSON.stringify(body),
  });
}

const nextOf = (c: TestClient, t: string, ev: string, timeoutMs = 5000) =>
  c.next((m) => m.t === t && (m as { ev?: string }).ev === ev, timeoutMs, `${t} for ${ev}`) as Promise<ServerMessage & Record<string, unknown>>;

describe('the admin API', () => {
  it('PUT puts a room on (201) and changes it (200) with defaults filled in; GET tells it; DELETE takes it off', async () => {
    await createVenueEvent(a.store, 'qapi', 100);
    expect((await putQueue(a, 'qapi', { onSaleAt: 0, admitPerMinute: 60 }, null)).status).toBe(401);
    expect((await putQueue(a, 'qapi', { onSaleAt: 0, admitPerMinute: 60 }, await token('x', 'seats:hold'))).status).toBe(403);
    for (const bad of [{}, { onSaleAt: -1, admitPerMinute: 60 }, { onSaleAt: 0, admitPerMinute: 0 }, { onSaleAt: 0, admitPerMinute: 60, order: 'lifo' }, { onSaleAt: 0, admitPerMinute: 60, extra: 1 }, { onSaleAt: 10, prequeueFrom: 20, admitPerMinute: 60 }]) {
      const res = await putQueue(a, 'qapi', bad);
      expect(res.status, JSON.stringify(bad)).toBe(400);
      expect(((await res.json()) as { code: string }).code).toBe('BAD_REQUEST');
    }
    expect((await putQueue(a, 'nosuch', { onSaleAt: 0, admitPerMinute: 60 })).status).toBe(404);
    const created = await putQueue(a, 'qapi', { onSaleAt: 5, admitPerMinute: 60 });
    expect(created.status).toBe(201);
    expect(await created.json()).toEqual({
      id: 'qapi', onSaleAt: 5, prequeueFrom: 0, admitPerMinute: 60, maxActive: 0, admissionTtlMs: 600_000, order: 'random-then-fifo', closeWhenSoldOut: true, endsAt: 0,
      state: { closed: null, waiting: 0, active: 0, admittedTotal: 0 },
    });
    const changed = await putQueue(b, 'qapi', { onSaleAt: 5, admitPerMinute: 120, order: 'fifo' });
    expect(changed.status).toBe(200);
    const got = await apiFetch(`${b.httpUrl}/events/qapi/queue`, { headers: { authorization: `Bearer ${admin}` } });
    expect(await got.json()).toMatchObject({ admitPerMinute: 120, order: 'fifo' });
    expect((await apiFetch(`${a.httpUrl}/events/qapi/queue`, { method: 'DELETE', headers: { authorization: `Bearer ${admin}` } })).status).toBe(200);
    expect((await apiFetch(`${a.httpUrl}/events/qapi/queue`, { headers: { authorization: `Bearer ${admin}` } })).status).toBe(404);
    expect((await apiFetch(`${a.httpUrl}/events/qapi/queue`, { method: 'DELETE', headers: { authorization: `Bearer ${admin}` } })).status).toBe(404);
  });
});

describe('one queue for every node', () => {
  it('places are shared, kept on reconnect, admitted in arrival order (fifo); a subject that skips it gets NOT_ADMITTED from every node', async () => {
    await createVenueEvent(a.store, 'qfifo', 100);
    // no admission yet: a rate of 1 per minute, so nobody moves while the test joins
    expect((await putQueue(a, 'qfifo', { onSaleAt: 0, admitPerMinute: 1, order: 'fifo' })).status).toBe(201);
    const joined: TestClient[] = [];
    for (let i = 0; i < 4; i++) {
      const c = await connect(i % 2 === 0 ? a : b, `fifo-${i}`);
      const reply = await c.ok({ t: 'queue', ev: 'qfifo' });
      expect(reply).toMatchObject({ state: 'waiting', pos: i + 1, ahead: i });
      expect(reply.etaMs).toBeGreaterThan(0);
      joined.push(c);
    }
    // another tab on the other node, and a reconnect: the same place
    const tab = await connect(b, 'fifo-2');
    expect(await tab.ok({ t: 'queue', ev: 'qfifo' })).toMatchObject({ state: 'waiting', pos: 3 });
    await joined[2]!.close();
    const back = await connect(a, 'fifo-2');
    expect(await back.ok({ t: 'queue', ev: 'qfifo' })).toMatchObject({ state: 'waiting', pos: 3 });

    // watching the map stays allowed while queued; holding does not, on either node
    await back.ok({ t: 'sub', ev: 'qfifo' });
    const skipper = [await connect(a, 'skipper'), await connect(b, 'skipper')];
    for (const c of [...skipper, back]) expect(await c.request({ t: 'hold', ev: 'qfifo', seats: [1] })).toMatchObject({ t: 'err', code: 'NOT_ADMITTED' });

    // admission opens: 600 per minute is one every 100 ms, in arrival order
    const admits = joined.filter((_, i) => i !== 2).map((c) => nextOf(c, 'admit', 'qfifo'));
    const admitTab = nextOf(tab, 'admit', 'qfifo');
    const admitBack = nextOf(back, 'admit', 'qfifo');
    expect((await putQueue(b, 'qfifo', { onSaleAt: 0, admitPerMinute: 600, order: 'fifo' })).status).toBe(200);
    const pushed = await Promise.all([...admits, admitTab, admitBack]);
    for (const m of pushed) expect(m.until).toBeGreaterThan(Date.now());
    // both sockets of fifo-2 were told the same admission
    expect(pushed[3]!.until).toBe(pushed[4]!.until);
    const order = ['fifo-0', 'fifo-1', 'fifo-2', 'fifo-3'];
    const until = (sub: string) => a.store.redis.zscore(a.store.keys('qfifo').admitted, sub).then(Number);
    const ends = await Promise.all(order.map(until));
    expect([...ends].sort((x, y) => x - y)).toEqual(ends);

    const held = await back.ok({ t: 'hold', ev: 'qfifo', seats: [1] });
    expect(held.tok).toBeTruthy();
    expect(await back.ok({ t: 'queue', ev: 'qfifo' })).toMatchObject({ state: 'admitted', until: pushed[4]!.until });
    for (const c of skipper) expect(await c.request({ t: 'hold', ev: 'qfifo', seats: [2] })).toMatchObject({ t: 'err', code: 'NOT_ADMITTED' });
  });

  it('random-then-fifo: everyone waiting at onSaleAt is admitted before every later arrival, and those in arrival order', async () => {
    await createVenueEvent(a.store, 'qrand', 100);
    const onSaleAt = Date.now() + 1500;
    expect((await putQueue(a, 'qrand', { onSaleAt, admitPerMinute: 6000 })).status).toBe(201);
    const early: string[] = [];
    for (let i = 0; i < 6; i++) {
      const c = await connect(i % 2 ? a : b, `early-${i}`);
      const reply = await c.ok({ t: 'queue', ev: 'qrand' });
      expect(reply).toMatchObject({ state: 'prequeue' });
      expect(reply.pos).toBeUndefined();
      early.push(`early-${i}`);
    }
    // admission held back from the start, so that none happens before the later arrivals are in line (credit
    // moves only from onSaleAt on: a busy machine could otherwise admit one in the moment after it)
    const redis = a.store.redis;
    await redis.hset(a.store.keys('qrand').queue, 'credit', '-1000000');
    await new Promise((r) => setTimeout(r, Math.max(0, onSaleAt - Date.now()) + 20));
    // later arrivals
    const late: string[] = [];
    for (let i = 0; i < 4; i++) {
      const c = await connect(i % 2 ? b : a, `late-${i}`);
      expect(await c.ok({ t: 'queue', ev: 'qrand' })).toMatchObject({ state: 'waiting', pos: 7 + i });
      late.push(`late-${i}`);
    }
    const line = await redis.zrange(a.store.keys('qrand').waiting, 0, -1);
    expect(line.slice(0, 6).sort()).toEqual([...early].sort());
    expect(line.slice(6)).toEqual(late);
  });
});

describe('sold out', () => {
  it('the room closes while no seat is free (QUEUE_CLOSED, qclosed) and opens again when the holds expire (qopen)', async () => {
    await createVenueEvent(a.store, 'qsold', 100, { holdTtlMs: 1500, maxHoldLifetimeMs: 1500, maxSeatsPerToken: 100, maxSeatsPerHolder: 100 });
    expect((await putQueue(a, 'qsold', { onSaleAt: 0, admitPerMinute: 1 })).status).toBe(201);
    const waiting = await connect(b, 'sold-wait');
    expect(await waiting.ok({ t: 'queue', ev: 'qsold' })).toMatchObject({ state: 'waiting' });
    const closed = nextOf(waiting, 'qclosed', 'qsold');
    // the box office takes every seat, past the waiting room
    const desk = await connect(a, 'sold-desk', 'seats:read seats:hold seats:box-office');
    await desk.ok({ t: 'hold', ev: 'qsold', seats: Array.from({ length: 100 }, (_, i) => i) });
    expect(await closed).toMatchObject({ reason: 'SOLD_OUT' });
    const refused = await waiting.request({ t: 'hold', ev: 'qsold', seats: [1] });
    expect(refused, JSON.stringify(refused)).toMatchObject({ t: 'err', code: 'QUEUE_CLOSED' });
    const opened = await nextOf(waiting, 'qopen', 'qsold', 6000);
    expect(opened).toMatchObject({ t: 'qopen' });
    expect(await waiting.ok({ t: 'queue', ev: 'qsold' })).toMatchObject({ state: 'waiting' });
  });
});

describe('qpos', () => {
  it('a waiting socket is told its place as it moves, at most every 2 s', async () => {
    await createVenueEvent(a.store, 'qmove', 100);
    expect((await putQueue(a, 'qmove', { onSaleAt: 0, admitPerMinute: 1, order: 'fifo' })).status).toBe(201);
    const ahead = [];
    for (let i = 0; i < 8; i++) {
      const c = await connect(a, `move-${i}`);
      await c.ok({ t: 'queue', ev: 'qmove' });
      ahead.push(c);
    }
    const me = await connect(b, 'move-me');
    expect(await me.ok({ t: 'queue', ev: 'qmove' })).toMatchObject({ pos: 9 });
    // 60 per minute: one admission a second; the place changes every second, qpos comes every 2 s
    await putQueue(a, 'qmove', { onSaleAt: 0, admitPerMinute: 60, order: 'fifo' });
    const first = await nextOf(me, 'qpos', 'qmove', 5000);
    const firstAt = Date.now();
    const second = await nextOf(me, 'qpos', 'qmove', 5000);
    const secondAt = Date.now();
    expect(first.pos as number).toBeLessThan(9);
    expect(second.pos as number).toBeLessThan(first.pos as number);
    expect(secondAt - firstAt).toBeGreaterThanOrEqual(1900);
    expect(second).toMatchObject({ ahead: (second.pos as number) - 1 });
    expect(second.etaMs).toBe(Math.round(((second.ahead as number) + 1) * 1000));
  }, 15_000);
});
