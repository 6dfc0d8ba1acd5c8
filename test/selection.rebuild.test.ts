/**
 * An event rebuilt from Postgres keeps how it sells seats: its geometry is
 * compiled again from the stored layout, so best available, the orphan
 * policy and the protected wheelchair seats work as before the loss.
 */
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { rebuildEvent } from '../core/bookings/rebuild.js';
import { createEventFromLayout } from '../core/events.js';
import { gridLayout } from './support/selection-layouts.js';
import { startTestGateway, testDatabaseFor, token, wipePrefix, type TestGateway } from './support/gateway.js';
import { TestClient } from './support/ws-client.js';

let gw: TestGateway;
let pool: pg.Pool;
const clients: TestClient[] = [];

beforeAll(async () => {
  gw = await startTestGateway({ TICK_MS: '10' });
  pool = new pg.Pool({ connectionString: await testDatabaseFor(gw.prefix), max: 2 });
});

afterAll(async () => {
  for (const c of clients) c.ws.terminate();
  await pool?.end();
  await gw?.stop();
  if (gw) await wipePrefix(gw.prefix);
});

describe('selling seats after a rebuild from Postgres', () => {
  it('keeps the orphan policy, best available and protected wheelchair seats', async () => {
    const ev = 'sel-rebuilt';
    const layout = gridLayout({ sections: [[6, 6]], orphanPolicy: 'strict', attrs: { 11: ['wheelchair'] }, protectUntil: Date.now() + 3_600_000 });
    expect((await createEventFromLayout(gw.store, ev, layout)).ok).toBe(true);
    const buyer = await TestClient.connect(gw.wsUrl, { token: await token('rb-buyer') });
    clients.push(buyer);
    // a booking writes the event's row (layout and settings) to Postgres
    const held = await buyer.ok({ t: 'hold', ev, seats: [0, 1] });
    await buyer.ok({ t: 'book', ev, tok: held.tok as string, key: 'rb-1' });

    await gw.store.deleteEvent(ev);
    expect(await rebuildEvent(pool, gw.store, ev)).toMatchObject({ status: 'rebuilt', booked: 2 });

    expect(await buyer.request({ t: 'hold', ev, seats: [3, 4] })).toMatchObject({ t: 'err', code: 'ORPHAN_SEAT', seats: [2, 5] });
    expect(await buyer.request({ t: 'hold', ev, seats: [11] })).toMatchObject({ t: 'err', code: 'UNAVAILABLE', reason: 'accessible' });
    const best = await buyer.ok({ t: 'hold', ev, best: { n: 2 } });
    expect(best).toMatchObject({ together: true });
    expect((best.seats as number[]).every((s) => s >= 2 && s <= 5)).toBe(true);
  }, 60_000);
});
