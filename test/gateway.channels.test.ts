/**
 * Sales channels over real WebSockets and HTTP (docs/protocol.md#sales-channels,
 * docs/bookings.md#sales-channels): an outsider sees reserved seats as 4 and is
 * refused with reason channel; a member (the `chan` claim) gets the overlay
 * after its snapshot and holds them; a channel's releaseAt puts its free
 * seats on sale live, in one diff; the admin API's answers match the OpenAPI document.
 */
import type { Availability } from '../gateway/event-routes.js';
import { SignJWT } from 'jose';
import WebSocket from 'ws';
import { SeatMapClient } from '../core/client/index.js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { mintDevToken } from '../gateway/auth.js';
import { apiFetch } from './support/openapi.js';
import { startTestGateway, token, TEST_JWT_SECRET, wipePrefix, createVenueEvent, type TestGateway } from './support/gateway.js';
import { TestClient } from './support/ws-client.js';
import type { ServerMessage } from '../core/protocol/index.js';

let gw: TestGateway;
let admin: string;
const clients: TestClient[] = [];
const sdkClients: SeatMapClient[] = [];
const EV = 'presale-ws';

async function connect(t: string): Promise<TestClient> {
  const c = await TestClient.connect(gw.wsUrl, { token: t });
  clients.push(c);
  return c;
}
function member(sub: string, chan: string | string[]): Promise<string> {
  return mintDevToken(TEST_JWT_SECRET, { sub, scope: 'seats:read seats:hold seats:book', chan });
}
async function put(ev: string, key: string, body: unknown): Promise<Response> {
  return apiFetch(`${gw.httpUrl}/events/${ev}/channels/${key}`, { method: 'PUT', headers: { Authorization: `Bearer ${admin}`, 'Content-Type': 'application/json' }, body: JSON.stringify(body) });
}
const statusOf = (m: ServerMessage) => (m as { st: Uint8Array }).st;

beforeAll(async () => {
  gw = await startTestGateway();
  admin = await token('ops', 'admin');
  await createVenueEvent(gw.store, EV, 100);
}, 60_000);

afterAll(async () => {
  for (const c of clients) c.ws.terminate();
  for (const c of sdkClients) c.close();
  await gw?.stop();
  if (gw) await wipePrefix(gw.prefix);
});

