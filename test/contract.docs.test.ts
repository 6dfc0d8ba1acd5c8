/**
 * The docs are the contract: a client written only from docs/protocol.md,
 * docs/bookings.md and docs/gateway.md (raw WebSocket, raw MessagePack, raw
 * fetch; none of the project's protocol code) checks what the newest
 * features answer: general-admission places in hold, release, book of free
 * seats, snap and diff; block and unblock with `areas`, `sections`,
 * `categories`; availability; best available; swap; extend with `ms`; the
 * waiting room's `queue`; checkout and the payment callbacks. Then hostile
 * `ga`, `areas` and `seats`: each gets a documented error code, changes
 * nothing in Redis, and the connection goes on serving. The gateway is real,
 * on the test Redis and Postgres.
 */
import { decode, encode } from '@msgpack/msgpack';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import WebSocket from 'ws';
import type { OpenApiDocument } from '../gateway/openapi/index.js';
import { startTestGateway, token, wipePrefix, type TestGateway } from './support/gateway.js';
import { apiFetch, responseValidator, type ResponseValidator } from './support/openapi.js';

type Msg = Record<string, unknown> & { t: string };

/** Every error code docs/protocol.md's table lists, with the HTTP status it gives. */
const DOC_HTTP: Record<string, number> = {
  BAD_REQUEST: 400, UNAUTHORIZED: 401, FORBIDDEN: 403, NO_EVENT: 404, BAD_SEAT: 400, UNAVAILABLE: 409, NOT_HOLDER: 403,
  HOLD_LIMIT: 409, NO_BLOCK: 409, ORPHAN_SEAT: 409, EXPIRED: 410, RATE_LIMITED: 429, NOT_ADMITTED: 403, QUEUE_CLOSED: 409,
  CONFLICT: 409, PENDING: 503, REFUSED: 409, NOT_FOUND: 404, INTERNAL: 500,
};

/** A client of docs/protocol.md: `/ws`, subprotocol `seatmap.v1`, Bearer header, binary MessagePack maps. */
class RawClient {
  readonly inbox: Msg[] = [];
  private waiters: { match: (m: Msg) => boolean; resolve: (m: Msg) => void }[] = [];
  private rid = 0;
  closed: Promise<number>;

  private constructor(readonly ws: WebSocket) {
    ws.on('message', (data: Buffer, isBinary: boolean) => {
      expect(isBinary, 'the server never sends text frames').toBe(true);
      const m = decode(data) as Msg;
      expect(typeof m.t).toBe('string');
      const w = this.waiters.findIndex((x) => x.match(m));
      if (w >= 0) this.waiters.splice(w, 1)[0]!.resolve(m);
      else this.inbox.push(m);
    });
    this.closed = new Promise((resolve) => ws.on('close', (code) => resolve(code)));
  }

  static async open(url: string, jwt: string): Promise<{ client: RawClient; hello: Msg }> {
    const ws = new WebSocket(url, ['seatmap.v1'], { headers: { authorization: `Bearer ${jwt}` } });
    const client = new RawClient(ws);
    const hello = client.next((m) => m.t === 'hello', 5000);
    await new Promise<void>((resolve, reject) => {
      ws.once('open', () => resolve());
      ws.once('error', reject);
    });
    expect(ws.protocol).toBe('seatmap.v1');
    return { client, hello: await hello };
  }

  next(match: (m: Msg) => boolean, timeoutMs = 5000): Promise<Msg> {
    const i = this.inbox.findIndex(match);
    if (i >= 0) return Promise.resolve(this.inbox.splice(i, 1)[0]!);
    return new Promise((resolve, reject) => {
      const waiter = { match, resolve: (m: Msg) => (clearTimeout(timer), resolve(m)) };
      const timer = setTimeout(() => {
        this.waiters = this.waiters.filter((x) => x !== waiter);
        reject(new Error('no matching message'));
      }, timeoutMs);
      this.waiters.push(waiter);
    });
  }

  /** Sends a map with a fresh integer rid; resolves with the reply that carries it. */
  request(body: Record<string, unknown>): Promise<Msg> {
    const rid = ++this.rid;
    const reply = this.next((m) => (m.t === 'ok' || m.t === 'err' || m.t === 'pong') && m.rid === rid);
    this.ws.send(encode({ ...body, rid }));
    return reply;
  }

  /** Sends raw bytes; resolves with the err whose rid is null or the request's. */
  raw(bytes: Uint8Array, rid: number | null): Promise<Msg> {
    const reply = this.next((m) => m.t === 'err' && m.rid === rid);
    this.ws.send(bytes);
    return reply;
  }

  async alive(): Promise<void> {
    expect((await this.request({ t: 'ping' })).t).toBe('pong');
  }

  close(): void {
    this.ws.terminate();
  }
}

/** An `err` as docs/protocol.md#errors describes it, with the fields of its code. */
function expectErr(m: Msg, code: string, extra: Record<string, unknown> = {}): void {
  expect(m, JSON.stringify(m)).toMatchObject({ t: 'err', code, ...extra });
  expect(typeof m.msg).toBe('string');
  expect((m.msg as string).length).toBeGreaterThan(0);
  // docs/protocol.md#errors: msg says what happened to this request, naming the field; not the code's general sentence
  if (code === 'BAD_REQUEST') expect(m.msg, JSON.stringify(m)).not.toMatch(/^The request is malformed/);
  if (m.seats !== undefined) expect(isIntArray(m.seats)).toBe(true);
  if (m.reason === 'ga' && code !== 'BAD_REQUEST') {
    expect(isIntArray(m.areas)).toBe(true);
    if (code === 'UNAVAILABLE') expect(isIntArray(m.left) && (m.left as number[]).length === (m.areas as number[]).length).toBe(true);
  }
}

const isInt = (v: unknown): v is number => typeof v === 'number' && Number.isSafeInteger(v);
const isIntArray = (v: unknown): v is number[] => Array.isArray(v) && v.every(isInt);

let gw: TestGateway;
let admin: string;
/** the document the gateway serves at /openapi.json: every HTTP answer below is checked against it */
let served: ResponseValidator;
const clients: RawClient[] = [];

