/**
 * The door and refunds through a real gateway, Redis and Postgres: check-in
 * per booking and per seat (a second scan answers when and where the seat was
 * first checked in), the seats:door scope, bookings that admit no one; and
 * cancelling some seats of a booking: watchers see exactly those seats go
 * free, the rest stays valid, history says which, a repeat changes nothing,
 * and a seat checked in cannot be cancelled. Every answer is checked against
 * the OpenAPI document (apiFetch).
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { SeatState } from '../core/store/index.js';
import { createVenueEvent, queryGatewayDb, startTestGateway, token, wipePrefix, type TestGateway } from './support/gateway.js';
import { apiFetch } from './support/openapi.js';
import { TestClient } from './support/ws-client.js';

let gw: TestGateway;
let adminToken: string;
let doorToken: string;
const clients: TestClient[] = [];

beforeAll(async () => {
  gw = await startTestGateway({ TICK_MS: '10', WEBHOOKS: '0' });
  adminToken = await token('box-office', 'admin');
  doorToken = await token('scanner-north', 'seats:door');
  await createVenueEvent(gw.store, 'door', 200);
});

afterAll(async () => {
  for (const c of clients) c.ws.terminate();
  await gw.stop();
  await wipePrefix(gw.prefix);
});

async function client(sub: string): Promise<TestClient> {
  const c = await TestClient.connect(gw.wsUrl, { token: await token(sub) });
  clients.push(c);
  return c;
}

async function book(c: TestClient, seats: number[], key: string, t: 'book' | 'checkout' = 'book') {
  const held = await c.ok({ t: 'hold', ev: 'door', seats });
  const tok = held.tok as string;
  return t === 'book' ? c.ok({ t, ev: 'door', tok, key }) : c.ok({ t, ev: 'door', tok, key });
}

function post(path: string, body: unknown, bearer: string): Promise<Response> {
  return apiFetch(`${gw.httpUrl}${path}`, {
    method: 'POST',
    headers: { authorization: `Bearer ${bearer}`, 'content-type': 'application/json' },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
}

const history = async (id: unknown) =>
  (await queryGatewayDb(gw.prefix, 'SELECT from_state, to_state, action, detail FROM booking_history WHERE booking_id = $1 ORDER BY id', [id])).map((h) => ({
    from: h.from_state,
    to: h.to_state,
    action: h.action,
    detail: h.detail,
  }));

describe('check-in', () => {
  it('per booking, then a second scan answers when and where it was first checked in', async () => {
    const booking = await book(await client('guest-1'), [1, 2, 3], 'order-d1');
    const first = await post(`/events/door/bookings/${booking.ref as string}/check-in`, { gate: 'North 3' }, doorToken);
    expect(first.status).toBe(200);
    const scanned = (await first.json()) as { changed: boolean; booking: { state: string }; checkedIn: { seat: number; at: string; gate: string; by: string }[]; already: unknown[] };
    expect(scanned).toMatchObject({ changed: true, booking: { state: 'checked_in' }, already: [] });
    expect(scanned.checkedIn.map((c) => [c.seat, c.gate, c.by])).toEqual([
      [1, 'North 3', 'scanner-north'],
      [2, 'North 3', 'scanner-north'],
      [3, 'North 3', 'scanner-north'],
    ]);

    // the ticket again, at another gate: nothing changes, the answer says when and where it was used
    const second = await post(`/events/door/bookings/${booking.id as string}/check-in`, { gate: 'South 1' }, await token('scanner-south', 'seats:door'));
    expect(second.status).toBe(200);
    const again = (await second.json()) as { changed: boolean; checkedIn: unknown[]; already: { seat: number; at: string; gate: string; by: string }[] };
    expect(again).toMatchObject({ changed: false, checkedIn: [] });
    expect(again.already).toEqual(scanned.checkedIn);

    // one history row and one log entry, from the first scan only; the seats stay booked in the seat map
    expect(await history(booking.id)).toEqual([
      { from: 'none', to: 'confirmed', action: 'book', detail: expect.any(Object) },
      { from: 'confirmed', to: 'checked_in', action: 'check_in', detail: { by: 'scanner-north', gate: 'North 3', seats: [1, 2, 3] } },
    ]);
    expect(await queryGatewayDb(gw.prefix, "SELECT count(*)::int AS n FROM event_log WHERE booking_id = $1 AND type = 'booking.checked_in'", [booking.id])).toEqual([{ n: 1 }]);
    const snap = (await gw.store.snapshot('door'))!;
    expect([snap.status[1], snap.status[2], snap.status[3]]).toEqual([SeatState.BOOKED, SeatState.BOOKED, SeatState.BOOKED]);
  });

  it('per seat: each guest of a booking on their own scan', async () => {
    const booking = await book(await client('guest-2'), [10, 11], 'order-d2');
    const path = `/events/door/bookings/${booking.ref as string}/check-in`;
    const a = (await (await post(path, { seats: [10], gate: 'East' }, doorToken)).json()) as Record<string, unknown>;
    expect(a).toMatchObject({ changed: true, booking: { state: 'checked_in' }, checkedIn: [{ seat: 10, gate: 'East' }], already: [] });
    const b = (await (await post(path, { seats: [10, 11], gate: 'West' }, doorToken)).json()) as Record<string, unknown>;
    expect(b).toMatchObject({ changed: true, booking: { state: 'checked_in' }, checkedIn: [{ seat: 11, gate: 'West' }], already: [{ seat: 10, gate: 'East' }] });
    expect((await history(booking.id)).map((h) => [h.from, h.to, h.action])).toEqual([
      ['none', 'confirmed', 'book'],
      ['confirmed', 'checked_in', 'check_in'],
      ['checked_in', 'checked_in', 'check_in'],
    ]);
    const got = (await (await apiFetch(`${gw.httpUrl}/events/door/bookings/${booking.id as string}`, { headers: { authorization: `Bearer ${adminToken}` } })).json()) as { checkIns: unknown[] };
    expect(got.checkIns).toMatchObject([
      { seat: 10, gate: 'East', by: 'scanner-north' },
      { seat: 11, gate: 'West', by: 'scanner-north' },
    ]);
  });

  it('admits no one on a booking awaiting payment, cancelled or unknown; needs seats:door; refuses bad input', async () => {
    const guest = await client('guest-3');
    const pending = await book(guest, [20], 'order-d3', 'checkout');
    const refused = await post(`/events/door/bookings/${pending.ref as string}/check-in`, {}, doorToken);
    expect(refused.status).toBe(409);
    expect(await refused.json()).toMatchObject({ code: 'CONFLICT' });
    const cancelled = await book(guest, [21], 'order-d4');
    expect((await post(`/events/door/bookings/${cancelled.id as string}/cancel`, undefined, adminToken)).status).toBe(200);
    expect((await post(`/events/door/bookings/${cancelled.id as string}/check-in`, {}, doorToken)).status).toBe(409);
    expect((await post('/events/door/bookings/SM-00000000/check-in', {}, doorToken)).status).toBe(404);
    const valid = await book(guest, [22], 'order-d5');
    const path = `/events/door/bookings/${valid.ref as string}/check-in`;
    // admin does not imply seats:door, and a buyer's token has it not either
    expect((await post(path, {}, adminToken)).status).toBe(403);
    expect((await post(path, {}, await token('guest-3'))).status).toBe(403);
    expect((await apiFetch(`${gw.httpUrl}${path}`, { method: 'POST' })).status).toBe(401);
    const bad = [{ seats: [23] }, { seats: [] }, { seats: ['22'] }, { gate: 'a\u0000b' }, { gate: 7 }];
    const codes = [];
    for (const body of bad) {
      const res = await post(path, body, doorToken);
      codes.push([res.status, ((await res.json()) as { code: string }).code]);
    }
    expect(codes).toEqual([
      [400, 'BAD_SEAT'],
      [400, 'BAD_REQUEST'],
      [400, 'BAD_REQUEST'],
      [400, 'BAD_REQUEST'],
      [400, 'BAD_REQUEST'],
    ]);
    expect((await history(valid.id)).map((h) => h.action)).toEqual(['book']);
  });

  it('refuses a malformed event id, booking or body (400), another event\'s booking (404), and a body over 16 KiB (413)', async () => {
    const valid = await book(await client('guest-4'), [24], 'order-d6');
    const path = `/events/door/bookings/${valid.ref as string}/check-in`;
    const answers = [
      await post(`/events/bad%20id/bookings/${valid.ref as string}/check-in`, {}, doorToken),
      await post('/events/door/bookings/%ZZ/check-in', {}, doorToken),
      await apiFetch(`${gw.httpUrl}${path}`, { method: 'POST', headers: { authorization: `Bearer ${doorToken}` }, body: 'not json' }),
      await post(path, [24], doorToken),
      await post(`/events/elsewhere/bookings/${valid.ref as string}/check-in`, {}, doorToken),
      await post(path, { gate: 'x'.repeat(17 * 1024) }, doorToken),
    ];
    expect(await Promise.all(answers.map(async (r) => [r.status, ((await r.json()) as { code: string }).code]))).toEqual([
      [400, 'BAD_REQUEST'],
      [400, 'BAD_REQUEST'],
      [400, 'BAD_REQUEST'],
      [400, 'BAD_REQUEST'],
      [404, 'NOT_FOUND'],
      [413, 'BAD_REQUEST'],
    ]);
    expect((await history(valid.id)).map((h) => h.action)).toEqual(['book']);
  });
});

describe('partial cancel', () => {
  it('frees exactly the cancelled seats for every watcher; the rest stays valid; history says which; a repeat changes nothing', async () => {
    const watcher = await client('watcher-p');
    await watcher.ok({ t: 'sub', ev: 'door' });
    const booking = await book(await client('guest-p'), [40, 41, 42, 43], 'order-p1');
    await watcher.until('door', (v) => [40, 41, 42, 43].every((s) => v.status[s] === SeatState.BOOKED));
    const cancel = (body: unknown) => post(`/events/door/bookings/${booking.ref as string}/cancel`, body, adminToken);

    const res = await cancel({ seats: [41, 43], reason: 'two guests cannot come' });
    expect(res.status).toBe(200);
    expect(await res.json()).toMatchObject({ changed: true, freed: 2, booking: { state: 'confirmed', seats: [40, 42], cancelledSeats: [41, 43] } });
    const view = await watcher.until('door', (v) => v.status[41] === SeatState.FREE && v.status[43] === SeatState.FREE);
    expect([view.status[40], view.status[42]]).toEqual([SeatState.BOOKED, SeatState.BOOKED]);
    expect(Buffer.from(view.status).equals((await gw.store.snapshot('door'))!.status)).toBe(true);
    expect((await queryGatewayDb(gw.prefix, 'SELECT seat FROM booked_seats WHERE booking_id = $1 ORDER BY seat', [booking.id])).map((r) => r.seat)).toEqual([40, 42]);
    expect((await history(booking.id)).at(-1)).toEqual({ from: 'confirmed', to: 'confirmed', action: 'cancel_seats', detail: { by: 'box-office', reason: 'two guests cannot come', seats: [41, 43] } });
    const [entry] = await queryGatewayDb(gw.prefix, "SELECT data FROM event_log WHERE booking_id = $1 AND type = 'booking.seats_cancelled'", [booking.id]);
    expect(entry!.data).toMatchObject({ seats: [41, 43], from: 'confirmed', booking: { seats: [40, 42], cancelledSeats: [41, 43] } });

    // again: nothing changes, nothing is freed twice (seat 41 is sold to someone else meanwhile)
    const other = await book(await client('guest-q'), [41], 'order-q1');
    const repeat = await cancel({ seats: [41, 43] });
    expect(await repeat.json()).toMatchObject({ changed: false, freed: 0 });
    expect((await gw.store.snapshot('door'))!.status[41]).toBe(SeatState.BOOKED);
    expect(await queryGatewayDb(gw.prefix, 'SELECT booking_id::text AS id FROM booked_seats WHERE event_id = $1 AND seat = 41', ['door'])).toEqual([{ id: other.id }]);

    // the rest: a seat checked in cannot be cancelled, the other one can, and the last seat ends the booking
    expect((await post(`/events/door/bookings/${booking.ref as string}/check-in`, { seats: [40] }, doorToken)).status).toBe(200);
    const refused = await cancel({ seats: [40] });
    expect(refused.status).toBe(409);
    expect(await refused.json()).toMatchObject({ code: 'CONFLICT', seats: [40] });
    expect((await cancel(undefined)).status).toBe(409); // whole: it has a seat checked in
    expect(await (await cancel({ seats: [42] })).json()).toMatchObject({ changed: true, freed: 1, booking: { state: 'checked_in', seats: [40] } });
    const stranger = await cancel({ seats: [99] });
    expect(stranger.status).toBe(400);
    expect(await stranger.json()).toMatchObject({ code: 'BAD_SEAT', seats: [99] });
    // bad bodies change nothing
    for (const [body, status] of [[{ seats: [42, 42] }, 400], [{ reason: 7 }, 400], [{ seats: [42], reason: 'x'.repeat(17 * 1024) }, 413]] as const) {
      expect((await cancel(body)).status, JSON.stringify(body).slice(0, 40)).toBe(status);
    }
    expect((await gw.store.snapshot('door'))!.status[42]).toBe(SeatState.FREE);
    expect((await history(booking.id)).map((h) => h.action)).toEqual(['book', 'cancel_seats', 'check_in', 'cancel_seats']);
  });

  it('cancelling every remaining seat cancels the booking; a booking awaiting payment is cancelled whole', async () => {
    const guest = await client('guest-r');
    const booking = await book(guest, [60, 61], 'order-r1');
    const path = `/events/door/bookings/${booking.id as string}/cancel`;
    expect(await (await post(path, { seats: [60] }, adminToken)).json()).toMatchObject({ booking: { state: 'confirmed', seats: [61] } });
    expect(await (await post(path, { seats: [61] }, adminToken)).json()).toMatchObject({ changed: true, freed: 1, booking: { state: 'cancelled' } });
    expect((await history(booking.id)).map((h) => [h.from, h.to, h.action])).toEqual([
      ['none', 'confirmed', 'book'],
      ['confirmed', 'confirmed', 'cancel_seats'],
      ['confirmed', 'cancelled', 'cancel'],
    ]);
    const snap = (await gw.store.snapshot('door'))!;
    expect([snap.status[60], snap.status[61]]).toEqual([SeatState.FREE, SeatState.FREE]);

    const pending = await book(guest, [62, 63], 'order-r2', 'checkout');
    const partly = await post(`/events/door/bookings/${pending.id as string}/cancel`, { seats: [62] }, adminToken);
    expect(partly.status).toBe(409);
    expect(await (await post(`/events/door/bookings/${pending.id as string}/cancel`, {}, adminToken)).json()).toMatchObject({ freed: 2, booking: { state: 'cancelled' } });
  });
});