describe('sales channels over the protocol', () => {
  it('outsiders see 4 and are refused with reason channel; members get the overlay and hold', async () => {
    const r = await put(EV, 'fanclub', { seats: [10, 11, 12, 13, 20] });
    expect(r.status).toBe(200);
    expect(await r.json()).toMatchObject({ key: 'fanclub', seats: [10, 11, 12, 13, 20], skipped: [], releaseAt: null });

    const outsider = await connect(await token('out'));
    const outSnap = outsider.next((m) => m.t === 'snap' && m.ev === EV);
    expect(await outsider.request({ t: 'sub', ev: EV })).toMatchObject({ t: 'ok' });
    const st = statusOf(await outSnap);
    expect([st[9], st[10], st[13], st[20], st[21]]).toEqual([0, 4, 4, 4, 0]);
    expect(outsider.messages.some((m) => m.t === 'chan')).toBe(false);
    const refused = await outsider.request({ t: 'hold', ev: EV, seats: [9, 10] });
    expect(refused).toMatchObject({ t: 'err', code: 'UNAVAILABLE', reason: 'channel', seats: [10] });
    expect(String((refused as { msg?: string }).msg)).toMatch(/sales channel/);

    const fan = await connect(await member('fan', ['press', 'fanclub']));
    const order: string[] = [];
    const chan = fan.next((m) => 'ev' in m && m.ev === EV && (order.push(m.t), m.t === 'chan'));
    expect(await fan.request({ t: 'sub', ev: EV })).toMatchObject({ t: 'ok' });
    expect(await chan).toEqual({ t: 'chan', ev: EV, keys: ['fanclub'], seats: [10, 13, 20, 20] });
    expect(order).toEqual(['snap', 'chan']); // one overlay, after the snapshot, then ordinary diffs
    const diff = outsider.next((m) => m.t === 'diff' && m.ev === EV);
    expect(await fan.request({ t: 'hold', ev: EV, seats: [10, 11] })).toMatchObject({ t: 'ok' });
    expect(await diff).toMatchObject({ ch: [10, 1, 11, 1] });
    // best available does not pick reserved seats for the outsider
    const best = await outsider.request({ t: 'hold', ev: EV, best: { n: 2 } });
    expect(best).toMatchObject({ t: 'ok' });
    for (const seat of (best as unknown as { seats: number[] }).seats) expect([10, 11, 12, 13, 20]).not.toContain(seat);

    const metrics = await (await fetch(`${gw.httpUrl}/metrics`)).text();
    expect(metrics).toMatch(/seatmap_refusals_total\{[^}]*reason="channel"[^}]*\} 1/);
  });

  it('a malformed chan claim refuses the token (close 4001)', async () => {
    const bad = async (chan: unknown) =>
      new SignJWT({ scope: 'seats:read seats:hold', chan }).setProtectedHeader({ alg: 'HS256' }).setSubject('x').setExpirationTime('1h').sign(new TextEncoder().encode(TEST_JWT_SECRET));
    for (const chan of ['has space', ['ok', 5], Array.from({ length: 17 }, (_, i) => `k${i}`), 'x'.repeat(33), { key: 'a' }]) {
      await expect(TestClient.connect(gw.wsUrl, { token: await bad(chan) })).rejects.toThrow(/4001/);
    }
  });

  it('at releaseAt the channel\'s free seats go public live, in one diff', async () => {
    const ev = 'presale-release';
    await createVenueEvent(gw.store, ev, 100);
    const watcher = await connect(await token('w'));
    await watcher.request({ t: 'sub', ev });
    const releaseAt = Date.now() + 2500;
    const reserved = watcher.next((m) => m.t === 'diff' && m.ev === ev);
    const r = await put(ev, 'sponsor', { seats: [1, 2, 3, 4], releaseAt: new Date(releaseAt).toISOString() });
    expect(await r.json()).toMatchObject({ seats: [1, 2, 3, 4], releaseAt });
    expect(((await reserved) as { ch: number[] }).ch).toEqual([1, 4, 2, 4, 3, 4, 4, 4]);
    const fan = await connect(await member('sp', 'sponsor'));
    await fan.request({ t: 'sub', ev });
    const held = watcher.next((m) => m.t === 'diff' && m.ev === ev && (m as { ch: number[] }).ch[1] === 1);
    expect(await fan.request({ t: 'hold', ev, seats: [4] })).toMatchObject({ t: 'ok' });
    await held;
    const released = await watcher.next((m) => m.t === 'diff' && m.ev === ev && (m as { ch: number[] }).ch.includes(0), 8000);
    expect((released as { ch: number[] }).ch).toEqual([1, 0, 2, 0, 3, 0]);
    expect(Date.now()).toBeGreaterThanOrEqual(releaseAt);
    expect(await watcher.request({ t: 'hold', ev, seats: [1, 2] })).toMatchObject({ t: 'ok' });
    const gone = await apiFetch(`${gw.httpUrl}/events/${ev}/channels/sponsor`, { headers: { Authorization: `Bearer ${admin}` } });
    expect(gone.status).toBe(404);
  }, 20_000);

  it('the SDK reads a member\'s reserved seats as free, and an outsider\'s as 4, through diffs', async () => {
    const ev = 'presale-sdk';
    await createVenueEvent(gw.store, ev, 100);
    await put(ev, 'vip', { seats: [5, 6, 7] });
    const sdk = async (t: string) => {
      const c = new SeatMapClient({ url: gw.wsUrl, token: t, WebSocket });
      sdkClients.push(c);
      await c.connect();
      return c;
    };
    const until = async (ok: () => boolean, what: string) => {
      for (let i = 0; i < 200 && !ok(); i++) await new Promise((r) => setTimeout(r, 10));
      expect(ok(), what).toBe(true);
    };
    const vip = await sdk(await member('v', 'vip'));
    const out = await sdk(await token('o'));
    const keys: string[][] = [];
    vip.on('channels', (e) => keys.push(e.keys));
    vip.watch(ev);
    out.watch(ev);
    await until(() => vip.seats(ev)?.[5] === 0 && out.seats(ev)?.[5] === 4, 'the overlay applied');
    expect(keys).toEqual([['vip']]);
    expect([...vip.seats(ev)!.subarray(4, 9)]).toEqual([0, 0, 0, 0, 0]);
    expect([...out.seats(ev)!.subarray(4, 9)]).toEqual([0, 4, 4, 4, 0]);
    // a member's hold and release: the seat comes back reserved, which the member reads as free
    const held = await vip.hold(ev, [6]);
    await until(() => out.seats(ev)?.[6] === 1 && vip.seats(ev)?.[6] === 1, 'the hold seen');
    await vip.release(ev, held.tok);
    await until(() => out.seats(ev)?.[6] === 4 && vip.seats(ev)?.[6] === 0, 'the release seen');
    expect(vip.counts(ev)!.total.free).toBe(100);
    expect(out.counts(ev)!.total.free).toBe(97);
    // the channel changes while they watch: the member's overlay follows, live
    await put(ev, 'vip', { seats: [5, 6, 7, 8] });
    await until(() => out.seats(ev)?.[8] === 4 && vip.seats(ev)?.[8] === 0, 'the new seat free for the member');
    const deleted = await apiFetch(`${gw.httpUrl}/events/${ev}/channels/vip`, { method: 'DELETE', headers: { Authorization: `Bearer ${admin}` } });
    expect(deleted.status).toBe(200);
    await until(() => [5, 6, 7, 8].every((s) => out.seats(ev)?.[s] === 0 && vip.seats(ev)?.[s] === 0) && keys.length === 3, 'the release');
    expect(keys).toEqual([['vip'], ['vip'], []]);
  });

  it('the admin API: list, get, delete, refusals', async () => {
    const ev = 'presale-admin';
    await createVenueEvent(gw.store, ev, 100);
    const auth = { Authorization: `Bearer ${admin}` };
    expect((await put(ev, 'a', { seats: [0, 1] })).status).toBe(200);
    expect((await put(ev, 'b', { seats: [1, 2], releaseAt: 4_000_000_000_000 })).status).toBe(200);
    const list = await apiFetch(`${gw.httpUrl}/events/${ev}/channels`, { headers: auth });
    expect(await list.json()).toEqual({ channels: [{ key: 'a', seats: [0, 1], releaseAt: null }, { key: 'b', seats: [2], releaseAt: 4_000_000_000_000 }] });
    expect(await (await apiFetch(`${gw.httpUrl}/events/${ev}/channels/b`, { headers: auth })).json()).toEqual({ key: 'b', seats: [2], releaseAt: 4_000_000_000_000 });
    expect((await put(ev, 'bad key!', { seats: [1] })).status).toBe(400);
    expect((await put(ev, 'c', { seats: [100] })).status).toBe(400);
    expect((await put(ev, 'c', { releaseAt: 5 })).status).toBe(400);
    expect((await put(ev, 'c', { seats: [3], releaseAt: 'soon' })).status).toBe(400);
    expect((await put('no-such-event', 'c', { seats: [3] })).status).toBe(404);
    const del = await apiFetch(`${gw.httpUrl}/events/${ev}/channels/a`, { method: 'DELETE', headers: auth });
    expect(await del.json()).toMatchObject({ key: 'a', deleted: true, released: 2 });
    expect((await apiFetch(`${gw.httpUrl}/events/${ev}/channels/a`, { method: 'DELETE', headers: auth })).status).toBe(404);
    expect((await apiFetch(`${gw.httpUrl}/events/${ev}/channels/a`, { headers: auth })).status).toBe(404);
    expect((await apiFetch(`${gw.httpUrl}/events/${ev}/channels`, { headers: { Authorization: `Bearer ${await token('u')}` } })).status).toBe(403);
    const snap = await gw.store.snapshot(ev);
    expect([...snap!.status.subarray(0, 4)]).toEqual([0, 0, 4, 0]);
    const availability = (await (await apiFetch(`${gw.httpUrl}/events/${ev}/availability`)).json()) as { totals: unknown };
    expect(availability.totals).toEqual({ free: 99, held: 0, booked: 0, blocked: 0, reserved: 1 });
  });
  it('availability counts each channel\'s seats by state for an admin only; a bad token is refused', async () => {
    const ev = 'presale-availability';
    await createVenueEvent(gw.store, ev, 100);
    expect((await put(ev, 'club', { seats: [0, 1, 2, 3] })).status).toBe(200);
    expect((await put(ev, 'press', { seats: [50], releaseAt: 4_000_000_000_000 })).status).toBe(200);
    const clubber = await connect(await member('m', 'club'));
    expect(await clubber.request({ t: 'hold', ev, seats: [1, 2] })).toMatchObject({ t: 'ok' });
    const url = `${gw.httpUrl}/events/${ev}/availability`;

    const forAdmin = (await (await apiFetch(url, { headers: { Authorization: `Bearer ${admin}` } })).json()) as Availability;
    expect(forAdmin.channels).toEqual([
      { key: 'club', releaseAt: null, seats: 4, reserved: 2, held: 2, booked: 0, blocked: 0 },
      { key: 'press', releaseAt: 4_000_000_000_000, seats: 1, reserved: 1, held: 0, booked: 0, blocked: 0 },
    ]);
    expect(forAdmin.totals).toMatchObject({ reserved: 3, held: 2 });
    // the public answer, and a fan's, have no channels; a token that is not valid is refused, not ignored
    const anonymous = (await (await apiFetch(url)).json()) as Availability;
    expect(anonymous.channels).toBeUndefined();
    expect(anonymous.totals).toEqual(forAdmin.totals);
    expect(((await (await apiFetch(url, { headers: { Authorization: `Bearer ${await token('fan')}` } })).json()) as Availability).channels).toBeUndefined();
    const forged = await apiFetch(url, { headers: { Authorization: 'Bearer not.a.jwt' } });
    expect(forged.status).toBe(401);
    expect(await forged.json()).toMatchObject({ code: 'UNAUTHORIZED' });
    expect((await apiFetch(url, { headers: { Authorization: 'Basic abc' } })).status).toBe(401);
  });
});