/** A layout of docs/layout.md: 2 seated sections of 10 seats in 2 categories, and 2 general-admission areas. */
const LAYOUT = {
  version: 1,
  name: 'Contract',
  categories: [
    { id: 'front', label: 'Front', price: 9000 },
    { id: 'back', label: 'Back', price: 5000 },
  ],
  settings: { maxSeatsPerToken: 10, maxSeatsPerHolder: 20 },
  sections: [
    { id: 'A', label: 'A', category: 'front', rows: [{ label: '1', seats: Array.from({ length: 10 }, (_, k) => ({ label: String(k + 1), x: k, y: 0 })) }] },
    { id: 'B', label: 'B', category: 'back', rows: [{ label: '1', seats: Array.from({ length: 10 }, (_, k) => ({ label: String(k + 1), x: k, y: 3 })) }] },
    { id: 'PIT', label: 'Pit', kind: 'ga', category: 'front', capacity: 6, shape: { x: 0, y: 6, width: 10, height: 4 } },
    { id: 'LAWN', label: 'Lawn', kind: 'ga', category: 'back', capacity: 2000, shape: { x: 0, y: 12, width: 10, height: 4 } },
  ],
};

async function http(method: string, path: string, body?: unknown, bearer = admin): Promise<{ status: number; json: Record<string, unknown> }> {
  const res = await apiFetch(`${gw.httpUrl}${path}`, {
    method,
    headers: { authorization: `Bearer ${bearer}`, ...(body !== undefined && { 'content-type': 'application/json' }) },
    body: body === undefined ? undefined : typeof body === 'string' ? body : JSON.stringify(body),
  }, served);
  const json = (await res.json()) as Record<string, unknown>;
  // docs/gateway.md#http-routes: errors are {code, msg} with the code's status
  if (res.status >= 400) {
    expect(typeof json.code, JSON.stringify(json)).toBe('string');
    expect(typeof json.msg).toBe('string');
    // the one documented pairing of a status with a code of another: 413 BAD_REQUEST, a body too large
    if (res.status === 413) expect(json).toMatchObject({ code: 'BAD_REQUEST', msg: 'body too large' });
    else expect(res.status, `${method} ${path}: ${JSON.stringify(json)}`).toBe(DOC_HTTP[json.code as string]);
  }
  return { status: res.status, json };
}

async function createEvent(id: string): Promise<void> {
  const created = await http('POST', '/events', { id, layout: LAYOUT });
  expect(created.status, JSON.stringify(created.json)).toBe(201);
  expect(created.json).toMatchObject({ id, seatCount: 20 });
  expect(isInt(created.json.epoch)).toBe(true);
}

async function open(sub: string, scope = 'seats:read seats:hold seats:book'): Promise<RawClient> {
  const { client } = await RawClient.open(gw.wsUrl, await token(sub, scope));
  clients.push(client);
  return client;
}

/** What an event is in Redis: seq, status bytes and the areas' counters (what "changes nothing" is checked on). */
async function state(ev: string): Promise<unknown> {
  const snap = await gw.store.snapshot(ev);
  return { seq: snap?.seq, epoch: snap?.epoch, st: Buffer.from(snap!.status).toString('hex'), ga: await gw.store.areaCounters(ev) };
}

/**
 * snap.ga of a fresh subscription ([area, free, held, booked, …]) once the
 * snap is at `seq` at least: a server's copy may be a few changes behind an
 * `ok` (docs/protocol.md#operations-and-the-diff-stream), so a client waits
 * for its `seq`, here by subscribing again.
 */
async function snapGa(c: RawClient, ev: string, seq = 0): Promise<number[]> {
  for (let attempt = 0; ; attempt++) {
    const snap = c.next((m) => m.t === 'snap' && m.ev === ev);
    const ok = await c.request({ t: 'sub', ev });
    expect(ok).toMatchObject({ t: 'ok', ev });
    expect(isInt(ok.epoch) && isInt(ok.seq)).toBe(true);
    const s = await snap;
    expect(s.st).toBeInstanceOf(Uint8Array);
    expect((s.st as Uint8Array).length).toBe(20);
    expect(s.seq).toBe(ok.seq);
    await c.request({ t: 'unsub', ev });
    expect(isIntArray(s.ga)).toBe(true);
    if ((s.seq as number) >= seq || attempt === 50) return s.ga as number[];
    await new Promise((r) => setTimeout(r, 20));
  }
}

beforeAll(async () => {
  gw = await startTestGateway({ OPS_PER_SECOND: '100000', OPS_BURST: '100000' });
  admin = await token('ops', 'admin');
  const doc = await fetch(`${gw.httpUrl}/openapi.json`);
  expect(doc.status).toBe(200);
  served = responseValidator((await doc.json()) as OpenApiDocument);
}, 60_000);

afterAll(async () => {
  for (const c of clients) c.close();
  await gw?.stop();
  if (gw) await wipePrefix(gw.prefix);
});

describe('hello', () => {
  it('carries the documented fields and types', async () => {
    const { client, hello } = await RawClient.open(gw.wsUrl, await token('h1'));
    clients.push(client);
    expect(hello).toMatchObject({ t: 'hello', v: 1, sub: 'h1' });
    expect(hello.scopes).toEqual(expect.arrayContaining(['seats:read', 'seats:hold', 'seats:book']));
    expect(isInt(hello.exp)).toBe(true);
    const limits = hello.limits as Record<string, unknown>;
    for (const f of ['maxFrameBytes', 'opsPerSecond', 'opsBurst', 'maxSubscriptions', 'maxSeatsPerRequest', 'maxConnectionsPerSubject', 'holderOpsPerSecond', 'holderOpsBurst', 'upgradesPerIpPerSecond']) {
      expect(isInt(limits[f]), f).toBe(true);
    }
  });
});

