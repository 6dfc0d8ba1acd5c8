/**
 * Sales channels in Postgres: the admin API records each channel in
 * sales_channels (005_channels.sql) in the transaction of the change, and a
 * rebuild from Postgres restores every channel whose release has not come,
 * exactly: the same seat map, the same reserved seats, a member's booked seat
 * still the channel's, and its release scheduled again. Released and deleted
 * channels restore nothing.
 */
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { rebuildEvent } from '../core/bookings/rebuild.js';
import { createEventFromLayout } from '../core/events.js';
import { mintDevToken } from '../gateway/auth.js';
import { gridLayout } from './support/selection-layouts.js';
import { apiFetch } from './support/openapi.js';
import { startTestGateway, testDatabaseFor, token, TEST_JWT_SECRET, wipePrefix, type TestGateway } from './support/gateway.js';
import { readRawState } from './support/store-state.js';
import { TestClient } from './support/ws-client.js';

let gw: TestGateway;
let pool: pg.Pool;
let admin: string;
const clients: TestClient[] = [];

beforeAll(async () => {
  gw = await startTestGateway({ TICK_MS: '10' });
  pool = new pg.Pool({ connectionString: await testDatabaseFor(gw.prefix), max: 2 });
  admin = await token('ops', 'admin');
}, 60_000);

afterAll(async () => {
  for (const c of clients) c.ws.terminate();
  await pool?.end();
  await gw?.stop();
  if (gw) await wipePrefix(gw.prefix);
});

async function put(ev: string, key: string, body: unknown) {
  const r = await apiFetch(`${gw.httpUrl}/events/${ev}/channels/${key}`, { method: 'PUT', headers: { Authorization: `Bearer ${admin}`, 'Content-Type': 'application/json' }, body: JSON.stringify(body) });
  expect(r.status).toBe(200);
  return r.json() as Promise<{ seats: number[] }>;
}

describe('sales channels and Postgres', () => {
  it('are recorded with the admin API and restored exactly by a rebuild', async () => {
    const ev = 'chan-rebuilt';
    expect((await createEventFromLayout(gw.store, ev, gridLayout({ sections: [[6, 6], [6]] }))).ok).toBe(true);
    const fan = await TestClient.connect(gw.wsUrl, { token: await mintDevToken(TEST_JWT_SECRET, { sub: 'fan', scope: 'seats:read seats:hold seats:book', chan: 'fc' }) });
    const out = await TestClient.connect(gw.wsUrl, { token: await token('out') });
    clients.push(fan, out);

    const farAway = Date.now() + 3_600_000;
    // a seat held by someone else when the channel is put stays out of it
    const outHold = await out.ok({ t: 'hold', ev, seats: [5] });
    expect((await put(ev, 'fc', { sections: ['S0'], releaseAt: farAway })).seats).toEqual([0, 1, 2, 3, 4, 6, 7, 8, 9, 10, 11]);
    await put(ev, 'gone', { seats: [12] });
    await put(ev, 'over', { seats: [13, 14], releaseAt: Date.now() + 300 });
    expect((await apiFetch(`${gw.httpUrl}/events/${ev}/channels/gone`, { method: 'DELETE', headers: { Authorization: `Bearer ${admin}` } })).status).toBe(200);
    // a member books a channel seat (the booking writes the event's row); holds are lost by a rebuild, so release them
    const held = await fan.ok({ t: 'hold', ev, seats: [2, 3] });
    await fan.ok({ t: 'book', ev, tok: held.tok as string, key: 'chan-rb-1' });
    await out.ok({ t: 'release', ev, tok: outHold.tok as string });
    await fan.ok({ t: 'hold', ev, seats: [4] }); // held at the loss: reserved again after it
    const rows = await pool.query('SELECT key, seats, release_at FROM sales_channels WHERE event_id = $1 ORDER BY key', [ev]);
    expect(rows.rows.map((r) => r.key)).toEqual(['fc', 'over']);
    expect(rows.rows[0].seats).toEqual([0, 1, 2, 3, 4, 6, 7, 8, 9, 10, 11]);
    expect(rows.rows[0].release_at.getTime()).toBe(farAway);

    // wait for 'over' to be released at its releaseAt (the row stays: it restores nothing)
    for (let i = 0; i < 100 && (await gw.store.snapshot(ev))!.status[13] !== 0; i++) await new Promise((r) => setTimeout(r, 50));
    const before = await readRawState(gw.store, ev);
    expect(before.status.slice(0, 15)).toEqual([4, 4, 2, 2, 1, 0, 4, 4, 4, 4, 4, 4, 0, 0, 0]);

    await gw.store.deleteEvent(ev);
    expect(await rebuildEvent(pool, gw.store, ev)).toMatchObject({ status: 'rebuilt', booked: 2 });
    const after = await readRawState(gw.store, ev);
    const expected = [...before.status];
    expected[4] = 4; // the member's hold is gone: its seat is the channel's, reserved
    expect(after.status).toEqual(expected);
    expect(after.channelOfSeat).toEqual(before.channelOfSeat);
    expect(after.channels).toEqual(before.channels);
    expect(await gw.store.redis.zscore(gw.store.global.channelReleases, `${ev}/fc/${farAway}`)).toBe(String(farAway));

    // and it works as before: the outsider is refused, the member holds
    expect(await out.request({ t: 'hold', ev, seats: [4] })).toMatchObject({ t: 'err', code: 'UNAVAILABLE', reason: 'channel', seats: [4] });
    expect(await fan.request({ t: 'hold', ev, seats: [4] })).toMatchObject({ t: 'ok' });

    // deleted on purpose: its channels go with it
    expect((await apiFetch(`${gw.httpUrl}/events/${ev}`, { method: 'DELETE', headers: { Authorization: `Bearer ${admin}` } })).status).toBe(200);
    expect((await pool.query('SELECT 1 FROM sales_channels WHERE event_id = $1', [ev])).rowCount).toBe(0);
  }, 60_000);
});
