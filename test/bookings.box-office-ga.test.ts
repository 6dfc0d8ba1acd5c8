/**
 * The box office books general-admission places: `book` without a token,
 * with `ga` beside (or instead of) `seats`, through a real gateway, Redis and
 * Postgres. Seats and places are booked together or not at all; the ack
 * comes after the Postgres commit (booked_places, ga_areas); the key replays
 * the same booking and refuses other places (CONFLICT); an area without room
 * is UNAVAILABLE reason ga with what is left and changes nothing; Postgres's
 * capacity row refuses a booking Redis let past (REFUSED, places given
 * back); and clerks racing for the last places never pass the capacity.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createEventFromLayout } from '../core/events.js';
import { SeatState } from '../core/store/index.js';
import { queryGatewayDb, startTestGateway, token, wipePrefix, type TestGateway } from './support/gateway.js';
import { TestClient, type RequestBody } from './support/ws-client.js';

const CLERK_SCOPES = 'seats:read seats:box-office';

let gw: TestGateway;
const clients: TestClient[] = [];

function layout(name: string, capacity: number) {
  return {
    version: 1,
    name,
    categories: [{ id: 'std', label: 'Standard', price: 5000 }],
    sections: [
      { id: 'A', label: 'A', category: 'std', rows: [{ label: '1', seats: Array.from({ length: 20 }, (_, k) => ({ label: String(k + 1), x: k, y: 0 })) }] },
      { id: 'FLOOR', label: 'Floor', kind: 'ga', category: 'std', capacity, shape: { x: 0, y: 5, width: 20, height: 10 } },
      { id: 'PIT', label: 'Pit', kind: 'ga', category: 'std', capacity: 5, shape: { x: 0, y: 20, width: 20, height: 5 } },
    ],
  };
}

beforeAll(async () => {
  gw = await startTestGateway({ TICK_MS: '10' });
}, 60_000);

afterAll(async () => {
  for (const c of clients) c.ws.terminate();
  await gw?.stop();
  if (gw) await wipePrefix(gw.prefix);
});

async function client(sub: string, scope?: string): Promise<TestClient> {
  const c = await TestClient.connect(gw.wsUrl, { token: await token(sub, scope) });
  clients.push(c);
  return c;
}

async function pgAreas(eventId: string) {
  return queryGatewayDb(gw.prefix, 'SELECT area, capacity, booked FROM ga_areas WHERE event_id = $1 ORDER BY area', [eventId]);
}

describe('box office: book with ga', () => {
  it('books seats and places at once, durable when the ok arrives; the key replays and refuses other places', async () => {
    expect((await createEventFromLayout(gw.store, 'bo-ga', layout('bo-ga', 10))).ok).toBe(true);
    const clerk = await client('clerk-ga', CLERK_SCOPES);
    const watcher = await client('watcher-ga');
    await watcher.ok({ t: 'sub', ev: 'bo-ga' });

    const ok = await clerk.ok({ t: 'book', ev: 'bo-ga', seats: [3], ga: [[0, 4], [1, 2]], key: 'till-ga-1' });
    expect(ok).toMatchObject({ seats: [3], ga: [[0, 4], [1, 2]], replayed: false, state: 'confirmed' });
    // durable: the places are in Postgres as soon as the ok is
    expect(await queryGatewayDb(gw.prefix, 'SELECT area, qty FROM booked_places WHERE booking_id = $1 ORDER BY area', [ok.id])).toEqual([{ area: 0, qty: 4 }, { area: 1, qty: 2 }]);
    expect(await pgAreas('bo-ga')).toEqual([{ area: 0, capacity: 10, booked: 4 }, { area: 1, capacity: 5, booked: 2 }]);
    expect(await gw.store.areaCounters('bo-ga')).toEqual([{ capacity: 10, held: 0, booked: 4, blocked: 0 }, { capacity: 5, held: 0, booked: 2, blocked: 0 }]);
    // one change-log entry carries the seat and both areas' final counters
    const log = (await gw.store.changesSince('bo-ga', (ok.seq as number) - 1))!;
    expect(log.entries.map((e) => [e.seq, e.op, e.changes, e.ga])).toEqual([[ok.seq, 'book', [3, SeatState.BOOKED], [0, 6, 0, 4, 1, 3, 0, 2]]]);
    await watcher.until('bo-ga', (v) => v.status[3] === SeatState.BOOKED);

    // the retry (areas in another order): the same booking, nothing new
    const again = await clerk.ok({ t: 'book', ev: 'bo-ga', seats: [3], ga: [[1, 2], [0, 4]], key: 'till-ga-1' });
    expect(again).toMatchObject({ id: ok.id, seq: ok.seq, replayed: true, ga: [[0, 4], [1, 2]] });
    // the key with other places, or without them: CONFLICT, nothing changes
    expect(await clerk.request({ t: 'book', ev: 'bo-ga', seats: [3], ga: [[0, 5], [1, 2]], key: 'till-ga-1' })).toMatchObject({ t: 'err', code: 'CONFLICT' });
    expect(await clerk.request({ t: 'book', ev: 'bo-ga', seats: [3], key: 'till-ga-1' })).toMatchObject({ t: 'err', code: 'CONFLICT' });
    expect(await gw.store.areaCounters('bo-ga')).toEqual([{ capacity: 10, held: 0, booked: 4, blocked: 0 }, { capacity: 5, held: 0, booked: 2, blocked: 0 }]);
  });

  it('places only; an area without room is UNAVAILABLE reason ga with what is left, and nothing is booked', async () => {
    expect((await createEventFromLayout(gw.store, 'bo-ga2', layout('bo-ga2', 10))).ok).toBe(true);
    const clerk = await client('clerk-ga2', CLERK_SCOPES);
    const holder = await client('fan-ga2');
    await holder.ok({ t: 'hold', ev: 'bo-ga2', seats: [], ga: [[0, 3]] });

    const only = await clerk.ok({ t: 'book', ev: 'bo-ga2', ga: [[0, 5]], key: 'till-ga-2' } as RequestBody);
    expect(only).toMatchObject({ seats: [], ga: [[0, 5]], state: 'confirmed' });
    expect(await queryGatewayDb(gw.prefix, 'SELECT seats FROM bookings WHERE id = $1', [only.id])).toEqual([{ seats: [] }]);

    // 10 - 3 held - 5 booked = 2 left: 3 more is refused, with the seat beside it
    const before = (await gw.store.snapshot('bo-ga2'))!.seq;
    const refused = await clerk.request({ t: 'book', ev: 'bo-ga2', seats: [7], ga: [[0, 3]], key: 'till-ga-3' });
    expect(refused).toMatchObject({ t: 'err', code: 'UNAVAILABLE', reason: 'ga', areas: [0], left: [2] });
    expect(String((refused as unknown as { msg: string }).msg)).toMatch(/area 0 has 2 places left; nothing was booked/);
    const after = (await gw.store.snapshot('bo-ga2'))!;
    expect(after.seq).toBe(before);
    expect(after.status[7]).toBe(SeatState.FREE);
    expect(await gw.store.areaCounters('bo-ga2')).toEqual([{ capacity: 10, held: 3, booked: 5, blocked: 0 }, { capacity: 5, held: 0, booked: 0, blocked: 0 }]);
    // the key was not used: the same key books what fits
    expect(await clerk.ok({ t: 'book', ev: 'bo-ga2', seats: [7], ga: [[0, 2]], key: 'till-ga-3' })).toMatchObject({ seats: [7], ga: [[0, 2]] });

    // bad input: a documented code, nothing changes
    expect(await clerk.request({ t: 'book', ev: 'bo-ga2', ga: [[5, 1]], key: 'till-ga-4' } as RequestBody)).toMatchObject({ t: 'err', code: 'BAD_REQUEST', reason: 'ga' });
    expect(await clerk.request({ t: 'book', ev: 'bo-ga2', ga: [[0, 0]], key: 'till-ga-4' } as RequestBody)).toMatchObject({ t: 'err', code: 'BAD_REQUEST' });
    expect(await clerk.request({ t: 'book', ev: 'bo-ga2', ga: [[0, 1], [0, 1]], key: 'till-ga-4' } as RequestBody)).toMatchObject({ t: 'err', code: 'BAD_REQUEST' });
    // a fan without the box-office scope may not
    expect(await holder.request({ t: 'book', ev: 'bo-ga2', ga: [[1, 1]], key: 'fan-key' } as RequestBody)).toMatchObject({ t: 'err', code: 'FORBIDDEN' });
    expect(await gw.store.areaCounters('bo-ga2')).toEqual([{ capacity: 10, held: 3, booked: 7, blocked: 0 }, { capacity: 5, held: 0, booked: 0, blocked: 0 }]);
  });

  it('Postgres refuses places past the area\'s capacity row even when Redis let them through: REFUSED, the places given back', async () => {
    expect((await createEventFromLayout(gw.store, 'bo-ga3', layout('bo-ga3', 4))).ok).toBe(true);
    const clerk = await client('clerk-ga3', CLERK_SCOPES);
    // the event's first booking copies the layout (capacity 4) into Postgres
    await clerk.ok({ t: 'book', ev: 'bo-ga3', ga: [[0, 1]], key: 'till-ga3-1' } as RequestBody);
    // Redis believes in a bigger area than Postgres does
    await gw.store.redis.hset(gw.store.keys('bo-ga3').meta, 'ga:0:c', '50');
    const refused = await clerk.request({ t: 'book', ev: 'bo-ga3', seats: [1], ga: [[0, 10]], key: 'till-ga3-2' });
    expect(refused).toMatchObject({ t: 'err', code: 'REFUSED' });
    expect(await pgAreas('bo-ga3')).toEqual([{ area: 0, capacity: 4, booked: 1 }, { area: 1, capacity: 5, booked: 0 }]);
    // the refused booking was voided in Redis: its seat and places are free again
    await until(async () => (await gw.store.areaCounters('bo-ga3'))[0]!.booked === 1);
    expect((await gw.store.snapshot('bo-ga3'))!.status[1]).toBe(SeatState.FREE);
    // and the key answers the refusal again
    expect(await clerk.request({ t: 'book', ev: 'bo-ga3', seats: [1], ga: [[0, 10]], key: 'till-ga3-2' })).toMatchObject({ t: 'err', code: 'REFUSED' });
  });

  it('clerks and fans racing for the last places never pass the capacity, in Redis nor in Postgres', async () => {
    const CAPACITY = 40;
    expect((await createEventFromLayout(gw.store, 'bo-race', layout('bo-race', CAPACITY))).ok).toBe(true);
    const clerks = await Promise.all(Array.from({ length: 12 }, (_, i) => client(`clerk-race-${i}`, CLERK_SCOPES)));
    const fans = await Promise.all(Array.from({ length: 6 }, (_, i) => client(`fan-race-${i}`)));
    const qty = (i: number) => (i % 4) + 1;
    const booked = await Promise.all(Array.from({ length: 36 }, async (_, i) => {
      const clerk = clerks[i % clerks.length]!;
      const r = await clerk.request({ t: 'book', ev: 'bo-race', ga: [[0, qty(i)]], key: `race-${i}` } as RequestBody);
      if (r.t === 'ok') return qty(i);
      expect(r).toMatchObject({ t: 'err', code: 'UNAVAILABLE', reason: 'ga', areas: [0] });
      return 0;
    }));
    const held = await Promise.all(fans.map(async (fan) => {
      const r = await fan.request({ t: 'hold', ev: 'bo-race', seats: [], ga: [[0, 3]] });
      return r.t === 'ok' ? 3 : 0;
    }));
    const bookedTotal = booked.reduce((a, b) => a + b, 0);
    const heldTotal = held.reduce<number>((a, b) => a + b, 0);
    // 36 asks of 1-4 (90 places) for 40: the area fills up and refusals follow
    expect(booked.filter((q) => q === 0).length).toBeGreaterThan(0);
    expect(bookedTotal).toBeLessThanOrEqual(CAPACITY);
    expect(bookedTotal + heldTotal).toBeLessThanOrEqual(CAPACITY);
    expect(await gw.store.areaCounters('bo-race')).toEqual([{ capacity: CAPACITY, held: heldTotal, booked: bookedTotal, blocked: 0 }, { capacity: 5, held: 0, booked: 0, blocked: 0 }]);
    const [area] = await pgAreas('bo-race');
    expect(area).toEqual({ area: 0, capacity: CAPACITY, booked: bookedTotal });
    const sum = await queryGatewayDb(gw.prefix, 'SELECT COALESCE(SUM(qty), 0)::int AS n FROM booked_places WHERE event_id = $1', ['bo-race']);
    expect(sum).toEqual([{ n: bookedTotal }]);
  }, 60_000);
});

async function until(check: () => Promise<boolean>, timeoutMs = 10_000): Promise<void> {
  const end = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > end) throw new Error('timed out');
    await new Promise((r) => setTimeout(r, 50));
  }
}