describe('general-admission areas over the protocol', () => {
  const EV = 'ct-ga';
  beforeAll(() => createEvent(EV));

  it('hold and release take ga; refusals carry reason, areas and left; snap and diff carry the counters', async () => {
    const alice = await open('ct-alice');
    const bob = await open('ct-bob');
    const watcher = await open('ct-watch', 'seats:read');
    expect(await snapGa(watcher, EV)).toEqual([0, 6, 0, 0, 1, 2000, 0, 0]);

    const held = await alice.request({ t: 'hold', ev: EV, ga: [[0, 4]] });
    expect(held).toMatchObject({ t: 'ok' });
    expect(typeof held.tok === 'string' && (held.tok as string).length <= 64).toBe(true);
    expect(isInt(held.exp) && isInt(held.seq)).toBe(true);
    expect(held.ev, 'ok replies to seat operations do not repeat ev').toBeUndefined();

    expectErr(await bob.request({ t: 'hold', ev: EV, seats: [1], ga: [[0, 3]] }), 'UNAVAILABLE', { reason: 'ga', areas: [0], left: [2] });
    expectErr(await bob.request({ t: 'hold', ev: EV, seats: [], ga: [[7, 1]] }), 'BAD_REQUEST', { reason: 'ga' });
    expectErr(await alice.request({ t: 'release', ev: EV, tok: held.tok, ga: [[0, 5]] }), 'NOT_HOLDER', { reason: 'ga', areas: [0] });
    expectErr(await alice.request({ t: 'release', ev: EV, tok: held.tok, ga: [[1, 1]] }), 'NOT_HOLDER', { reason: 'ga', areas: [1] });
    expectErr(await alice.request({ t: 'release', ev: EV, tok: held.tok, ga: [[9, 1]] }), 'BAD_REQUEST', { reason: 'ga' });
    // places count towards the seats per token (10 here) like seats
    expectErr(await bob.request({ t: 'hold', ev: EV, ga: [[1, 11]] }), 'HOLD_LIMIT');
    expectErr(await bob.request({ t: 'hold', ev: EV, seats: [1, 2, 3], ga: [[1, 8]] }), 'HOLD_LIMIT');

    const released = await alice.request({ t: 'release', ev: EV, tok: held.tok, ga: [[0, 1]] });
    expect(released).toMatchObject({ t: 'ok', n: 1 });
    expect(isInt(released.seq)).toBe(true);
    expect(await snapGa(watcher, EV, released.seq as number)).toEqual([0, 3, 3, 0, 1, 2000, 0, 0]);

    // a watcher: a change of places only is a diff with an empty ch and the final counters of the areas changed
    await watcher.request({ t: 'sub', ev: EV });
    await watcher.next((m) => m.t === 'snap' && m.ev === EV);
    const all = await alice.request({ t: 'release', ev: EV, tok: held.tok });
    expect(all).toMatchObject({ t: 'ok', n: 3 });
    // the diff that reaches the release's seq (the server's copy may have been a change behind at the sub)
    const d = await watcher.next((m) => m.t === 'diff' && m.ev === EV && (m.to as number) >= (all.seq as number));
    expect(d).toMatchObject({ ch: [], ga: [0, 6, 0, 0] });
    expect(isInt(d.from) && isInt(d.to) && (d.to as number) > (d.from as number)).toBe(true);
    await watcher.request({ t: 'unsub', ev: EV });
  });

  it('tok tells the holder its places; a release that leaves places does not end the token', async () => {
    const dave = await open('ct-dave');
    const tab = await open('ct-dave'); // another connection of the same holder
    const held = await dave.request({ t: 'hold', ev: EV, ga: [[1, 4]] });
    const first = await tab.next((m) => m.t === 'tok' && m.tok === held.tok);
    expect(first).toMatchObject({ ev: EV, seats: [], ga: [[1, 4]], exp: held.exp });
    const withSeat = await dave.request({ t: 'hold', ev: EV, tok: held.tok, seats: [3], ga: [[0, 1]] });
    expect(await tab.next((m) => m.t === 'tok' && m.tok === held.tok && m.exp === withSeat.exp)).toMatchObject({ seats: [3], ga: [[0, 1], [1, 4]] });
    expect((await dave.request({ t: 'release', ev: EV, tok: held.tok, seats: [3] })).t).toBe('ok');
    const afterSeat = await tab.next((m) => (m.t === 'tok' || m.t === 'tokend') && m.tok === held.tok && !(m.t === 'tok' && (m.seats as number[]).length > 0));
    expect(afterSeat, JSON.stringify(afterSeat)).toMatchObject({ t: 'tok', seats: [], ga: [[0, 1], [1, 4]] });
    expect((await dave.request({ t: 'release', ev: EV, tok: held.tok, ga: [[1, 1]] })).t).toBe('ok');
    expect(await tab.next((m) => (m.t === 'tok' || m.t === 'tokend') && m.tok === held.tok)).toMatchObject({ t: 'tok', seats: [], ga: [[0, 1], [1, 3]] });
    expect((await dave.request({ t: 'release', ev: EV, tok: held.tok })).t).toBe('ok');
    expect(await tab.next((m) => (m.t === 'tok' || m.t === 'tokend') && m.tok === held.tok)).toMatchObject({ t: 'tokend', reason: 'released' });
  });

  it('book and checkout of a token with places say the places booked (ga), replays too', async () => {
    const carol = await open('ct-carol');
    const held = await carol.request({ t: 'hold', ev: EV, seats: [9], ga: [[1, 2]] });
    expect((await carol.request({ t: 'hold', ev: EV, tok: held.tok, ga: [[0, 1]] })).t).toBe('ok');
    const booked = await carol.request({ t: 'book', ev: EV, tok: held.tok, key: 'carol-1' });
    expect(booked, JSON.stringify(booked)).toMatchObject({ t: 'ok', seats: [9], ga: [[0, 1], [1, 2]], replayed: false, state: 'confirmed' });
    expect(await carol.request({ t: 'book', ev: EV, tok: held.tok, key: 'carol-1' })).toMatchObject({ t: 'ok', replayed: true, seats: [9], ga: [[0, 1], [1, 2]] });
    const placesOnly = await carol.request({ t: 'hold', ev: EV, ga: [[1, 1]] });
    const co = await carol.request({ t: 'checkout', ev: EV, tok: placesOnly.tok, key: 'carol-2' });
    expect(co, JSON.stringify(co)).toMatchObject({ t: 'ok', seats: [], ga: [[1, 1]], state: 'pending_payment' });
    const seatsOnly = await carol.request({ t: 'hold', ev: EV, seats: [8] });
    const plain = await carol.request({ t: 'book', ev: EV, tok: seatsOnly.tok, key: 'carol-3' });
    expect(plain).toMatchObject({ t: 'ok', seats: [8] });
    expect(plain.ga).toBeUndefined();
    // give the places back for the box-office test below: fail the checkout, cancel the bookings
    expect((await http('POST', `/bookings/${co.id as string}/fail`, {})).status).toBe(200);
    for (const b of [booked, plain]) expect((await http('POST', `/events/${EV}/bookings/${b.id as string}/cancel`, {})).status).toBeLessThan(300);
    expect(await gw.store.areaCounters(EV)).toEqual([
      { capacity: 6, held: 0, booked: 0, blocked: 0 },
      { capacity: 2000, held: 0, booked: 0, blocked: 0 },
    ]);
  });

  it('the box office books free seats and places without a token, idempotent on key', async () => {
    const clerk = await open('ct-clerk', 'seats:read seats:box-office');
    const buyer = await open('ct-buyer');
    expectErr(await buyer.request({ t: 'book', ev: EV, seats: [15], key: 'no-scope' }), 'FORBIDDEN');
    expectErr(await buyer.request({ t: 'book', ev: EV, ga: [[1, 1]], key: 'no-scope' }), 'FORBIDDEN');
    // seats:box-office does not allow hold
    expectErr(await clerk.request({ t: 'hold', ev: EV, seats: [15] }), 'FORBIDDEN');

    const sold = await clerk.request({ t: 'book', ev: EV, seats: [15, 14], ga: [[1, 3], [0, 2]], key: 'till-1' });
    expect(sold, JSON.stringify(sold)).toMatchObject({ t: 'ok', replayed: false, state: 'confirmed', ga: [[0, 2], [1, 3]] });
    expect([...(sold.seats as number[])].sort()).toEqual([14, 15]);
    expect(typeof sold.id).toBe('string');
    expect(sold.reference).toMatch(/^SM-/);
    expect(sold.ref).toBe(sold.reference);
    expect(isInt(sold.seq)).toBe(true);

    const again = await clerk.request({ t: 'book', ev: EV, seats: [14, 15], ga: [[0, 2], [1, 3]], key: 'till-1' });
    expect(again).toMatchObject({ t: 'ok', replayed: true, id: sold.id, seq: sold.seq });
    const before = await state(EV);
    expectErr(await clerk.request({ t: 'book', ev: EV, seats: [14, 15], ga: [[0, 1], [1, 3]], key: 'till-1' }), 'CONFLICT');
    expectErr(await clerk.request({ t: 'book', ev: EV, ga: [[0, 5]], key: 'till-2' }), 'UNAVAILABLE', { reason: 'ga', areas: [0], left: [4] });
    expectErr(await clerk.request({ t: 'book', ev: EV, seats: [14, 13], key: 'till-3' }), 'UNAVAILABLE', { seats: [14] });
    expectErr(await clerk.request({ t: 'book', ev: EV, ga: [[5, 1]], key: 'till-4' }), 'BAD_REQUEST', { reason: 'ga' });
    expectErr(await clerk.request({ t: 'book', ev: EV, seats: [99], key: 'till-5' }), 'BAD_SEAT', { seats: [99] });
    expect(await state(EV)).toEqual(before);
    expect(await snapGa(clerk, EV, sold.seq as number)).toEqual([0, 4, 0, 2, 1, 1997, 0, 3]);

    // the same key, seats and places return the first booking whatever happened since: cancelled here
    const small = await clerk.request({ t: 'book', ev: EV, ga: [[1, 1]], key: 'till-9' });
    expect(small).toMatchObject({ t: 'ok', ga: [[1, 1]] });
    expect((await http('POST', `/events/${EV}/bookings/${small.id as string}/cancel`, {})).status).toBeLessThan(300);
    const replay = await clerk.request({ t: 'book', ev: EV, ga: [[1, 1]], key: 'till-9' });
    expect(replay, JSON.stringify(replay)).toMatchObject({ t: 'ok', replayed: true, id: small.id, state: 'cancelled' });
    expectErr(await clerk.request({ t: 'book', ev: EV, ga: [[1, 2]], key: 'till-9' }), 'CONFLICT');
    // and after some of its seats were cancelled
    const pair = await clerk.request({ t: 'book', ev: EV, seats: [16, 17], key: 'till-10' });
    expect(pair.t).toBe('ok');
    expect((await http('POST', `/events/${EV}/bookings/${pair.id as string}/cancel`, { seats: [17] })).status).toBeLessThan(300);
    const again10 = await clerk.request({ t: 'book', ev: EV, seats: [17, 16], key: 'till-10' });
    expect(again10, JSON.stringify(again10)).toMatchObject({ t: 'ok', replayed: true, id: pair.id });
  });
});

