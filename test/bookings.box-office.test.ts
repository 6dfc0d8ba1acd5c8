/**
 * The box office: `book` with `seats` and no token (scope seats:box-office)
 * through a real gateway, Redis and Postgres. The ack is durable (the
 * booking is in Postgres when it arrives), a retry with the key and the same
 * seats returns the same booking, the key with other seats is CONFLICT, a
 * seat that is not free is UNAVAILABLE and changes nothing, other scopes are
 * FORBIDDEN; the SDK's bookSeats; a rebuild from Postgres restores direct
 * bookings and bulk blocks and the key still replays; and box-office books racing holds on the
 * same seats over separate connections never book a seat twice, in Redis
 * and in Postgres, on one Redis and on the run's Redis Cluster.
 */
import WebSocket from 'ws';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { SeatMapClient, RequestError } from '../core/client/index.js';
import { REFERENCE } from '../core/bookings/reference.js';
import { validateRequest } from '../core/protocol/index.js';
import { SeatState } from '../core/store/index.js';
import pg from 'pg';
import { rebuildEvent } from '../core/bookings/rebuild.js';
import { createVenueEvent, queryGatewayDb, startTestGateway, testDatabaseFor, token, wipePrefix, type TestGateway } from './support/gateway.js';
import { apiFetch } from './support/openapi.js';
import { redisTargets } from './support/targets.js';
import { TestClient } from './support/ws-client.js';

const CLERK_SCOPES = 'seats:read seats:box-office';

let gw: TestGateway;
let pool: pg.Pool;
const clients: TestClient[] = [];
const sdkClients: SeatMapClient[] = [];

beforeAll(async () => {
  gw = await startTestGateway({ TICK_MS: '10' });
  pool = new pg.Pool({ connectionString: await testDatabaseFor(gw.prefix), max: 3 });
  await createVenueEvent(gw.store, 'bo', 200);
});

afterAll(async () => {
  for (const c of clients) c.ws.terminate();
  for (const c of sdkClients) c.close();
  await gw.stop();
  await pool.end();
  await wipePrefix(gw.prefix);
});

async function client(sub: string, scope?: string): Promise<TestClient> {
  const c = await TestClient.connect(gw.wsUrl, { token: await token(sub, scope) });
  clients.push(c);
  return c;
}

async function outboxLength(eventId: string): Promise<number> {
  return gw.store.redis.xlen(gw.store.keys(eventId).outbox);
}

