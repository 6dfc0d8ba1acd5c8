/**
 * The client SDK and general-admission areas against a real gateway: the
 * areas' counters from snap and diffs (`areas()` and the `areas` event, a
 * diff of places only included), hold and release with `ga` (the client's
 * own places in `holds()` and `myPlaces()`), a refusal naming the areas and
 * the places left, book of a token with places, and the box office's
 * bookSeats with `ga`. Every copy is checked against the store's counters.
 */
import WebSocket from 'ws';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { RequestError, SeatMapClient, type AreaCounts, type ClientEvents } from '../core/client/index.js';
import { createEventFromLayout } from '../core/events.js';
import { startTestGateway, token, wipePrefix, type TestGateway } from './support/gateway.js';

let gw: TestGateway;
const clients: SeatMapClient[] = [];

const layout = {
  version: 1,
  name: 'GA client',
  categories: [{ id: 'std', label: 'Standard', price: 5000 }],
  settings: { maxSeatsPerToken: 20, maxSeatsPerHolder: 20 },
  sections: [
    { id: 'A', label: 'A', category: 'std', rows: [{ label: '1', seats: Array.from({ length: 10 }, (_, k) => ({ label: String(k + 1), x: k, y: 0 })) }] },
    { id: 'FLOOR', label: 'Floor', kind: 'ga', category: 'std', capacity: 12, shape: { x: 0, y: 5, width: 10, height: 5 } },
    { id: 'PIT', label: 'Pit', kind: 'ga', category: 'std', capacity: 4, shape: { x: 0, y: 12, width: 10, height: 3 } },
  ],
};

async function connect(sub: string, scope?: string): Promise<SeatMapClient> {
  const client = new SeatMapClient({ url: gw.wsUrl, token: await token(sub, scope), WebSocket });
  clients.push(client);
  await client.connect();
  return client;
}

async function until(predicate: () => boolean, what: string, timeoutMs = 5000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!predicate()) {
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
}

/** The store's counters in the client's shape. */
async function truth(ev: string): Promise<AreaCounts[]> {
  return (await gw.store.areaCounters(ev)).map((c, area) => ({ area, free: c.capacity - c.held - c.booked - c.blocked, held: c.held, booked: c.booked }));
}

async function expectAreasInSync(client: SeatMapClient, ev: string): Promise<void> {
  const want = await truth(ev);
  await until(() => JSON.stringify(client.areas(ev)) === JSON.stringify(want), `${ev} areas ${JSON.stringify(want)}`);
  expect(client.areas(ev)).toEqual(want);
}

beforeAll(async () => {
  gw = await startTestGateway({ TICK_MS: '10' });
  for (const ev of ['ga-sdk', 'ga-sdk-book']) expect((await createEventFromLayout(gw.store, ev, layout)).ok).toBe(true);
}, 60_000);

afterAll(async () => {
  for (const c of clients) c.close();
  await gw?.stop();
  if (gw) await wipePrefix(gw.prefix);
});