describe('an event without areas', () => {
  it('snap has no ga, and a hold with ga is BAD_REQUEST reason ga', async () => {
    const plain = { ...LAYOUT, sections: LAYOUT.sections.filter((s) => s.kind !== 'ga') };
    expect((await http('POST', '/events', { id: 'ct-plain', layout: plain })).status).toBe(201);
    const c = await open('ct-plain');
    const snap = c.next((m) => m.t === 'snap' && m.ev === 'ct-plain');
    await c.request({ t: 'sub', ev: 'ct-plain' });
    const s = await snap;
    expect('ga' in s).toBe(false);
    expectErr(await c.request({ t: 'hold', ev: 'ct-plain', ga: [[0, 1]] }), 'BAD_REQUEST', { reason: 'ga' });
    const a = (await (await apiFetch(`${gw.httpUrl}/events/ct-plain/availability`, undefined, served)).json()) as Record<string, unknown>;
    expect(a.areas).toEqual([]);
  });
});

describe('block and unblock over HTTP', () => {
  const EV = 'ct-block';
  beforeAll(() => createEvent(EV));

  it('areas: places off sale and back, all or nothing with the seats, refusals with reason ga, areas and left', async () => {
    const watcher = await open('ct-bw', 'seats:read');
    const b1 = await http('POST', `/events/${EV}/block`, { seats: [0], areas: [[0, 2]] });
    expect(b1.status).toBe(200);
    expect(isInt(b1.json.seq)).toBe(true);
    expect(await snapGa(watcher, EV, b1.json.seq as number)).toEqual([0, 4, 0, 0, 1, 2000, 0, 0]);

    const before = await state(EV);
    const tooMany = await http('POST', `/events/${EV}/block`, { seats: [1], areas: [[0, 5]] });
    expect(tooMany.status).toBe(409);
    expect(tooMany.json).toMatchObject({ code: 'UNAVAILABLE', reason: 'ga', areas: [0], left: [4] });
    const unblockTooMany = await http('POST', `/events/${EV}/unblock`, { areas: [[0, 3]] });
    expect(unblockTooMany.status).toBe(409);
    expect(unblockTooMany.json).toMatchObject({ code: 'CONFLICT', reason: 'ga', areas: [0], left: [2] });
    const unknown = await http('POST', `/events/${EV}/block`, { areas: [[4, 1]] });
    expect(unknown.status).toBe(400);
    expect(unknown.json).toMatchObject({ code: 'BAD_REQUEST', reason: 'ga' });
    const withSections = await http('POST', `/events/${EV}/block`, { areas: [[0, 1]], sections: ['A'] });
    expect(withSections.status).toBe(400);
    expect(withSections.json.code).toBe('BAD_REQUEST');
    const seatTaken = await http('POST', `/events/${EV}/block`, { seats: [0], areas: [[0, 1]] });
    expect(seatTaken.status).toBe(409);
    expect(seatTaken.json).toMatchObject({ code: 'UNAVAILABLE', seats: [0] });
    expect(await state(EV)).toEqual(before);

    // watchers: one diff, with the seat in ch and the area's counters in ga; seq grows by one
    await watcher.request({ t: 'sub', ev: EV });
    await watcher.next((m) => m.t === 'snap' && m.ev === EV);
    const u1 = await http('POST', `/events/${EV}/unblock`, { seats: [0], areas: [[0, 2]] });
    expect(u1.status).toBe(200);
    expect(u1.json.seq).toBe((b1.json.seq as number) + 1);
    const d = await watcher.next((m) => m.t === 'diff' && m.ev === EV && (m.to as number) >= (u1.json.seq as number));
    expect(d).toMatchObject({ ch: [0, 0], ga: [0, 6, 0, 0] });
    await watcher.request({ t: 'unsub', ev: EV });
    expect(await snapGa(watcher, EV, u1.json.seq as number)).toEqual([0, 6, 0, 0, 1, 2000, 0, 0]);
  });

  it('sections and categories: a bulk call answers what moved and what was left', async () => {
    const buyer = await open('ct-bb');
    const held = await buyer.request({ t: 'hold', ev: EV, seats: [12] });
    expect(held.t).toBe('ok');
    const bulk = await http('POST', `/events/${EV}/block`, { sections: ['A'], categories: ['back'] });
    expect(bulk.status).toBe(200);
    expect(bulk.json).toMatchObject({ changed: 19, unchanged: 0, held: [12], booked: [] });
    expect(isInt(bulk.json.seq)).toBe(true);
    const again = await http('POST', `/events/${EV}/block`, { sections: ['A'], categories: ['back'] });
    expect(again.json).toMatchObject({ seq: bulk.json.seq, changed: 0, unchanged: 19 });
    const unknown = await http('POST', `/events/${EV}/unblock`, { sections: ['Z9'], categories: ['nope'] });
    expect(unknown.status).toBe(400);
    expect(unknown.json.msg).toMatch(/Z9/);
    const back = await http('POST', `/events/${EV}/unblock`, { sections: ['A', 'B'] });
    expect(back.json).toMatchObject({ changed: 19, unchanged: 0, held: [12] });
  });
});

