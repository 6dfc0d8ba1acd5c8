/**
 * The payment window end to end, through real gateways, Redis and Postgres:
 * `checkout` makes a booking awaiting payment (seats booked for every
 * watcher, the hold used up), the payment provider's signed callback confirms
 * or fails it (seats freed live), a forged or stale signature changes nothing,
 * and unpaid bookings expire at payBy exactly once with two nodes running
 * (and with several expirers racing). A rebuild from Postgres keeps the seats
 * of bookings awaiting payment and checked in. Every HTTP answer is checked
 * against the OpenAPI document (apiFetch).
 */
import { createHmac } from 'node:crypto';
import WebSocket from 'ws';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import pg from 'pg';
import { PaymentExpiry } from '../core/bookings/payment-expiry.js';
import { rebuildEvent } from '../core/bookings/rebuild.js';
import { SeatMapClient } from '../core/client/index.js';
import { SeatState } from '../core/store/index.js';
import { createVenueEvent, queryGatewayDb, startTestGateway, testDatabaseFor, token, wipePrefix, type TestGateway } from './support/gateway.js';
import { apiFetch } from './support/openapi.js';
import { TestClient } from './support/ws-client.js';

const SECRET = 'payment-provider-secret-0123456789';
let gw: TestGateway;
let second: TestGateway;
let pool: pg.Pool;
let adminToken: string;
const clients: TestClient[] = [];
const sdkClients: SeatMapClient[] = [];

beforeAll(async () => {
  const env = { TICK_MS: '10', PAYMENT_WEBHOOK_SECRET: SECRET, PAYMENT_EXPIRY_CHECK_MS: '100', RELEASE_RETRY_MS: '200', WEBHOOKS: '0' };
  gw = await startTestGateway(env);
  // a second node on the same Redis and Postgres: both expire unpaid bookings
  second = await startTestGateway(env, gw.prefix);
  pool = new pg.Pool({ connectionString: await testDatabaseFor(gw.prefix), max: 8 });
  adminToken = await token('box-office', 'admin');
  await createVenueEvent(gw.store, 'pay', 200);
  await createVenueEvent(gw.store, 'lapse', 200, { paymentWindowMs: 1500 });
  await createVenueEvent(gw.store, 'race', 200);
  await createVenueEvent(gw.store, 'kept', 100);
});

afterAll(async () => {
  for (const c of clients) c.ws.terminate();
  for (const c of sdkClients) c.close();
  await second?.stop();
  await gw?.stop();
  await pool?.end();
  await wipePrefix(gw.prefix);
});

async function client(sub: string, url = gw.wsUrl): Promise<TestClient> {
  const c = await TestClient.connect(url, { token: await token(sub) });
  clients.push(c);
  return c;
}

async function checkout(c: TestClient, ev: string, seats: number[], key: string): Promise<Record<string, unknown> & { tok: string }> {
  const held = await c.ok({ t: 'hold', ev, seats });
  const done = await c.ok({ t: 'checkout', ev, tok: held.tok as string, key });
  return Object.assign(done, { tok: held.tok as string });
}

/** A payment provider's call, signed as docs/bookings.md says: v1= hex HMAC-SHA256(secret, `${timestamp}.${path}.${body}`). */
function signedCall(path: string, body: string, options: { secret?: string; timestamp?: number; signedPath?: string; signedBody?: string } = {}): Promise<Response> {
  const timestamp = options.timestamp ?? Math.floor(Date.now() / 1000);
  const mac = createHmac('sha256', options.secret ?? SECRET)
    .update(`${timestamp}.${options.signedPath ?? path}.${options.signedBody ?? body}`)
    .digest('hex');
  return apiFetch(`${gw.httpUrl}${path}`, {
    method: 'POST',
    body,
    headers: { 'content-type': 'application/json', 'seatmap-timestamp': String(timestamp), 'seatmap-signature': `v1=${mac}` },
  });
}

function admin(path: string, init: RequestInit = {}, base = gw.httpUrl): Promise<Response> {
  return apiFetch(`${base}${path}`, { ...init, headers: { authorization: `Bearer ${adminToken}`, ...init.headers } });
}

async function history(bookingId: string) {
  return (await queryGatewayDb(gw.prefix, 'SELECT from_state, to_state, action, detail FROM booking_history WHERE booking_id = $1 ORDER BY id', [bookingId])) as {
    from_state: string;
    to_state: string;
    action: string;
    detail: Record<string, unknown>;
  }[];
}