describe('book without a hold (box office)', () => {
  it('books free seats, durable in Postgres when the ok arrives; a retry with the key returns the same booking', async () => {
    const clerk = await client('clerk-1', CLERK_SCOPES);
    expect(clerk.hello!.scopes).toContain('seats:box-office');
    const watcher = await client('watcher-bo');
    await watcher.ok({ t: 'sub', ev: 'bo' });

    const ok = await clerk.ok({ t: 'book', ev: 'bo', seats: [10, 11], key: 'counter-1' });
    expect(ok).toMatchObject({ seats: [10, 11], replayed: false, state: 'confirmed' });
    expect(ok.reference).toMatch(REFERENCE);
    // durable: the row is there as soon as the ok is
    const rows = await queryGatewayDb(gw.prefix, 'SELECT holder, state, seats, hold_token, idempotency_key FROM bookings WHERE id = $1', [ok.id]);
    expect(rows).toEqual([{ holder: 'clerk-1', state: 'confirmed', seats: [10, 11], hold_token: null, idempotency_key: 'counter-1' }]);
    const seatRows = await queryGatewayDb(gw.prefix, 'SELECT seat FROM booked_seats WHERE booking_id = $1 ORDER BY seat', [ok.id]);
    expect(seatRows).toEqual([{ seat: 10 }, { seat: 11 }]);
    const snap = (await gw.store.snapshot('bo'))!;
    expect([snap.status[10], snap.status[11]]).toEqual([SeatState.BOOKED, SeatState.BOOKED]);
    const log = (await gw.store.changesSince('bo', ok.seq as number - 1))!;
    expect(log.entries.map((e) => [e.seq, e.op, e.changes])).toEqual([[ok.seq, 'book', [10, SeatState.BOOKED, 11, SeatState.BOOKED]]]);
    await watcher.until('bo', (v) => v.status[10] === SeatState.BOOKED && v.status[11] === SeatState.BOOKED);

    // the retry, seats in another order: the same booking, nothing new anywhere
    const outbox = await outboxLength('bo');
    const again = await clerk.ok({ t: 'book', ev: 'bo', seats: [11, 10], key: 'counter-1' });
    expect(again).toMatchObject({ id: ok.id, reference: ok.reference, seq: ok.seq, replayed: true, state: 'confirmed' });
    expect(await outboxLength('bo')).toBe(outbox);
    expect((await gw.store.snapshot('bo'))!.seq).toBe(snap.seq);
  });

  it('answers CONFLICT for the key with other seats, or a key a hold booked; UNAVAILABLE for a seat not free; nothing changes', async () => {
    const clerk = await client('clerk-2', CLERK_SCOPES);
    const buyer = await client('buyer-2');
    await clerk.ok({ t: 'book', ev: 'bo', seats: [20], key: 'counter-2' });
    const held = await buyer.ok({ t: 'hold', ev: 'bo', seats: [30] });
    await buyer.ok({ t: 'book', ev: 'bo', tok: held.tok as string, key: 'web-2' });
    await buyer.ok({ t: 'hold', ev: 'bo', seats: [31] });
    expect((await clerk.ok({ t: 'book', ev: 'bo', seats: [40], key: 'block-me' })).seats).toEqual([40]);
    const before = (await gw.store.snapshot('bo'))!;
    const outbox = await outboxLength('bo');

    const refusals: [Record<string, unknown>, string, number[] | undefined][] = [
      [{ seats: [20, 21], key: 'counter-2' }, 'CONFLICT', undefined], // the key, other seats
      [{ seats: [30], key: 'web-2' }, 'CONFLICT', undefined], // a key a hold's book used
      [{ seats: [21, 30, 31, 20], key: 'counter-3' }, 'UNAVAILABLE', [30, 31, 20]], // booked, held, booked
      [{ seats: [500], key: 'counter-4' }, 'BAD_SEAT', [500]],
    ];
    for (const [fields, code, seats] of refusals) {
      const reply = await clerk.request({ t: 'book', ev: 'bo', ...fields } as never);
      expect(reply, JSON.stringify(fields)).toMatchObject({ t: 'err', code });
      if (reply.t === 'err') {
        expect(reply.seats).toEqual(seats);
        expect(reply.msg).toMatch(/nothing was booked/);
      }
    }
    // another clerk with the first clerk's key: CONFLICT too (a key is one holder's)
    const other = await client('clerk-3', CLERK_SCOPES);
    expect(await other.request({ t: 'book', ev: 'bo', seats: [20], key: 'counter-2' })).toMatchObject({ t: 'err', code: 'CONFLICT' });

    const after = (await gw.store.snapshot('bo'))!;
    expect(after.seq).toBe(before.seq);
    expect(after.status.equals(before.status)).toBe(true);
    expect(after.status[21]).toBe(SeatState.FREE);
    expect(await outboxLength('bo')).toBe(outbox);
    expect(await queryGatewayDb(gw.prefix, "SELECT count(*)::int AS n FROM bookings WHERE idempotency_key IN ('counter-3', 'counter-4')")).toEqual([{ n: 0 }]);
  });

  it('is FORBIDDEN without seats:box-office (a buyer, an admin), and malformed shapes are BAD_REQUEST', async () => {
    for (const scope of ['seats:read seats:hold seats:book', 'admin', 'seats:door']) {
      const c = await client(`not-a-clerk-${scope.length}`, scope);
      const reply = await c.request({ t: 'book', ev: 'bo', seats: [50], key: `k-${scope.length}` });
      expect(reply, scope).toMatchObject({ t: 'err', code: 'FORBIDDEN' });
    }
    // the clerk's scope books free seats only: no hold, no book of a hold
    const clerk = await client('clerk-4', CLERK_SCOPES);
    expect(await clerk.request({ t: 'hold', ev: 'bo', seats: [50] })).toMatchObject({ t: 'err', code: 'FORBIDDEN' });
    expect(await clerk.request({ t: 'book', ev: 'bo', tok: 'AAAAAAAAAAAAAAAA', key: 'x' })).toMatchObject({ t: 'err', code: 'FORBIDDEN' });
    expect((await gw.store.snapshot('bo'))!.status[50]).toBe(SeatState.FREE);

    const shape = (m: Record<string, unknown>) => validateRequest({ rid: 1, t: 'book', ev: 'bo', ...m }, 100);
    expect(shape({ seats: [1, 2], key: 'k' })).toEqual({ ok: true, request: { t: 'book', rid: 1, ev: 'bo', seats: [1, 2], key: 'k' } });
    // with tok it is a hold's book, whatever else the frame carries (unknown fields were always ignored)
    expect(shape({ seats: [1], tok: 'AAAAAAAAAAAAAAAA', key: 'k' })).toEqual({ ok: true, request: { t: 'book', rid: 1, ev: 'bo', tok: 'AAAAAAAAAAAAAAAA', key: 'k' } });
    expect(shape({ seats: [1], tok: 'short', key: 'k' })).toMatchObject({ ok: false, msg: expect.stringMatching(/tok/) });
    expect(shape({ key: 'k' })).toMatchObject({ ok: false, msg: expect.stringMatching(/tok/) });
    expect(shape({ seats: [], key: 'k' })).toMatchObject({ ok: false });
    expect(shape({ seats: [1.5], key: 'k' })).toMatchObject({ ok: false });
    expect(shape({ seats: [1] })).toMatchObject({ ok: false, msg: expect.stringMatching(/key/) });
    expect(validateRequest({ rid: 1, t: 'checkout', ev: 'bo', seats: [1], key: 'k' }, 100)).toMatchObject({ ok: false, msg: expect.stringMatching(/tok/) });
  });

  it('the SDK books seats directly with bookSeats, idempotent on its key', async () => {
    const sdk = new SeatMapClient({ url: gw.wsUrl, token: await token('clerk-sdk', CLERK_SCOPES), WebSocket });
    sdkClients.push(sdk);
    await sdk.connect();
    const booked = await sdk.bookSeats('bo', [60, 61]);
    expect(booked).toMatchObject({ seats: [60, 61], replayed: false, state: 'confirmed' });
    const again = await sdk.bookSeats('bo', [61, 60], { key: booked.key });
    expect(again).toMatchObject({ id: booked.id, replayed: true });
    const refused = await sdk.bookSeats('bo', [61, 62]).catch((err: unknown) => err);
    expect(refused).toBeInstanceOf(RequestError);
    expect(refused).toMatchObject({ code: 'UNAVAILABLE', seats: [61] });
  });
});