describe('availability', () => {
  const EV = 'ct-avail';
  beforeAll(() => createEvent(EV));

  it('answers the documented fields: totals, categories and sections with their largest free block', async () => {
    const buyer = await open('ct-av');
    expect((await buyer.request({ t: 'hold', ev: EV, seats: [4] })).t).toBe('ok');
    const res = await apiFetch(`${gw.httpUrl}/events/${EV}/availability`, undefined, served);
    expect(res.status).toBe(200);
    expect(res.headers.get('cache-control')).toBe('no-cache');
    const a = (await res.json()) as Record<string, unknown>;
    expect(a).toMatchObject({ id: EV, seatCount: 20, totals: { free: 19, held: 1, booked: 0, blocked: 0 } });
    expect(isInt(a.epoch) && isInt(a.seq)).toBe(true);
    const front = (a.categories as Record<string, unknown>[]).find((c) => c.id === 'front');
    expect(front).toMatchObject({ label: 'Front', free: 9, held: 1, booked: 0, blocked: 0, largestBlock: { size: 5, first: 5 } });
    const sectionA = (a.sections as Record<string, unknown>[]).find((c) => c.id === 'A');
    expect(sectionA).toMatchObject({ free: 9, held: 1, largestBlock: { size: 5, first: 5 } });
    // the general-admission areas: places by state, after a hold and a block of places
    const placed = await buyer.request({ t: 'hold', ev: EV, ga: [[1, 7]] });
    expect((await http('POST', `/events/${EV}/block`, { areas: [[0, 2]] })).status).toBe(200);
    let areas: unknown;
    for (let i = 0; i < 50; i++) {
      const now = (await (await apiFetch(`${gw.httpUrl}/events/${EV}/availability`, undefined, served)).json()) as Record<string, unknown>;
      areas = now.areas;
      if ((now.seq as number) >= (placed.seq as number) + 1) break;
      await new Promise((r) => setTimeout(r, 20));
    }
    expect(areas).toEqual([
      { area: 0, id: 'PIT', label: 'Pit', capacity: 6, free: 4, held: 0, booked: 0, blocked: 2 },
      { area: 1, id: 'LAWN', label: 'Lawn', capacity: 2000, free: 1993, held: 7, booked: 0, blocked: 0 },
    ]);
    // the same from this node's room, once a watcher has it loaded
    const watcher = await open('ct-avw', 'seats:read');
    await snapGa(watcher, EV, (placed.seq as number) + 1);
    await watcher.request({ t: 'sub', ev: EV });
    const fromRoom = (await (await apiFetch(`${gw.httpUrl}/events/${EV}/availability`, undefined, served)).json()) as Record<string, unknown>;
    expect(fromRoom.areas).toEqual(areas);
    const missing = await http('GET', '/events/ct-none/availability');
    expect(missing.status).toBe(404);
  });
});

