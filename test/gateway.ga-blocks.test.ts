/**
 * Blocking places of general-admission areas over the admin API, through a
 * real gateway, Redis and Postgres: `POST /events/:id/block` and `/unblock`
 * with `areas: [[area, qty], …]`, beside seats or alone, all or nothing in
 * one change-log entry; blocked places count against the capacity (a hold
 * past them is refused), watchers see the counters in snap and diff; an
 * unblock of more than is blocked, an area without room, bad input: a
 * documented code and nothing changes; a rebuild from Postgres restores the
 * blocked places.
 */
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { rebuildEvent } from '../core/bookings/rebuild.js';
import { createEventFromLayout } from '../core/events.js';
import { SeatState } from '../core/store/index.js';
import { queryGatewayDb, startTestGateway, testDatabaseFor, token, wipePrefix, type TestGateway } from './support/gateway.js';
import { apiFetch } from './support/openapi.js';
import { TestClient } from './support/ws-client.js';

let gw: TestGateway;
let pool: pg.Pool;
let admin: string;
const clients: TestClient[] = [];

const layout = {
  version: 1,
  name: 'GA blocks',
  categories: [{ id: 'std', label: 'Standard', price: 5000 }],
  sections: [
    { id: 'A', label: 'A', category: 'std', rows: [{ label: '1', seats: Array.from({ length: 10 }, (_, k) => ({ label: String(k + 1), x: k, y: 0 })) }] },
    { id: 'FLOOR', label: 'Floor', kind: 'ga', category: 'std', capacity: 10, shape: { x: 0, y: 5, width: 10, height: 5 } },
    { id: 'PIT', label: 'Pit', kind: 'ga', category: 'std', capacity: 4, shape: { x: 0, y: 12, width: 10, height: 3 } },
  ],
};

beforeAll(async () => {
  gw = await startTestGateway({ TICK_MS: '10' });
  pool = new pg.Pool({ connectionString: await testDatabaseFor(gw.prefix), max: 2 });
  admin = await token('ops-ga', 'admin');
}, 60_000);

afterAll(async () => {
  for (const c of clients) c.ws.terminate();
  await gw?.stop();
  await pool?.end();
  if (gw) await wipePrefix(gw.prefix);
});

async function client(sub: string, scope?: string): Promise<TestClient> {
  const c = await TestClient.connect(gw.wsUrl, { token: await token(sub, scope) });
  clients.push(c);
  return c;
}

async function call(op: 'block' | 'unblock', eventId: string, body: unknown): Promise<{ status: number; body: Record<string, unknown> }> {
  const res = await apiFetch(`${gw.httpUrl}/events/${eventId}/${op}`, {
    method: 'POST',
    headers: { authorization: `Bearer ${admin}`, 'content-type': 'application/json' },
    body: JSON.stringify(body),
  });
  return { status: res.status, body: (await res.json()) as Record<string, unknown> };
}

