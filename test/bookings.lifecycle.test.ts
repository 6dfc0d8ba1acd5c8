/**
 * The booking lifecycle through a real gateway, real Redis and Postgres:
 * cancel (admin HTTP) frees the seats for every watcher, history is kept,
 * invalid transitions are refused; the admin listing pages; blocking is kept
 * in Postgres; a rebuild from Postgres restores booked and blocked seats and
 * the idempotency records.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import pg from 'pg';
import { rebuildEvent } from '../core/bookings/rebuild.js';
import { REFERENCE } from '../core/bookings/reference.js';
import { SeatState } from '../core/store/index.js';
import { createVenueEvent, queryGatewayDb, startTestGateway, testDatabaseFor, token, wipePrefix, type TestGateway } from './support/gateway.js';
import { apiFetch } from './support/openapi.js';
import { TestClient } from './support/ws-client.js';

let gw: TestGateway;
let pool: pg.Pool;
let adminToken: string;
const clients: TestClient[] = [];

beforeAll(async () => {
  gw = await startTestGateway({ TICK_MS: '10' });
  pool = new pg.Pool({ connectionString: await testDatabaseFor(gw.prefix), max: 3 });
  adminToken = await token('box-office', 'admin');
  await createVenueEvent(gw.store, 'lc', 200);
});

afterAll(async () => {
  for (const c of clients) c.ws.terminate();
  await gw.stop();
  await pool.end();
  await wipePrefix(gw.prefix);
});

async function client(sub: string): Promise<TestClient> {
  const c = await TestClient.connect(gw.wsUrl, { token: await token(sub) });
  clients.push(c);
  return c;
}

async function holdAndBook(c: TestClient, ev: string, seats: number[], key: string) {
  const held = await c.ok({ t: 'hold', ev, seats });
  return c.ok({ t: 'book', ev, tok: held.tok as string, key });
}

function admin(path: string, init: RequestInit = {}): Promise<Response> {
  return apiFetch(`${gw.httpUrl}${path}`, { ...init, headers: { authorization: `Bearer ${adminToken}`, ...init.headers } });
}

describe('cancel', () => {
  it('frees the seats for every watcher, records history and is idempotent', async () => {
    const buyer = await client('buyer-1');
    const watcher = await client('watcher-1');
    await watcher.ok({ t: 'sub', ev: 'lc' });
    const booked = await holdAndBook(buyer, 'lc', [5, 6], 'order-c1');
    expect(booked.ref).toMatch(REFERENCE);
    await watcher.until('lc', (v) => v.status[5] === SeatState.BOOKED && v.status[6] === SeatState.BOOKED);

    const res = await admin(`/events/lc/bookings/${booked.ref as string}/cancel?reason=customer%20request`, { method: 'POST' });
    expect(res.status).toBe(200);
    const body = (await res.json()) as { booking: { id: string; state: string; seats: number[] }; changed: boolean; freed: number };
    expect(body).toMatchObject({ changed: true, freed: 2, booking: { id: booked.id, state: 'cancelled', seats: [5, 6] } });

    // every watcher sees the seats free, through a change-log entry
    const view = await watcher.until('lc', (v) => v.status[5] === SeatState.FREE && v.status[6] === SeatState.FREE);
    expect(Buffer.from(view.status).equals((await gw.store.snapshot('lc'))!.status)).toBe(true);
    // Postgres: no active seat rows, history confirmed -> cancelled with who and why
    expect(await queryGatewayDb(gw.prefix, 'SELECT seat FROM booked_seats WHERE booking_id = $1', [booked.id])).toEqual([]);
    const history = await queryGatewayDb(gw.prefix, 'SELECT from_state, to_state, detail FROM booking_history WHERE booking_id = $1 ORDER BY id', [booked.id]);
    expect(history.map((h) => [h.from_state, h.to_state])).toEqual([
      ['none', 'confirmed'],
      ['confirmed', 'cancelled'],
    ]);
    expect(history[1]!.detail).toEqual({ by: 'box-office', reason: 'customer request' });

    // again: nothing changes, nothing is freed twice
    const again = await admin(`/events/lc/bookings/${booked.id as string}/cancel`, { method: 'POST' });
    expect(again.status).toBe(200);
    expect(await again.json()).toMatchObject({ changed: false, freed: 0 });

    // the seats can be sold again; replaying the first book returns the cancelled booking, not a new one
    const second = await holdAndBook(await client('buyer-2'), 'lc', [5], 'order-c2');
    expect(second.id).not.toBe(booked.id);
    const replay = await buyer.request({ t: 'book', ev: 'lc', tok: 'gone-token', key: 'order-c1' });
    expect(replay).toMatchObject({ t: 'err', code: 'CONFLICT' });
  });

  it('a cancelled seat sold again is not freed by a repeated cancel of the old booking', async () => {
    const first = await holdAndBook(await client('buyer-3'), 'lc', [20], 'order-r1');
    expect((await admin(`/events/lc/bookings/${first.id as string}/cancel`, { method: 'POST' })).status).toBe(200);
    const second = await holdAndBook(await client('buyer-4'), 'lc', [20], 'order-r2');
    const repeat = await admin(`/events/lc/bookings/${first.id as string}/cancel`, { method: 'POST' });
    expect(await repeat.json()).toMatchObject({ changed: false, freed: 0 });
    expect((await gw.store.snapshot('lc'))!.status[20]).toBe(SeatState.BOOKED);
    expect(await queryGatewayDb(gw.prefix, 'SELECT booking_id::text AS id FROM booked_seats WHERE event_id = $1 AND seat = 20', ['lc'])).toEqual([{ id: second.id }]);
  });

  it('refuses without an admin token, and answers NOT_FOUND for an unknown booking', async () => {
    const user = await token('someone');
    const forbidden = await apiFetch(`${gw.httpUrl}/events/lc/bookings`, { headers: { authorization: `Bearer ${user}` } });
    expect(forbidden.status).toBe(403);
    expect((await apiFetch(`${gw.httpUrl}/events/lc/bookings`)).status).toBe(401);
    const missing = await admin('/events/lc/bookings/SM-00000000/cancel', { method: 'POST' });
    expect(missing.status).toBe(404);
    expect(await missing.json()).toMatchObject({ code: 'NOT_FOUND' });
    const bad = await admin('/events/lc/bookings?limit=0');
    expect(bad.status).toBe(400);
    expect((await admin('/events/lc/bookings?cursor=nonsense')).status).toBe(400);
  });
});

describe('admin listing', () => {
  it('pages through every booking once, newest first, and fetches one by reference with its history', async () => {
    await createVenueEvent(gw.store, 'ls', 200);
    const buyer = await client('lister');
    const made: string[] = [];
    for (let i = 0; i < 7; i++) made.push((await holdAndBook(buyer, 'ls', [i * 2], `order-l${i}`)).id as string);
    const seen: string[] = [];
    let cursor: string | null = null;
    let pages = 0;
    do {
      const res = await admin(`/events/ls/bookings?limit=3${cursor ? `&cursor=${cursor}` : ''}`);
      expect(res.status).toBe(200);
      const page = (await res.json()) as { bookings: { id: string; bookedAt: string }[]; next: string | null };
      expect(page.bookings.length).toBeLessThanOrEqual(3);
      seen.push(...page.bookings.map((b) => b.id));
      cursor = page.next;
      pages++;
    } while (cursor);
    expect(pages).toBe(3);
    expect([...seen].sort()).toEqual([...made].sort());

    const one = await admin(`/events/ls/bookings/${made[0]!}`);
    const booking = (await one.json()) as { reference: string; history: { from: string; to: string }[]; holder: string };
    expect(booking).toMatchObject({ holder: 'lister', history: [{ from: 'none', to: 'confirmed' }] });
    const byRef = await admin(`/events/ls/bookings/${booking.reference}`);
    expect(await byRef.json()).toMatchObject({ id: made[0] });
    const confirmed = (await (await admin('/events/ls/bookings?state=cancelled')).json()) as { bookings: unknown[] };
    expect(confirmed.bookings).toEqual([]);
  });
});

describe('rebuild from Postgres', () => {
  it('restores booked and blocked seats and the idempotency records, with a new epoch', async () => {
    await createVenueEvent(gw.store, 'rb', 200);
    const buyer = await client('rebuilder');
    const kept = await holdAndBook(buyer, 'rb', [1, 2, 3], 'order-k');
    const cancelled = await holdAndBook(buyer, 'rb', [9], 'order-x');
    await admin(`/events/rb/bookings/${cancelled.id as string}/cancel`, { method: 'POST' });
    const block = (op: string, body: string) => admin(`/events/rb/${op}`, { method: 'POST', body, headers: { 'content-type': 'application/json' } });
    expect((await block('block', JSON.stringify({ seats: [50, 51, 52] }))).status).toBe(200);
    expect((await block('unblock', JSON.stringify({ seats: [52] }))).status).toBe(200);
    // refused: a booked seat cannot be blocked, and nothing is written anywhere
    const refused = await block('block', JSON.stringify({ seats: [60, 1] }));
    expect(refused.status).toBe(409);
    expect(await refused.json()).toMatchObject({ code: 'UNAVAILABLE', seats: [1] });
    expect((await block('block', '{"seats": "all"}')).status).toBe(400);
    expect((await pool.query('SELECT seat FROM blocked_seats WHERE event_id = $1 ORDER BY seat', ['rb'])).rows).toEqual([{ seat: 50 }, { seat: 51 }]);
    await buyer.ok({ t: 'hold', ev: 'rb', seats: [100] }); // a hold: lost by the rebuild
    const before = (await gw.store.meta('rb'))!;

    // Redis loses the event; the rebuild is exercised directly (the periodic check is tested with real faults)
    await gw.store.deleteEvent('rb');
    const outcome = await rebuildEvent(pool, gw.store, 'rb');
    expect(outcome).toMatchObject({ status: 'rebuilt', booked: 3, blocked: 2, bookings: 2 });
    const after = (await gw.store.meta('rb'))!;
    expect(after.epoch).toBeGreaterThan(before.epoch);
    expect(after.seq).toBe(0);
    const snap = (await gw.store.snapshot('rb'))!;
    const states = (seats: number[]) => seats.map((s) => snap.status[s]);
    expect(states([1, 2, 3])).toEqual([SeatState.BOOKED, SeatState.BOOKED, SeatState.BOOKED]);
    expect(states([9, 100])).toEqual([SeatState.FREE, SeatState.FREE]);
    expect(states([50, 51])).toEqual([SeatState.BLOCKED, SeatState.BLOCKED]);
    const [{ epoch }] = (await pool.query('SELECT epoch FROM events WHERE id = $1', ['rb'])).rows as [{ epoch: string }];
    expect(Number(epoch)).toBe(after.epoch);

    // the same key and token after the rebuild return the same booking, never a second one
    const replay = await buyer.ok({ t: 'book', ev: 'rb', tok: 'unused', key: 'order-k' }).catch((e: Error) => e);
    expect(replay).toBeInstanceOf(Error); // another token: CONFLICT
    const [{ hold_token: tok }] = (await pool.query('SELECT hold_token FROM bookings WHERE id = $1', [kept.id])).rows as [{ hold_token: string }];
    const same = await buyer.ok({ t: 'book', ev: 'rb', tok, key: 'order-k' });
    expect(same).toMatchObject({ id: kept.id, ref: kept.ref, replayed: true, state: 'confirmed' });

    // a second rebuild finds it present and changes nothing
    expect(await rebuildEvent(pool, gw.store, 'rb')).toEqual({ status: 'present' });
  });

  it('DELETE /events/:id deletes on purpose: the event is not rebuilt, its bookings stay in Postgres', async () => {
    await createVenueEvent(gw.store, 'gone', 120);
    const booked = await holdAndBook(await client('gone-buyer'), 'gone', [3], 'order-gone');
    const res = await admin('/events/gone', { method: 'DELETE' });
    expect(res.status).toBe(200);
    expect(await gw.store.meta('gone')).toBeNull();
    await new Promise((r) => setTimeout(r, 1500)); // longer than REBUILD_CHECK_MS
    expect(await gw.store.meta('gone')).toBeNull();
    expect(await queryGatewayDb(gw.prefix, 'SELECT state FROM bookings WHERE id = $1', [booked.id])).toEqual([{ state: 'confirmed' }]);
    const again = await admin('/events/gone', { method: 'DELETE' });
    expect(again.status).toBe(404);
    expect(await again.json()).toMatchObject({ code: 'NO_EVENT' });
  });

  it('an event Postgres knows is not created afresh: POST /events answers CONFLICT and the event comes back with its bookings', async () => {
    await createVenueEvent(gw.store, 'again', 150);
    const booked = await holdAndBook(await client('again-buyer'), 'again', [7], 'order-again');
    await gw.store.deleteEvent('again'); // lost by Redis (not deleted on purpose: Postgres still has it)
    const layout = (await pool.query<{ layout: unknown }>('SELECT layout FROM events WHERE id = $1', ['again'])).rows[0]!.layout;
    const res = await admin('/events', { method: 'POST', body: JSON.stringify({ id: 'again', layout }), headers: { 'content-type': 'application/json' } });
    expect(res.status).toBe(409);
    expect(await res.json()).toMatchObject({ code: 'CONFLICT' });
    // the gateway's recovery rebuilds it (REBUILD_CHECK_MS), with the booking
    let meta = await gw.store.meta('again');
    for (let i = 0; i < 50 && !meta; i++) {
      await new Promise((r) => setTimeout(r, 100));
      meta = await gw.store.meta('again');
    }
    expect(meta).not.toBeNull();
    expect((await gw.store.snapshot('again'))!.status[7]).toBe(SeatState.BOOKED);
    expect(await queryGatewayDb(gw.prefix, 'SELECT count(*)::int AS n FROM bookings WHERE id = $1', [booked.id])).toEqual([{ n: 1 }]);
  });
});