describe('best available, swap and extend', () => {
  const EV = 'ct-ops';
  beforeAll(() => createEvent(EV));

  it('best: picks and holds adjacent seats; documented refusals', async () => {
    const c = await open('ct-best');
    const best = await c.request({ t: 'hold', ev: EV, best: { n: 3, categories: ['back'] } });
    expect(best, JSON.stringify(best)).toMatchObject({ t: 'ok', together: true });
    const seats = best.seats as number[];
    expect(seats.length).toBe(3);
    expect(seats.every((s) => s >= 10 && s < 20)).toBe(true);
    expect([...seats].sort((x, y) => x - y)).toEqual(seats);
    expect(seats[2]! - seats[0]!).toBe(2);
    expect(typeof best.tok === 'string' && isInt(best.exp) && isInt(best.seq)).toBe(true);
    const before = await state(EV);
    expectErr(await c.request({ t: 'hold', ev: EV, best: { n: 2, categories: ['nope'] } }), 'BAD_REQUEST', { reason: 'categories' });
    expectErr(await c.request({ t: 'hold', ev: EV, best: { n: 2, sections: ['Z'] } }), 'BAD_REQUEST', { reason: 'sections' });
    expectErr(await c.request({ t: 'hold', ev: EV, best: { n: 11 } }), 'BAD_REQUEST', { reason: 'n' });
    expectErr(await c.request({ t: 'hold', ev: EV, seats: [1], best: { n: 1 } }), 'BAD_REQUEST');
    // best picks seats only: places beside it would be dropped without a word
    expectErr(await c.request({ t: 'hold', ev: EV, ga: [[0, 1]], best: { n: 1 } }), 'BAD_REQUEST');
    const noBlock = await c.request({ t: 'hold', ev: EV, best: { n: 8, sections: ['B'] } });
    expectErr(noBlock, 'NO_BLOCK');
    expect(noBlock.largest).toBe(Math.max(seats[0]! - 10, 19 - seats[2]!));
    expect(await state(EV)).toEqual(before);
  });

  it('swap: one step, documented refusals', async () => {
    const c = await open('ct-swap');
    const held = await c.request({ t: 'hold', ev: EV, seats: [0, 1] });
    const swapped = await c.request({ t: 'swap', ev: EV, tok: held.tok, release: [0], hold: [2] });
    expect(swapped).toMatchObject({ t: 'ok' });
    expect(isInt(swapped.exp) && isInt(swapped.seq)).toBe(true);
    const before = await state(EV);
    expectErr(await c.request({ t: 'swap', ev: EV, tok: held.tok, release: [5], hold: [] }), 'NOT_HOLDER', { seats: [5] });
    expectErr(await c.request({ t: 'swap', ev: EV, tok: held.tok, release: [1], hold: [1] }), 'BAD_REQUEST');
    expectErr(await c.request({ t: 'swap', ev: EV, tok: held.tok, release: [], hold: [] }), 'BAD_REQUEST');
    expectErr(await c.request({ t: 'swap', ev: EV, tok: 'AAAAAAAAAAAA', release: [1], hold: [3] }), 'EXPIRED');
    expect(await state(EV)).toEqual(before);
  });

  it('extend: ms sets the expiry; ms 0 releases and deletes the token', async () => {
    const c = await open('ct-ext');
    const held = await c.request({ t: 'hold', ev: EV, seats: [6, 7] });
    const t0 = Date.now();
    const ext = await c.request({ t: 'extend', ev: EV, tok: held.tok, ms: 30_000 });
    expect(ext).toMatchObject({ t: 'ok', seq: held.seq });
    expect(ext.n).toBeUndefined();
    expect(Math.abs((ext.exp as number) - (t0 + 30_000))).toBeLessThan(2000);
    for (const ms of [-1, 86_400_001, 1.5, '10']) expectErr(await c.request({ t: 'extend', ev: EV, tok: held.tok, ms }), 'BAD_REQUEST');
    const end = await c.request({ t: 'extend', ev: EV, tok: held.tok, ms: 0 });
    expect(end).toMatchObject({ t: 'ok', n: 2 });
    expect(isInt(end.exp) && (end.seq as number) > (held.seq as number)).toBe(true);
    expectErr(await c.request({ t: 'extend', ev: EV, tok: held.tok }), 'EXPIRED');
    // places go too, and n counts them as release does
    const mixed = await c.request({ t: 'hold', ev: EV, seats: [6], ga: [[0, 2], [1, 3]] });
    expect(await c.request({ t: 'extend', ev: EV, tok: mixed.tok, ms: 0 })).toMatchObject({ t: 'ok', n: 6 });
    expect((await gw.store.areaCounters(EV)).map((a) => a.held)).toEqual([0, 0]);
    const again = await c.request({ t: 'hold', ev: EV, seats: [6], ga: [[0, 2], [1, 3]] });
    expect(await c.request({ t: 'release', ev: EV, tok: again.tok })).toMatchObject({ t: 'ok', n: 6 });
  });

  it('queue: an event without a waiting room admits at once, without until', async () => {
    const c = await open('ct-q');
    const q = await c.request({ t: 'queue', ev: EV });
    expect(q).toMatchObject({ t: 'ok', state: 'admitted' });
    expect(q.until).toBeUndefined();
    expectErr(await c.request({ t: 'queue', ev: 'ct-none' }), 'NO_EVENT');
    const viewer = await open('ct-qv', 'seats:read');
    expectErr(await viewer.request({ t: 'queue', ev: EV }), 'FORBIDDEN');
  });
});

describe('the waiting room', () => {
  const EV = 'ct-room';
  beforeAll(() => createEvent(EV));

  it('queue answers the documented states; admit, NOT_ADMITTED, and admit with until 0 when the room is removed', async () => {
    const put = await http('PUT', `/events/${EV}/queue`, { onSaleAt: Date.now() - 1000, admitPerMinute: 60, maxActive: 1 });
    expect(put.status).toBe(201);
    const first = await open('ct-q1');
    const second = await open('ct-q2');
    const j1 = await first.request({ t: 'queue', ev: EV });
    expect(j1.t).toBe('ok');
    if (j1.state === 'waiting') {
      expect(isInt(j1.pos) && isInt(j1.ahead) && isInt(j1.etaMs)).toBe(true);
      const admit = await first.next((m) => m.t === 'admit' && m.ev === EV, 10_000);
      expect(isInt(admit.until) && (admit.until as number) > Date.now()).toBe(true);
    } else {
      expect(j1).toMatchObject({ state: 'admitted' });
      expect(isInt(j1.until)).toBe(true);
    }
    expect((await first.request({ t: 'hold', ev: EV, seats: [0], ga: [[0, 1]] })).t).toBe('ok');

    const j2 = await second.request({ t: 'queue', ev: EV });
    expect(j2, JSON.stringify(j2)).toMatchObject({ t: 'ok', state: 'waiting', pos: 1, ahead: 0 });
    expect(isInt(j2.etaMs)).toBe(true);
    const before = await state(EV);
    expectErr(await second.request({ t: 'hold', ev: EV, seats: [1] }), 'NOT_ADMITTED');
    expectErr(await second.request({ t: 'hold', ev: EV, ga: [[0, 1]] }), 'NOT_ADMITTED');
    expectErr(await second.request({ t: 'hold', ev: EV, best: { n: 1 } }), 'NOT_ADMITTED');
    expect(await state(EV)).toEqual(before);

    const opened = second.next((m) => m.t === 'admit' && m.ev === EV, 10_000);
    expect((await http('DELETE', `/events/${EV}/queue`)).status).toBe(200);
    expect(await opened).toMatchObject({ t: 'admit', ev: EV, until: 0 });
    expect((await second.request({ t: 'hold', ev: EV, ga: [[0, 1]] })).t).toBe('ok');
  });
});

describe('the waiting room moves', () => {
  const EV = 'ct-room2';
  beforeAll(() => createEvent(EV));

  it('qpos tells a waiting subject its new place when one ahead is admitted', async () => {
    const put = await http('PUT', `/events/${EV}/queue`, { onSaleAt: Date.now() - 1000, admitPerMinute: 600, maxActive: 1, admissionTtlMs: 4000, order: 'fifo' });
    expect(put.status).toBe(201);
    const subjects = await Promise.all(['ct-w1', 'ct-w2', 'ct-w3'].map((s) => open(s)));
    for (const c of subjects) expect((await c.request({ t: 'queue', ev: EV })).t).toBe('ok');
    const last = subjects[2]!;
    // w1 is admitted for 4 s; then w2 is, and w3 stays at place 1 for 4 s: long enough for a poll to see it
    const moved = await last.next((m) => m.t === 'qpos' && m.ev === EV && m.pos === 1, 15_000);
    expect(isInt(moved.pos) && isInt(moved.ahead) && isInt(moved.etaMs)).toBe(true);
    expect(moved.ahead).toBe((moved.pos as number) - 1);
    expect(moved.pos as number).toBeLessThan(3);
    expect((await http('DELETE', `/events/${EV}/queue`)).status).toBe(200);
  }, 20_000);
});