describe('after a rebuild from Postgres', () => {
  it('restores the box office\'s bookings and bulk-blocked seats; the key with the same seats replays the booking', async () => {
    const eventId = 'bo-rb';
    await createVenueEvent(gw.store, eventId, 100);
    const clerk = await client('clerk-rb', CLERK_SCOPES);
    const sold = await clerk.ok({ t: 'book', ev: eventId, seats: [5, 6, 7], key: 'till-rb-1' });
    const admin = await token('ops-rb', 'admin');
    const blocked = await apiFetch(`${gw.httpUrl}/events/${eventId}/block`, {
      method: 'POST',
      headers: { authorization: `Bearer ${admin}`, 'content-type': 'application/json' },
      body: JSON.stringify({ categories: ['front'] }),
    });
    expect(blocked.status).toBe(200);
    const bulk = (await blocked.json()) as { changed: number; booked: number[] };
    const before = (await gw.store.snapshot(eventId))!;

    await gw.store.deleteEvent(eventId);
    const outcome = await rebuildEvent(pool, gw.store, eventId);
    expect(outcome).toMatchObject({ status: 'rebuilt', booked: 3, blocked: bulk.changed, bookings: 1 });
    const after = (await gw.store.snapshot(eventId))!;
    expect(after.status.equals(before.status)).toBe(true);

    const again = await clerk.ok({ t: 'book', ev: eventId, seats: [7, 6, 5], key: 'till-rb-1' });
    expect(again).toMatchObject({ id: sold.id, replayed: true, state: 'confirmed' });
    expect(await clerk.request({ t: 'book', ev: eventId, seats: [5, 6], key: 'till-rb-1' })).toMatchObject({ t: 'err', code: 'CONFLICT' });
  });
});