describe('general-admission areas in the SDK', () => {
  it('keeps the counters from snap and diffs, holds and releases places, and says so in events', async () => {
    const watcher = await connect('ga-watcher');
    const fan = await connect('ga-fan');
    const events: ClientEvents['areas'][] = [];
    watcher.on('areas', (e) => events.push(e));
    expect(watcher.areas('ga-sdk')).toBeNull();
    watcher.watch('ga-sdk');
    await until(() => watcher.areas('ga-sdk') !== null, 'the snapshot');
    expect(watcher.areas('ga-sdk')).toEqual([{ area: 0, free: 12, held: 0, booked: 0 }, { area: 1, free: 4, held: 0, booked: 0 }]);
    expect(events).toHaveLength(1);
    expect(events[0]!.changed).toHaveLength(2);

    // places only: the diff has an empty ch, the event still comes
    const held = await fan.hold('ga-sdk', [], { ga: [[0, 5]] });
    await expectAreasInSync(watcher, 'ga-sdk');
    expect(watcher.areas('ga-sdk')![0]).toEqual({ area: 0, free: 7, held: 5, booked: 0 });
    const last = events.at(-1)!;
    expect(last).toMatchObject({ ev: 'ga-sdk', changed: [{ area: 0, free: 7, held: 5, booked: 0 }] });
    expect(last.seq).toBeGreaterThanOrEqual(held.seq);
    expect(fan.holds('ga-sdk')).toEqual([{ ev: 'ga-sdk', tok: held.tok, seats: [], ga: [[0, 5]], expiresAt: held.expiresAt }]);

    // seats and places of both areas into the same token
    await fan.hold('ga-sdk', [2, 3], { tok: held.tok, ga: [[1, 2], [0, 1]] });
    expect(fan.myPlaces('ga-sdk')).toEqual(new Map([[0, 6], [1, 2]]));
    expect(fan.holds('ga-sdk')[0]).toMatchObject({ seats: [2, 3], ga: [[0, 6], [1, 2]] });
    await expectAreasInSync(watcher, 'ga-sdk');

    // no room: UNAVAILABLE reason ga, with the areas and what is left, and nothing changes
    const refused = await watcher.hold('ga-sdk', [5], { ga: [[1, 3]] }).catch((err: unknown) => err);
    expect(refused).toBeInstanceOf(RequestError);
    expect(refused).toMatchObject({ code: 'UNAVAILABLE', details: { reason: 'ga', areas: [1], left: [2] } });
    expect(watcher.holds('ga-sdk')).toEqual([]);

    // release some places (no seat), then everything
    await fan.release('ga-sdk', held.tok, undefined, { ga: [[0, 4]] });
    expect(fan.holds('ga-sdk')[0]).toMatchObject({ seats: [2, 3], ga: [[0, 2], [1, 2]] });
    await expectAreasInSync(watcher, 'ga-sdk');
    expect(watcher.areas('ga-sdk')).toEqual([{ area: 0, free: 10, held: 2, booked: 0 }, { area: 1, free: 2, held: 2, booked: 0 }]);
    await fan.release('ga-sdk', held.tok);
    expect(fan.myPlaces('ga-sdk').size).toBe(0);
    await expectAreasInSync(watcher, 'ga-sdk');
    expect(watcher.areas('ga-sdk')).toEqual([{ area: 0, free: 12, held: 0, booked: 0 }, { area: 1, free: 4, held: 0, booked: 0 }]);
  });

  it('books a token with places, and the box office books places with bookSeats', async () => {
    const watcher = await connect('ga-watcher-2');
    watcher.watch('ga-sdk-book');
    const fan = await connect('ga-fan-2');
    const held = await fan.hold('ga-sdk-book', [1], { ga: [[0, 3]] });
    const booked = await fan.book('ga-sdk-book', held.tok);
    expect(booked).toMatchObject({ seats: [1], ga: [[0, 3]], state: 'confirmed' });
    expect(fan.holds('ga-sdk-book')).toEqual([]);
    await expectAreasInSync(watcher, 'ga-sdk-book');
    expect(watcher.areas('ga-sdk-book')![0]).toEqual({ area: 0, free: 9, held: 0, booked: 3 });

    const clerk = await connect('ga-clerk', 'seats:read seats:box-office');
    const sold = await clerk.bookSeats('ga-sdk-book', [], { ga: [[1, 4]], key: 'till-sdk-1' });
    expect(sold).toMatchObject({ seats: [], ga: [[1, 4]], replayed: false, state: 'confirmed' });
    expect(await clerk.bookSeats('ga-sdk-book', [], { ga: [[1, 4]], key: 'till-sdk-1' })).toMatchObject({ id: sold.id, replayed: true });
    await expect(clerk.bookSeats('ga-sdk-book', [], { ga: [[1, 1]], key: 'till-sdk-2' })).rejects.toMatchObject({ code: 'UNAVAILABLE', details: { reason: 'ga', areas: [1], left: [0] } });
    await expectAreasInSync(watcher, 'ga-sdk-book');
    expect(watcher.areas('ga-sdk-book')![1]).toEqual({ area: 1, free: 0, held: 0, booked: 4 });
  });
});