describe('checkout and the payment callbacks', () => {
  const EV = 'ct-pay';
  beforeAll(() => createEvent(EV));

  it('checkout makes a pending booking; confirm and fail answer {booking, changed, freed}', async () => {
    const c = await open('ct-payer');
    const h1 = await c.request({ t: 'hold', ev: EV, seats: [3] });
    const co = await c.request({ t: 'checkout', ev: EV, tok: h1.tok, key: 'order-1' });
    expect(co, JSON.stringify(co)).toMatchObject({ t: 'ok', state: 'pending_payment', seats: [3], replayed: false });
    expect(isInt(co.payBy) && (co.payBy as number) > Date.now()).toBe(true);
    expect(co.reference).toMatch(/^SM-/);

    const confirmed = await http('POST', `/bookings/${co.reference as string}/confirm`, { payment: 'pay-1' });
    expect(confirmed.status).toBe(200);
    expect(confirmed.json).toMatchObject({ changed: true });
    expect('booking' in confirmed.json && 'freed' in confirmed.json).toBe(true);
    const replay = await c.request({ t: 'checkout', ev: EV, tok: h1.tok, key: 'order-1' });
    expect(replay).toMatchObject({ t: 'ok', replayed: true, state: 'confirmed' });
    const failLate = await http('POST', `/bookings/${co.reference as string}/fail`, {});
    expect(failLate.status).toBe(409);
    expect(failLate.json.code).toBe('CONFLICT');

    const h2 = await c.request({ t: 'hold', ev: EV, seats: [8] });
    const co2 = await c.request({ t: 'checkout', ev: EV, tok: h2.tok, key: 'order-2' });
    // a forged signature (no admin token) is 401 UNAUTHORIZED and changes nothing
    const path = `/bookings/${co2.id as string}/confirm`;
    const forged = await apiFetch(`${gw.httpUrl}${path}`, {
      method: 'POST',
      headers: { 'seatmap-timestamp': String(Math.floor(Date.now() / 1000)), 'seatmap-signature': `v1=${'0'.repeat(64)}`, 'content-type': 'application/json' },
      body: '{}',
    }, served);
    expect(forged.status).toBe(401);
    expect(((await forged.json()) as { code: string }).code).toBe('UNAUTHORIZED');
    expect(await c.request({ t: 'checkout', ev: EV, tok: h2.tok, key: 'order-2' })).toMatchObject({ t: 'ok', replayed: true, state: 'pending_payment' });
    const failed = await http('POST', `/bookings/${co2.id as string}/fail`, { reason: 'card declined' });
    expect(failed.status).toBe(200);
    expect(failed.json).toMatchObject({ changed: true });
    expect((await gw.store.snapshot(EV))!.status[8]).toBe(0);
    const notFound = await http('POST', '/bookings/SM-AAAAAAAA/confirm', {});
    expect(notFound.status).toBe(404);
    expect(notFound.json.code).toBe('NOT_FOUND');
    const badBody = await http('POST', `/bookings/${co2.id as string}/confirm`, '{"payment": 5}');
    expect(badBody.status).toBe(400);
  });
});