describe('blocking places of general-admission areas', () => {
  it('blocks places with seats in one entry; they count against the capacity; watchers see the counters; unblock gives them back', async () => {
    expect((await createEventFromLayout(gw.store, 'ga-blk', layout)).ok).toBe(true);
    const watcher = await client('ga-blk-watcher');
    const snap = watcher.next((m) => m.t === 'snap' && m.ev === 'ga-blk');
    await watcher.ok({ t: 'sub', ev: 'ga-blk' });
    expect(await snap).toMatchObject({ ga: [0, 10, 0, 0, 1, 4, 0, 0] });
    const fan = await client('ga-blk-fan');
    await fan.ok({ t: 'hold', ev: 'ga-blk', seats: [], ga: [[0, 3]] });

    const diff = watcher.next((m) => m.t === 'diff' && m.ev === 'ga-blk' && Array.isArray(m.ga) && m.ga[1] === 1);
    const blocked = await call('block', 'ga-blk', { seats: [4], areas: [[0, 6], [1, 1]] });
    expect(blocked).toMatchObject({ status: 200 });
    const seq = blocked.body.seq as number;
    // one change-log entry: the seat and both areas' final counters (free = capacity − held − booked − blocked)
    const log = (await gw.store.changesSince('ga-blk', seq - 1))!;
    expect(log.entries.map((e) => [e.seq, e.op, e.changes, e.ga])).toEqual([[seq, 'block', [4, SeatState.BLOCKED], [0, 1, 3, 0, 1, 3, 0, 0]]]);
    expect(await diff).toMatchObject({ ga: [0, 1, 3, 0, 1, 3, 0, 0] });
    expect(await gw.store.areaCounters('ga-blk')).toEqual([{ capacity: 10, held: 3, booked: 0, blocked: 6 }, { capacity: 4, held: 0, booked: 0, blocked: 1 }]);
    expect(await queryGatewayDb(gw.prefix, 'SELECT area, qty FROM blocked_places WHERE event_id = $1 ORDER BY area', ['ga-blk'])).toEqual([{ area: 0, qty: 6 }, { area: 1, qty: 1 }]);

    // 1 left in area 0: a hold of 2 is refused, and so is a block of 2
    expect(await fan.request({ t: 'hold', ev: 'ga-blk', seats: [], ga: [[0, 2]] })).toMatchObject({ t: 'err', code: 'UNAVAILABLE', reason: 'ga', areas: [0], left: [1] });
    const before = (await gw.store.snapshot('ga-blk'))!.seq;
    const noRoom = await call('block', 'ga-blk', { seats: [5], areas: [[0, 2]] });
    expect(noRoom).toMatchObject({ status: 409, body: { code: 'UNAVAILABLE', reason: 'ga', areas: [0], left: [1] } });
    expect(String(noRoom.body.msg)).toMatch(/nothing was blocked/);
    // unblocking more than is blocked: CONFLICT, with what is blocked
    const tooMany = await call('unblock', 'ga-blk', { areas: [[1, 2]] });
    expect(tooMany).toMatchObject({ status: 409, body: { code: 'CONFLICT', reason: 'ga', areas: [1], left: [1] } });
    // bad input: BAD_REQUEST, nothing changes
    expect(await call('block', 'ga-blk', { areas: [[7, 1]] })).toMatchObject({ status: 400, body: { code: 'BAD_REQUEST', reason: 'ga' } });
    expect(await call('block', 'ga-blk', { areas: [[0, 0]] })).toMatchObject({ status: 400, body: { code: 'BAD_REQUEST' } });
    expect(await call('block', 'ga-blk', { areas: [[0, 1], [0, 1]] })).toMatchObject({ status: 400, body: { code: 'BAD_REQUEST' } });
    expect(await call('block', 'ga-blk', { areas: [[0, 1]], sections: ['A'] })).toMatchObject({ status: 400, body: { code: 'BAD_REQUEST' } });
    const after = (await gw.store.snapshot('ga-blk'))!;
    expect(after.seq).toBe(before);
    expect(after.status[5]).toBe(SeatState.FREE);
    expect(await gw.store.areaCounters('ga-blk')).toEqual([{ capacity: 10, held: 3, booked: 0, blocked: 6 }, { capacity: 4, held: 0, booked: 0, blocked: 1 }]);
    expect(await queryGatewayDb(gw.prefix, 'SELECT area, qty FROM blocked_places WHERE event_id = $1 ORDER BY area', ['ga-blk'])).toEqual([{ area: 0, qty: 6 }, { area: 1, qty: 1 }]);

    // places alone: unblock some, then the rest of area 1
    const back = await call('unblock', 'ga-blk', { areas: [[0, 4], [1, 1]] });
    expect(back).toMatchObject({ status: 200 });
    expect(await gw.store.areaCounters('ga-blk')).toEqual([{ capacity: 10, held: 3, booked: 0, blocked: 2 }, { capacity: 4, held: 0, booked: 0, blocked: 0 }]);
    expect(await queryGatewayDb(gw.prefix, 'SELECT area, qty FROM blocked_places WHERE event_id = $1 ORDER BY area', ['ga-blk'])).toEqual([{ area: 0, qty: 2 }]);
    await watcher.until('ga-blk', (v) => v.seq === (back.body.seq as number));
    expect(await fan.request({ t: 'hold', ev: 'ga-blk', seats: [], ga: [[0, 5]] })).toMatchObject({ t: 'ok' });
  });

  it('a rebuild from Postgres restores the blocked places', async () => {
    expect((await createEventFromLayout(gw.store, 'ga-blk-rb', layout)).ok).toBe(true);
    // a booking, so that the flusher records the event and its layout in Postgres
    const clerk = await client('ga-blk-clerk', 'seats:read seats:box-office');
    await clerk.ok({ t: 'book', ev: 'ga-blk-rb', seats: [1], ga: [[0, 2]], key: 'till-blk-rb' });
    expect(await call('block', 'ga-blk-rb', { seats: [2], areas: [[0, 5], [1, 4]] })).toMatchObject({ status: 200 });
    const before = await gw.store.areaCounters('ga-blk-rb');
    expect(before).toEqual([{ capacity: 10, held: 0, booked: 2, blocked: 5 }, { capacity: 4, held: 0, booked: 0, blocked: 4 }]);

    await gw.store.deleteEvent('ga-blk-rb');
    expect(await rebuildEvent(pool, gw.store, 'ga-blk-rb')).toMatchObject({ status: 'rebuilt', booked: 1, blocked: 1 });
    expect(await gw.store.areaCounters('ga-blk-rb')).toEqual(before);
    const watcher = await client('ga-blk-rb-watcher');
    const snap = watcher.next((m) => m.t === 'snap' && m.ev === 'ga-blk-rb');
    await watcher.ok({ t: 'sub', ev: 'ga-blk-rb' });
    expect(await snap).toMatchObject({ ga: [0, 3, 0, 2, 1, 0, 0, 0] });
    // the restored blocks still count: area 1 has no room
    expect(await clerk.request({ t: 'book', ev: 'ga-blk-rb', ga: [[1, 1]], key: 'till-blk-rb-2' } as never)).toMatchObject({ t: 'err', code: 'UNAVAILABLE', reason: 'ga', areas: [1], left: [0] });
  });
});