describe.each(redisTargets())('box office and holds racing for the same seats, on $name', (target) => {
  let race: TestGateway;
  beforeAll(async () => {
    race = await startTestGateway({ ...target.env(), TICK_MS: '10' });
  });
  afterAll(async () => {
    await race.stop();
    await wipePrefix(race.prefix);
  });
  const client = async (sub: string, scope?: string) => {
    const c = await TestClient.connect(race.wsUrl, { token: await token(sub, scope) });
    clients.push(c);
    return c;
  };

  it('never books a seat twice: separate connections, Redis and Postgres agree', async () => {
    const eventId = 'bo-race';
    await createVenueEvent(race.store, eventId, 120, { maxSeatsPerToken: 6, maxSeatsPerHolder: 6 });
    const SEATS = 60; // contested: seats 0..59
    const clerks = await Promise.all(Array.from({ length: 6 }, (_, i) => client(`race-clerk-${i}`, CLERK_SCOPES)));
    const buyers = await Promise.all(Array.from({ length: 12 }, (_, i) => client(`race-buyer-${i}`)));
    // deterministic pseudo-random seat picks
    let x = 12345;
    const rnd = (n: number) => ((x = (x * 1103515245 + 12345) % 2 ** 31), x % n);
    const pick = (k: number) => [...new Set(Array.from({ length: k }, () => rnd(SEATS)))];

    const directBooked: number[][] = [];
    const holdBooked: number[][] = [];
    let heldNotBooked = 0;
    /** requests refused because another had the seat: the race happened */
    let contested = 0;
    const clerkRuns = clerks.map(async (c, i) => {
      for (let round = 0; round < 8; round++) {
        const seats = pick(1 + rnd(3));
        const key = `race-${i}-${round}`;
        const reply = await c.request({ t: 'book', ev: eventId, seats, key });
        if (reply.t === 'ok') {
          directBooked.push(reply.seats as number[]);
          // a retry of the same sale: the same booking, no second one
          const again = await c.request({ t: 'book', ev: eventId, seats, key });
          expect(again).toMatchObject({ t: 'ok', id: reply.id, replayed: true });
        } else {
          expect(reply.t === 'err' && reply.code).toBe('UNAVAILABLE');
          contested++;
        }
      }
    });
    const buyerRuns = buyers.map(async (c, i) => {
      for (let round = 0; round < 5; round++) {
        const held = await c.request({ t: 'hold', ev: eventId, seats: pick(1 + rnd(2)) });
        if (held.t !== 'ok') {
          expect(held.t === 'err' && held.code).toBe('UNAVAILABLE');
          contested++;
          continue;
        }
        if (rnd(3) === 0) {
          heldNotBooked++;
          await c.ok({ t: 'release', ev: eventId, tok: held.tok as string });
          continue;
        }
        const booked = await c.request({ t: 'book', ev: eventId, tok: held.tok as string, key: `race-web-${i}-${round}` });
        expect(booked.t, JSON.stringify(booked)).toBe('ok');
        if (booked.t === 'ok') holdBooked.push(booked.seats as number[]);
      }
    });
    await Promise.all([...clerkRuns, ...buyerRuns]);

    const all = [...directBooked.flat(), ...holdBooked.flat()].sort((a, b) => a - b);
    expect(new Set(all).size, 'a seat booked twice').toBe(all.length);
    expect(directBooked.length).toBeGreaterThan(0);
    expect(holdBooked.length).toBeGreaterThan(0);

    const snap = (await race.store.snapshot(eventId))!;
    const bookedInRedis = [...snap.status.keys()].filter((i) => snap.status[i] === SeatState.BOOKED);
    expect(bookedInRedis).toEqual(all);
    // nothing is left held (every hold was booked or released)
    expect(snap.status.includes(SeatState.HELD)).toBe(false);
    const inPostgres = await queryGatewayDb(race.prefix, 'SELECT seat FROM booked_seats WHERE event_id = $1 ORDER BY seat', [eventId]);
    expect(inPostgres.map((r) => r.seat)).toEqual(all);
    const bookings = await queryGatewayDb(race.prefix, "SELECT count(*)::int AS n, count(*) FILTER (WHERE state <> 'confirmed')::int AS other FROM bookings WHERE event_id = $1", [eventId]);
    expect(bookings).toEqual([{ n: directBooked.length + holdBooked.length, other: 0 }]);
    expect(contested).toBeGreaterThan(0);
    // every request of the race had one of these outcomes
    expect(heldNotBooked + directBooked.length + holdBooked.length + contested).toBe(6 * 8 + 12 * 5);
  });
});