describe('hostile input on the new fields', () => {
  const EV = 'ct-hostile';
  let c: RawClient;
  let clerk: RawClient;
  let tok: string;
  beforeAll(async () => {
    await createEvent(EV);
    c = await open('ct-hostile');
    clerk = await open('ct-hclerk', 'seats:read seats:box-office');
    const held = await c.request({ t: 'hold', ev: EV, seats: [0], ga: [[0, 1]] });
    tok = held.tok as string;
  });

  const BAD_GA: [string, unknown][] = [
    ['not an array', 5],
    ['a map', { 0: 1 }],
    ['nil', null],
    ['empty', []],
    ['a flat pair', [0, 1]],
    ['a pair of three', [[0, 1, 2]]],
    ['negative qty', [[0, -1]]],
    ['zero qty', [[0, 0]]],
    ['float qty', [[0, 1.5]]],
    ['huge qty', [[0, 1001]]],
    ['qty past 2^53', [[0, 2 ** 60]]],
    ['negative area', [[-1, 1]]],
    ['float area', [[0.5, 1]]],
    ['string area', [['0', 1]]],
    ['an area twice', [[0, 1], [0, 1]]],
    ['1,001 pairs', Array.from({ length: 1001 }, (_, i) => [i, 1])],
  ];

  it('malformed ga in hold, release and book of free places: BAD_REQUEST with the rid, nothing changed, connection alive', async () => {
    const before = await state(EV);
    for (const [what, ga] of BAD_GA) {
      expectErr(await c.request({ t: 'hold', ev: EV, ga }), 'BAD_REQUEST');
      expectErr(await c.request({ t: 'hold', ev: EV, seats: [5], ga }), 'BAD_REQUEST');
      expectErr(await c.request({ t: 'release', ev: EV, tok, ga }), 'BAD_REQUEST');
      expectErr(await clerk.request({ t: 'book', ev: EV, ga, key: `hostile-${what}` }), 'BAD_REQUEST');
      expectErr(await clerk.request({ t: 'book', ev: EV, seats: [5], ga, key: `hostile-${what}` }), 'BAD_REQUEST');
    }
    // an area the event does not have: reason ga
    for (const ga of [[[2, 1]], [[0, 1], [1000, 1]], [[2 ** 40, 1]]]) {
      expectErr(await c.request({ t: 'hold', ev: EV, ga }), 'BAD_REQUEST', { reason: 'ga' });
      expectErr(await clerk.request({ t: 'book', ev: EV, ga, key: 'hostile-area' }), 'BAD_REQUEST', { reason: 'ga' });
    }
    // more places than an area has, over several pairs: refused as one
    expectErr(await c.request({ t: 'hold', ev: EV, ga: [[1, 1000], [0, 6]] }), 'UNAVAILABLE', { reason: 'ga', areas: [0], left: [5] });
    await c.alive();
    await clerk.alive();
    expect(await state(EV)).toEqual(before);
  });

  it('integral floats are integers (3.0 is 3): a ga of floats holds; a token that expires gives its places back', async () => {
    const floats = encode({ t: 'hold', rid: 7001, ev: EV, ga: [[1, 2]] }, { forceIntegerToFloat: true });
    expect(floats.includes(0xcb)).toBe(true); // float 64
    const reply = c.next((m) => m.rid === 7001);
    c.ws.send(floats);
    const held = await reply;
    expect(held, JSON.stringify(held)).toMatchObject({ t: 'ok' });
    expect((await gw.store.areaCounters(EV))[1]!.held).toBe(2);
    const ended = c.next((m) => m.t === 'tokend' && m.tok === held.tok, 15_000);
    expect((await c.request({ t: 'extend', ev: EV, tok: held.tok, ms: 1 })).t).toBe('ok');
    expect(await ended).toMatchObject({ reason: 'expired' });
    expect((await gw.store.areaCounters(EV))[1]!.held).toBe(0);
  }, 20_000);

  it('10,000 pairs, a __proto__ key, huge seat arrays: BAD_REQUEST (rid null when undecodable), nothing changed', async () => {
    const before = await state(EV);
    const pairs = Array.from({ length: 10_000 }, (_, i) => [i, 1]);
    expectErr(await c.raw(encode({ t: 'hold', rid: 9001, ev: EV, ga: pairs }), null), 'BAD_REQUEST', { rid: null });
    // __proto__ as a map key anywhere: the frame is undecodable
    const protoKeyed = encode({ t: 'hold', rid: 9002, ev: EV, ga: [[0, 1]], zzzzzzzzz: { zzzzzzzzz: 1 } });
    const bytes = Buffer.from(protoKeyed);
    let at = bytes.indexOf('zzzzzzzzz');
    while (at >= 0) {
      bytes.write('__proto__', at, 'latin1');
      at = bytes.indexOf('zzzzzzzzz');
    }
    expectErr(await c.raw(bytes, null), 'BAD_REQUEST', { rid: null });
    const seats = Array.from({ length: 1001 }, (_, i) => i % 20);
    expectErr(await c.request({ t: 'hold', ev: EV, seats }), 'BAD_REQUEST');
    expectErr(await c.request({ t: 'release', ev: EV, tok, seats }), 'BAD_REQUEST');
    expectErr(await clerk.request({ t: 'book', ev: EV, seats, key: 'hostile-many' }), 'BAD_REQUEST');
    expectErr(await c.request({ t: 'swap', ev: EV, tok, release: seats, hold: [] }), 'BAD_REQUEST');
    expectErr(await c.request({ t: 'hold', ev: EV, seats: [1, 1] }), 'BAD_SEAT', { seats: [1] });
    expectErr(await clerk.request({ t: 'book', ev: EV, seats: [2, 2], key: 'hostile-twice' }), 'BAD_SEAT', { seats: [2] });
    await c.alive();
    await clerk.alive();
    expect(await state(EV)).toEqual(before);
  });

  it('hostile block and unblock bodies: documented codes, nothing changed', async () => {
    const before = await state(EV);
    const bodies: unknown[] = [
      { areas: 5 },
      { areas: [] },
      { areas: [[0]] },
      { areas: [[0, 0]] },
      { areas: [[0, -2]] },
      { areas: [[0, 1.5]] },
      { areas: [[0, 1001]] },
      { areas: [['0', 1]] },
      { areas: [[0, 1], [0, 1]] },
      { areas: Array.from({ length: 10_000 }, (_, i) => [i, 1]) },
      { areas: [[0, 1]], categories: ['front'] },
      { seats: [] },
      { seats: 'all' },
      { seats: [1.5] },
      { seats: Array.from({ length: 1001 }, (_, i) => i % 20) },
      { seats: Array.from({ length: 20_000 }, () => 1) },
      { sections: Array.from({ length: 1001 }, () => 'A') },
      { sections: [5] },
      { __proto__: { seats: [1] } },
      JSON.parse('{"__proto__": {"seats": [1]}}'),
      [1, 2],
      'null',
      'not json',
    ];
    for (const op of ['block', 'unblock']) {
      for (const body of bodies) {
        const res = await http('POST', `/events/${EV}/${op}`, body);
        expect(res.status, `${op} ${JSON.stringify(body).slice(0, 80)}: ${JSON.stringify(res.json)}`).toBeGreaterThanOrEqual(400);
        expect(res.status).toBeLessThan(500);
        // a message that names what is wrong, not the catalogue's sentence
        expect(res.json.msg, JSON.stringify(res.json)).not.toMatch(/^The request is malformed/);
      }
      // an event that does not exist
      for (const body of [{ seats: [1] }, { areas: [[0, 1]] }, { seats: [1], areas: [[0, 1]] }, { sections: ['A'] }]) {
        const res = await http('POST', `/events/ct-nothing/${op}`, body);
        expect(res.status, `${op} ${JSON.stringify(body)}: ${JSON.stringify(res.json)}`).toBe(404);
        expect(res.json.code).toBe('NO_EVENT');
      }
      // an area the event does not have, however large the index (past Postgres's int too)
      for (const body of [{ areas: [[2, 1]] }, { areas: [[2 ** 40, 1]] }, { areas: [[2 ** 31, 1]] }, { seats: [1], areas: [[0, 1], [2 ** 40, 1]] }]) {
        const res = await http('POST', `/events/${EV}/${op}`, body);
        expect(res.status, `${op} ${JSON.stringify(body)}: ${JSON.stringify(res.json)}`).toBe(400);
        expect(res.json).toMatchObject({ code: 'BAD_REQUEST', reason: 'ga' });
      }
      // a seat index out of range, however large: BAD_SEAT listing it
      for (const seats of [[20], [-1], [2 ** 31], [2 ** 40], [-(2 ** 40)], [1, 2 ** 53 - 1]]) {
        const res = await http('POST', `/events/${EV}/${op}`, { seats });
        expect(res.status, `${op} ${JSON.stringify(seats)}: ${JSON.stringify(res.json)}`).toBe(400);
        expect(res.json.code).toBe('BAD_SEAT');
        expect(res.json.seats).toEqual(seats.filter((x) => x < 0 || x >= 20));
      }
    }
    expect(await state(EV)).toEqual(before);
  });

  it('a __proto__ key in a block body is an unknown field: ignored, it pollutes nothing', async () => {
    const before = (await gw.store.areaCounters(EV)) as unknown;
    const res = await http('POST', `/events/${EV}/block`, '{"seats": [19], "__proto__": {"areas": [[0, 1]], "seats": [18]}}');
    expect(res.status).toBe(200);
    expect(({} as Record<string, unknown>).areas).toBeUndefined();
    const snap = (await gw.store.snapshot(EV))!;
    expect([snap.status[18], snap.status[19]]).toEqual([0, 3]);
    expect(await gw.store.areaCounters(EV)).toEqual(before);
    expect((await http('POST', `/events/${EV}/unblock`, { seats: [19] })).status).toBe(200);
  });
});