async function logTypes(bookingId: string): Promise<string[]> {
  return (await queryGatewayDb(gw.prefix, 'SELECT type FROM event_log WHERE booking_id = $1 ORDER BY event_id, seq', [bookingId])).map((r) => r.type as string);
}

async function eventually<T>(probe: () => Promise<T>, done: (value: T) => boolean, timeoutMs: number, what: string): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await probe();
    if (done(value)) return value;
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}: ${JSON.stringify(value).slice(0, 300)}`);
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

describe('checkout', () => {
  it('makes a durable booking awaiting payment: seats booked for watchers, the hold used up, payBy from the event settings', async () => {
    const buyer = await client('buyer-1');
    const watcher = await client('watcher-1');
    await watcher.ok({ t: 'sub', ev: 'pay' });
    const before = Date.now();
    const done = await checkout(buyer, 'pay', [3, 4], 'order-p1');
    expect(done).toMatchObject({ state: 'pending_payment', seats: [3, 4], replayed: false });
    expect(done.ref).toMatch(/^SM-/);
    // the default window: 15 minutes from the checkout (Redis clock)
    expect(done.payBy as number).toBeGreaterThan(before + 899_000);
    expect(done.payBy as number).toBeLessThan(Date.now() + 901_000);
    await watcher.until('pay', (v) => v.status[3] === SeatState.BOOKED && v.status[4] === SeatState.BOOKED);
    // nothing the client can send gives the seats back: the token is gone
    expect(await buyer.request({ t: 'release', ev: 'pay', tok: done.tok })).toMatchObject({ t: 'err', code: 'EXPIRED' });
    expect(await buyer.request({ t: 'extend', ev: 'pay', tok: done.tok })).toMatchObject({ t: 'err', code: 'EXPIRED' });
    // committed before the ok: the row, its history and its log entry
    const [row] = await queryGatewayDb(gw.prefix, 'SELECT state, pay_by FROM bookings WHERE id = $1', [done.id]);
    expect(row!.state).toBe('pending_payment');
    expect((row!.pay_by as Date).getTime()).toBe(done.payBy);
    expect((await history(done.id as string)).map((h) => [h.from_state, h.to_state, h.action])).toEqual([['none', 'pending_payment', 'checkout']]);
    expect(await logTypes(done.id as string)).toEqual(['booking.pending_payment']);

    // the same key again: the same booking, on the other node too
    const again = await (await client('buyer-1', second.wsUrl)).ok({ t: 'checkout', ev: 'pay', tok: done.tok, key: 'order-p1' });
    expect(again).toMatchObject({ id: done.id, ref: done.ref, replayed: true, state: 'pending_payment', payBy: done.payBy });
  });

  it('is a promise operation of the client SDK', async () => {
    const sdk = new SeatMapClient({ url: gw.wsUrl, token: await token('sdk-buyer'), WebSocket });
    sdkClients.push(sdk);
    await sdk.connect();
    const held = await sdk.hold('pay', [40]);
    const booking = await sdk.checkout('pay', held.tok, { key: 'order-sdk' });
    expect(booking).toMatchObject({ state: 'pending_payment', seats: [40], replayed: false, key: 'order-sdk' });
    expect(booking.payBy).toBeGreaterThan(Date.now());
    expect(sdk.holds('pay')).toEqual([]);
  });
});

describe('payment callbacks', () => {
  it('a signed confirm makes it confirmed, once; a second confirm changes nothing; a fail after it is CONFLICT', async () => {
    const buyer = await client('buyer-2');
    const done = await checkout(buyer, 'pay', [10, 11], 'order-p2');
    const path = `/bookings/${done.ref as string}/confirm`;
    const res = await signedCall(path, JSON.stringify({ payment: 'pi_123' }));
    expect(res.status).toBe(200);
    expect(await res.json()).toMatchObject({ changed: true, freed: 0, booking: { id: done.id, state: 'confirmed', seats: [10, 11] } });
    const repeat = await signedCall(path, JSON.stringify({ payment: 'pi_123' }));
    expect(await repeat.json()).toMatchObject({ changed: false, booking: { state: 'confirmed' } });
    const fail = await admin(`/bookings/${done.id as string}/fail`, { method: 'POST' });
    expect(fail.status).toBe(409);
    expect(await fail.json()).toMatchObject({ code: 'CONFLICT' });
    expect((await history(done.id as string)).map((h) => [h.from_state, h.to_state, h.action])).toEqual([
      ['none', 'pending_payment', 'checkout'],
      ['pending_payment', 'confirmed', 'confirm'],
    ]);
    expect((await history(done.id as string))[1]!.detail).toEqual({ by: 'payment-provider', payment: 'pi_123' });
    expect(await logTypes(done.id as string)).toEqual(['booking.pending_payment', 'booking.confirmed']);
    // still booked; a replayed checkout answers its state now
    expect((await gw.store.snapshot('pay'))!.status[10]).toBe(SeatState.BOOKED);
    expect(await buyer.ok({ t: 'checkout', ev: 'pay', tok: done.tok, key: 'order-p2' })).toMatchObject({ id: done.id, state: 'confirmed', replayed: true });
  });

  it('a fail frees the seats for every watcher at once; the seats sell again; confirm after it is CONFLICT', async () => {
    const buyer = await client('buyer-3');
    const watcher = await client('watcher-3', second.wsUrl);
    await watcher.ok({ t: 'sub', ev: 'pay' });
    const done = await checkout(buyer, 'pay', [20, 21, 22], 'order-p3');
    await watcher.until('pay', (v) => v.status[21] === SeatState.BOOKED);
    // an admin may answer for the provider too
    const res = await admin(`/bookings/${done.id as string}/fail`, { method: 'POST', body: JSON.stringify({ reason: 'card declined' }) });
    expect(res.status).toBe(200);
    expect(await res.json()).toMatchObject({ changed: true, freed: 3, booking: { state: 'failed' } });
    await watcher.until('pay', (v) => [20, 21, 22].every((s) => v.status[s] === SeatState.FREE));
    expect(await queryGatewayDb(gw.prefix, 'SELECT seat FROM booked_seats WHERE booking_id = $1', [done.id])).toEqual([]);
    expect((await signedCall(`/bookings/${done.ref as string}/fail`, '')).status).toBe(200); // again: nothing changes
    const confirm = await signedCall(`/bookings/${done.ref as string}/confirm`, '');
    expect(confirm.status).toBe(409);
    expect(await confirm.json()).toMatchObject({ code: 'CONFLICT' });
    expect((await history(done.id as string)).map((h) => h.action)).toEqual(['checkout', 'fail']);
    expect((await history(done.id as string))[1]!.detail).toEqual({ by: 'box-office', reason: 'card declined' });
    expect(await logTypes(done.id as string)).toEqual(['booking.pending_payment', 'booking.failed']);
    // someone else holds a freed seat at once
    expect(await (await client('buyer-3b')).request({ t: 'hold', ev: 'pay', seats: [21] })).toMatchObject({ t: 'ok' });
  });

  it('refuses a forged, stale, misdirected or missing signature, and changes nothing', async () => {
    const done = await checkout(await client('buyer-4'), 'pay', [30], 'order-p4');
    const path = `/bookings/${done.ref as string}/confirm`;
    const body = JSON.stringify({ payment: 'pi_forged' });
    const attempts = [
      signedCall(path, body, { secret: 'not-the-payment-provider-secret' }), // forged
      signedCall(path, body, { signedBody: JSON.stringify({ payment: 'pi_other' }) }), // body changed after signing
      signedCall(path, body, { timestamp: Math.floor(Date.now() / 1000) - 3600 }), // captured an hour ago
      signedCall(path, body, { signedPath: `/bookings/${done.ref as string}/fail` }), // signed for another call
      apiFetch(`${gw.httpUrl}${path}`, { method: 'POST', body }), // no credentials
      apiFetch(`${gw.httpUrl}${path}`, { method: 'POST', body, headers: { 'seatmap-timestamp': 'soon', 'seatmap-signature': 'v1=00' } }),
    ];
    for (const res of await Promise.all(attempts)) {
      expect(res.status).toBe(401);
      expect(await res.json()).toMatchObject({ code: 'UNAUTHORIZED' });
    }
    // a token without the admin scope
    const user = await apiFetch(`${gw.httpUrl}${path}`, { method: 'POST', headers: { authorization: `Bearer ${await token('buyer-4')}` } });
    expect(user.status).toBe(403);
    expect((await queryGatewayDb(gw.prefix, 'SELECT state FROM bookings WHERE id = $1', [done.id]))[0]!.state).toBe('pending_payment');
    expect((await history(done.id as string)).map((h) => h.action)).toEqual(['checkout']);
    expect(await logTypes(done.id as string)).toEqual(['booking.pending_payment']);
    // bad input is BAD_REQUEST or NOT_FOUND, never a 500
    expect((await admin('/bookings/SM-00000000/confirm', { method: 'POST' })).status).toBe(404);
    expect((await admin('/bookings/%ZZ/confirm', { method: 'POST' })).status).toBe(400);
    expect((await admin(`${path}`, { method: 'POST', body: '{"payment": 7}' })).status).toBe(400);
    expect((await admin(`${path}`, { method: 'POST', body: 'not json' })).status).toBe(400);
    // a body over 8 KiB is refused before anything is looked up, signed or not
    const large = JSON.stringify({ payment: 'x'.repeat(9 * 1024) });
    expect((await admin(path, { method: 'POST', body: large })).status).toBe(413);
    expect((await signedCall(path, large)).status).toBe(413);
    expect((await queryGatewayDb(gw.prefix, 'SELECT state FROM bookings WHERE id = $1', [done.id]))[0]!.state).toBe('pending_payment');
  });
});

describe('the payment window', () => {
  it('expires unpaid bookings at payBy exactly once with two nodes running, freeing their seats for watchers', async () => {
    const buyers = await Promise.all([client('lapse-a'), client('lapse-b', second.wsUrl), client('lapse-c')]);
    const watcher = await client('lapse-watcher', second.wsUrl);
    await watcher.ok({ t: 'sub', ev: 'lapse' });
    const made = await Promise.all(Array.from({ length: 24 }, (_, i) => checkout(buyers[i % 3]!, 'lapse', [i * 2, i * 2 + 1], `order-l${i}`)));
    const paid = made[0]!;
    expect((await signedCall(`/bookings/${paid.ref as string}/confirm`, '')).status).toBe(200);
    const unpaid = made.slice(1);
    const ids = unpaid.map((m) => m.id as string);
    // past payBy (1.5 s), both nodes' expiry loops (every 100 ms) race for them
    const states = await eventually(
      () => queryGatewayDb(gw.prefix, 'SELECT state, count(*)::int AS n FROM bookings WHERE event_id = $1 GROUP BY state ORDER BY state', ['lapse']),
      (rows) => rows.some((r) => r.state === 'expired' && r.n === unpaid.length),
      10_000,
      'every unpaid booking expired',
    );
    expect(states).toEqual([
      { state: 'confirmed', n: 1 },
      { state: 'expired', n: unpaid.length },
    ]);
    // once each: one history row, one log entry per booking
    const expiredRows = await queryGatewayDb(gw.prefix, "SELECT booking_id::text AS id, count(*)::int AS n FROM booking_history WHERE action = 'expire' GROUP BY booking_id", []);
    expect(expiredRows.filter((r) => ids.includes(r.id as string)).map((r) => r.n)).toEqual(ids.map(() => 1));
    const logRows = await queryGatewayDb(gw.prefix, "SELECT booking_id::text AS id FROM event_log WHERE event_id = $1 AND type = 'booking.expired'", ['lapse']);
    expect(logRows.map((r) => r.id).sort()).toEqual([...ids].sort());
    // seats free in Redis and for the watcher on the other node; the paid booking's stay booked
    const freedSeats = unpaid.flatMap((m) => m.seats as number[]);
    const view = await watcher.until('lapse', (v) => freedSeats.every((s) => v.status[s] === SeatState.FREE), 5000);
    expect(view.status[0]).toBe(SeatState.BOOKED);
    expect(view.status[1]).toBe(SeatState.BOOKED);
    expect(Buffer.from(view.status).equals((await gw.store.snapshot('lapse'))!.status)).toBe(true);
    expect(await queryGatewayDb(gw.prefix, 'SELECT count(*)::int AS n FROM seat_releases WHERE event_id = $1', ['lapse'])).toEqual([{ n: 0 }]);
    // a payment arriving after the expiry is refused: the seats may be sold again
    const late = await signedCall(`/bookings/${unpaid[0]!.ref as string}/confirm`, '');
    expect(late.status).toBe(409);
    // the nodes' metrics add up to one expiry per booking
    const counted = await Promise.all([gw, second].map(async (node) => (await node.node.metrics.paymentsExpired.get()).values[0]?.value ?? 0));
    expect(counted[0]! + counted[1]!).toBe(unpaid.length);
  });

  it('several expirers racing on the same due bookings expire each exactly once', async () => {
    const buyer = await client('race-buyer');
    const made = [];
    for (let i = 0; i < 30; i++) made.push(await checkout(buyer, 'race', [i], `order-r${i}`));
    const expiredByNodes = async () => (await Promise.all([gw, second].map(async (n) => (await n.node.metrics.paymentsExpired.get()).values[0]?.value ?? 0))).reduce((a, b) => a + b, 0);
    const nodesBefore = await expiredByNodes();
    // the two gateways' loops are two contenders; six more, one booking per transaction, on their own pools
    const pools = Array.from({ length: 6 }, () => new pg.Pool({ connectionString: pool.options.connectionString, max: 2 }));
    try {
      const expirers = pools.map((p) => new PaymentExpiry({ pool: p, store: gw.store, intervalMs: 0, batchSize: 1 }));
      // all 30 fall due at the same moment, and the race starts at once
      await pool.query("UPDATE bookings SET pay_by = now() - interval '1 second' WHERE event_id = 'race'");
      const counts = await Promise.all(expirers.map((e) => e.expireDue()));
      // a racer stops when every due booking left is locked by another contender: wait for those to commit
      const rows = await eventually(
        () =>
          queryGatewayDb(
            gw.prefix,
            "SELECT b.id::text AS id, b.state, (SELECT count(*)::int FROM booking_history h WHERE h.booking_id = b.id AND h.action = 'expire') AS n FROM bookings b WHERE b.event_id = $1",
            ['race'],
          ),
        (list) => list.every((r) => r.state === 'expired'),
        5000,
        'every booking expired',
      );
      expect(rows).toHaveLength(made.length);
      for (const r of rows) expect(r, `booking ${r.id as string}`).toMatchObject({ state: 'expired', n: 1 });
      // every booking was expired by exactly one contender
      await eventually(expiredByNodes, (n) => counts.reduce((a, b) => a + b, 0) + n - nodesBefore === made.length, 2000, 'the expiries to add up');
      const snap = (await gw.store.snapshot('race'))!;
      expect(made.every((m) => snap.status[(m.seats as number[])[0]!] === SeatState.FREE)).toBe(true);
    } finally {
      await Promise.all(pools.map((p) => p.end()));
    }
  });
});

describe('rebuild from Postgres', () => {
  it('keeps the seats of bookings awaiting payment and checked in; they still confirm and fail afterwards', async () => {
    const buyer = await client('kept-buyer');
    const pending = await checkout(buyer, 'kept', [1, 2], 'order-k1');
    const failing = await checkout(buyer, 'kept', [5], 'order-k2');
    const held = await buyer.ok({ t: 'hold', ev: 'kept', seats: [8, 9] });
    const booked = await buyer.ok({ t: 'book', ev: 'kept', tok: held.tok as string, key: 'order-k3' });
    const door = await token('gate-7', 'seats:door');
    const scan = await apiFetch(`${gw.httpUrl}/events/kept/bookings/${booked.ref as string}/check-in`, {
      method: 'POST',
      headers: { authorization: `Bearer ${door}` },
      body: JSON.stringify({ seats: [8] }),
    });
    expect(scan.status).toBe(200);

    await gw.store.deleteEvent('kept'); // Redis loses the event
    const outcome = await rebuildEvent(pool, gw.store, 'kept');
    expect(outcome).toMatchObject({ status: 'rebuilt', booked: 5 });
    const snap = (await gw.store.snapshot('kept'))!;
    expect([1, 2, 5, 8, 9].map((s) => snap.status[s])).toEqual([1, 2, 5, 8, 9].map(() => SeatState.BOOKED));
    const [{ n }] = (await queryGatewayDb(gw.prefix, "SELECT count(*)::int AS n FROM event_log WHERE event_id = 'kept' AND type = 'event.rebuilt'")) as [{ n: number }];
    expect(n).toBe(1);

    expect((await signedCall(`/bookings/${pending.ref as string}/confirm`, '')).status).toBe(200);
    const fail = await signedCall(`/bookings/${failing.ref as string}/fail`, '');
    expect(await fail.json()).toMatchObject({ freed: 1, booking: { state: 'failed' } });
    const after = (await gw.store.snapshot('kept'))!;
    expect([after.status[1], after.status[5], after.status[8], after.status[9]]).toEqual([SeatState.BOOKED, SeatState.FREE, SeatState.BOOKED, SeatState.BOOKED]);
  });
});

describe('the second node also answers', () => {
  it('payment callbacks and the admin API read the same Postgres', async () => {
    const done = await checkout(await client('buyer-9'), 'pay', [50], 'order-p9');
    const res = await admin(`/bookings/${done.id as string}/confirm`, { method: 'POST' }, second.httpUrl);
    expect(await res.json()).toMatchObject({ changed: true, booking: { state: 'confirmed' } });
    const got = await admin(`/events/pay/bookings/${done.ref as string}`);
    expect(await got.json()).toMatchObject({ state: 'confirmed', payBy: expect.any(String), history: [{ action: 'checkout' }, { action: 'confirm' }] });
  });
});
