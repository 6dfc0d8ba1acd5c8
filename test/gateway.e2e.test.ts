/**
 * The gateway end to end: real WebSockets against a gateway on the real test
 * Redis, and again on a 3-master Redis Cluster (test/support/targets.ts; the
 * upgrade's authentication and hostile frames do not touch Redis and run once). Covers the protocol's requests and replies, live diffs between
 * clients, resume after a disconnect, every error code a WebSocket client can
 * get, and hostile frames.
 */
import { SignJWT } from 'jose';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { encode } from '@msgpack/msgpack';
import { ERROR_CODES } from '../core/errors.js';
import { encodeMessage, type ErrMessage, type ServerMessage } from '../core/protocol/index.js';
import { ERROR_CATALOGUE } from '../core/errors.js';
import { createVenueEvent, startTestGateway, token, wipePrefix, TEST_JWT_SECRET, type TestGateway } from './support/gateway.js';
import { TestClient } from './support/ws-client.js';
import { freePort } from './support/net.js';
import { queryGatewayDb } from './support/gateway.js';
import { apiFetch } from './support/openapi.js';
import { redisTargets } from './support/targets.js';
import { REFERENCE, bookingReference } from '../core/bookings/reference.js';
import { randomUUID } from 'node:crypto';
import { createEventFromLayout } from '../core/events.js';
import { gridLayout } from './support/selection-layouts.js';

let gw: TestGateway;
const clients: TestClient[] = [];
/** error codes seen in replies in this file, checked against the catalogue at the end */
const codesSeen = new Set<string>();

async function connect(sub = 'alice', scope?: string): Promise<TestClient> {
  const client = await TestClient.connect(gw.wsUrl, { token: await token(sub, scope) });
  clients.push(client);
  return client;
}

async function expectErr(client: TestClient, body: Parameters<TestClient['request']>[0], code: string): Promise<ErrMessage> {
  const reply = await client.request(body);
  expect(reply, JSON.stringify(reply)).toMatchObject({ t: 'err', code });
  codesSeen.add(code);
  return reply as ErrMessage;
}

describe.each(redisTargets())('on $name', (target) => {
  beforeAll(async () => {
    gw = await startTestGateway({ ...target.env(), TICK_MS: '20' });
    await createVenueEvent(gw.store, 'e1', 200);
    await createVenueEvent(gw.store, 'e2', 300);
    await createVenueEvent(gw.store, 'short', 100, { holdTtlMs: 300, maxHoldLifetimeMs: 300 });
    await createVenueEvent(gw.store, 'broken', 100);
  });

  afterAll(async () => {
    for (const c of clients) c.ws.terminate();
    await gw.stop();
    await wipePrefix(gw.prefix);
  });

  describe('live seat map', () => {
    it('a hold by one client reaches the other as a diff', async () => {
      const alice = await connect('alice');
      const bob = await connect('bob');
      expect(alice.hello).toMatchObject({ t: 'hello', v: 1, sub: 'alice', scopes: ['seats:read', 'seats:hold', 'seats:book'] });

      // INTERNAL is retryable by the protocol (a room load that timed out); a client retries it once
      const subscribe = async (c: TestClient) => {
        const first = await c.request({ t: 'sub', ev: 'e1' });
        return (first.t === 'err' && first.code === 'INTERNAL' ? await c.ok({ t: 'sub', ev: 'e1' }) : first) as unknown as Record<string, unknown>;
      };
      const subA = await subscribe(alice);
      const subB = await subscribe(bob);
      expect(subA).toMatchObject({ t: 'ok' });
      expect(subB).toMatchObject({ t: 'ok' });
      expect(subA).toMatchObject({ ev: 'e1', seq: 0 });
      // the snapshot came before the ok
      const snapIndex = bob.messages.findIndex((m) => m.t === 'snap');
      const okIndex = bob.messages.findLastIndex((m) => m.t === 'ok');
      expect(snapIndex).toBeGreaterThan(-1);
      expect(snapIndex).toBeLessThan(okIndex);
      expect(bob.views.get('e1')!.status).toHaveLength(200);
      expect(subB.epoch).toBe(subA.epoch);

      const held = await alice.ok({ t: 'hold', ev: 'e1', seats: [3, 4] });
      expect(held).toMatchObject({ tok: expect.any(String), exp: expect.any(Number), seq: 1 });
      const view = await bob.until('e1', (v) => v.seq >= 1);
      expect([view.status[3], view.status[4]]).toEqual([1, 1]);

      const diff = bob.messages.find((m) => m.t === 'diff') as Extract<ServerMessage, { t: 'diff' }>;
      expect(diff).toMatchObject({ ev: 'e1', from: 0, to: 1 });
      expect(diff.ch).toEqual(expect.arrayContaining([3, 1, 4, 1]));
      expect(bob.gaps.size).toBe(0);
    });

    it('release, extend and book round trips, with an idempotent book', async () => {
      const carol = await connect('carol');
      const dave = await connect('dave');
      await dave.ok({ t: 'sub', ev: 'e2' });
      const held = await carol.ok({ t: 'hold', ev: 'e2', seats: [10, 11, 12] });
      const tok = held.tok as string;
      const more = await carol.ok({ t: 'hold', ev: 'e2', seats: [13], tok });
      expect(more.tok).toBe(tok);
      const released = await carol.ok({ t: 'release', ev: 'e2', tok, seats: [12] });
      expect(released).toMatchObject({ n: 1 });
      const extended = await carol.ok({ t: 'extend', ev: 'e2', tok });
      expect(extended.exp).toBeGreaterThanOrEqual(held.exp as number);
      const booked = await carol.ok({ t: 'book', ev: 'e2', tok, key: 'order-1' });
      // answered only after the Postgres commit: the reference comes from the committed row
      expect(booked).toMatchObject({ id: expect.any(String), replayed: false, ref: expect.stringMatching(REFERENCE), state: 'confirmed' });
      const row = await queryGatewayDb(gw.prefix, 'SELECT reference, holder, seats FROM bookings WHERE id = $1', [booked.id]);
      expect(row).toEqual([{ reference: booked.reference, holder: 'carol', seats: [10, 11, 13] }]);
      // one name across the WebSocket reply and the admin JSON; `ref`, the old name, is still sent for older clients
      expect(booked.ref).toBe(booked.reference);
      expect([...(booked.seats as number[])].sort((a, b) => a - b)).toEqual([10, 11, 13]);
      // the same key again returns the same booking
      const again = await carol.ok({ t: 'book', ev: 'e2', tok, key: 'order-1' });
      expect(again).toMatchObject({ id: booked.id, replayed: true, reference: booked.reference, ref: booked.reference });

      const view = await dave.until('e2', (v) => v.seq >= (booked.seq as number));
      expect([view.status[10], view.status[11], view.status[12], view.status[13]]).toEqual([2, 2, 0, 2]);
      const snap = (await gw.store.snapshot('e2'))!;
      expect(Buffer.from(view.status).equals(snap.status)).toBe(true);
    });

    it('ping answers pong, unsub stops diffs', async () => {
      const erin = await connect('erin');
      expect(await erin.request({ t: 'ping' })).toMatchObject({ t: 'pong' });
      await erin.ok({ t: 'sub', ev: 'e1' });
      expect(await erin.ok({ t: 'unsub', ev: 'e1' })).toMatchObject({ ev: 'e1' });
      const frank = await connect('frank');
      const held = await frank.ok({ t: 'hold', ev: 'e1', seats: [50] });
      // a watcher that is still subscribed sees the change; erin does not
      const watcher = await connect('watcher');
      await watcher.ok({ t: 'sub', ev: 'e1' });
      await watcher.until('e1', (v) => v.seq >= (held.seq as number));
      await new Promise((r) => setTimeout(r, 100));
      expect(erin.messages.filter((m) => m.t === 'diff')).toHaveLength(0);
    });
  });

  describe('resume after reconnect', () => {
    it('a client that missed changes resumes with epoch+seq and gets one diff to the current state', async () => {
      const gina = await connect('gina');
      const sub = await gina.ok({ t: 'sub', ev: 'e1' });
      const epoch = sub.epoch as number;
      const seq = sub.seq as number;
      const saved = Uint8Array.from(gina.views.get('e1')!.status);
      await gina.close();

      // changes while gina is away
      const hank = await connect('hank');
      const h1 = await hank.ok({ t: 'hold', ev: 'e1', seats: [100, 101] });
      await hank.ok({ t: 'release', ev: 'e1', tok: h1.tok as string, seats: [100] });
      await hank.ok({ t: 'hold', ev: 'e1', seats: [102], tok: h1.tok as string });

      const back = await connect('gina');
      // prime the view with what gina had, as a real client would
      back.views.set('e1', Object.assign(new (await import('../core/protocol/index.js')).SeatView(), { epoch, seq, status: saved }));
      const resumed = await back.ok({ t: 'sub', ev: 'e1', epoch, seq });
      const catchUp = back.messages.filter((m) => m.t === 'diff' || m.t === 'snap');
      // one diff from gina's seq, never a snapshot: the room's resume window covers it
      expect(catchUp[0]).toMatchObject({ t: 'diff', from: seq, to: resumed.seq });
      expect(catchUp.some((m) => m.t === 'snap')).toBe(false);
      // the room may not have taken in hank's last change when gina came back; it follows as a diff
      const fresh = (await gw.store.snapshot('e1'))!;
      const view = await back.until('e1', (v) => v.seq >= fresh.seq);
      expect(view.seq).toBe(fresh.seq);
      expect(Buffer.from(view.status).equals(fresh.status)).toBe(true);
      expect(back.gaps.size).toBe(0);
    });

    it('a current client gets no catch-up frame; a wrong epoch or a seq from the future gets a snapshot', async () => {
      const ivy = await connect('ivy');
      const sub = await ivy.ok({ t: 'sub', ev: 'e2' });
      await ivy.ok({ t: 'unsub', ev: 'e2' });
      const before = ivy.messages.length;
      await ivy.ok({ t: 'sub', ev: 'e2', epoch: sub.epoch as number, seq: sub.seq as number });
      expect(ivy.messages.slice(before).map((m) => m.t)).toEqual(['ok']);

      await ivy.ok({ t: 'unsub', ev: 'e2' });
      const mark = ivy.messages.length;
      await ivy.ok({ t: 'sub', ev: 'e2', epoch: (sub.epoch as number) + 1, seq: sub.seq as number });
      expect(ivy.messages.slice(mark).map((m) => m.t)).toEqual(['snap', 'ok']);

      await ivy.ok({ t: 'unsub', ev: 'e2' });
      const mark2 = ivy.messages.length;
      await ivy.ok({ t: 'sub', ev: 'e2', epoch: sub.epoch as number, seq: (sub.seq as number) + 1000 });
      expect(ivy.messages.slice(mark2).map((m) => m.t)).toEqual(['snap', 'ok']);
    });
  });

  describe('error codes', () => {
    it('BAD_REQUEST for malformed requests, with the rid echoed when readable', async () => {
      const c = await connect('jack');
      const reply = await expectErr(c, { t: 'hold', ev: 'e1', seats: [] }, 'BAD_REQUEST');
      expect(reply.rid).toEqual(expect.any(Number));
      await expectErr(c, { t: 'hold', ev: 'e1', seats: ['x' as unknown as number] }, 'BAD_REQUEST');
      await expectErr(c, { t: 'book', ev: 'e1', tok: 'abcdefgh12' } as never, 'BAD_REQUEST');
      await expectErr(c, { t: 'nope' } as never, 'BAD_REQUEST');
      await expectErr(c, { t: 'sub', ev: 'bad event id!' }, 'BAD_REQUEST');
      await expectErr(c, { t: 'sub', ev: 'e1', epoch: 1 } as never, 'BAD_REQUEST');
      // an empty seat list is refused; leaving `seats` out is what releases a whole token
      await expectErr(c, { t: 'release', ev: 'e1', tok: 'abcdefgh12', seats: [] }, 'BAD_REQUEST');
    });

    it('FORBIDDEN without the scope an operation needs', async () => {
      const reader = await connect('reader', 'seats:read');
      await expectErr(reader, { t: 'hold', ev: 'e1', seats: [1] }, 'FORBIDDEN');
      const noRead = await connect('noread', 'seats:hold');
      await expectErr(noRead, { t: 'sub', ev: 'e1' }, 'FORBIDDEN');
      const holder = await connect('holder-only', 'seats:read seats:hold');
      const held = await holder.ok({ t: 'hold', ev: 'e1', seats: [150] });
      await expectErr(holder, { t: 'book', ev: 'e1', tok: held.tok as string, key: 'k' }, 'FORBIDDEN');
    });

    it('NO_EVENT, BAD_SEAT, UNAVAILABLE, NOT_HOLDER, HOLD_LIMIT, CONFLICT', async () => {
      const kim = await connect('kim');
      const lou = await connect('lou');
      await expectErr(kim, { t: 'sub', ev: 'no-such-event' }, 'NO_EVENT');
      await expectErr(kim, { t: 'hold', ev: 'no-such-event', seats: [1] }, 'NO_EVENT');
      const badSeat = await expectErr(kim, { t: 'hold', ev: 'e2', seats: [299, 300] }, 'BAD_SEAT');
      expect(badSeat.seats).toEqual([300]);
      const held = await kim.ok({ t: 'hold', ev: 'e2', seats: [200, 201] });
      const unavailable = await expectErr(lou, { t: 'hold', ev: 'e2', seats: [201, 202] }, 'UNAVAILABLE');
      expect(unavailable.seats).toEqual([201]);
      await expectErr(lou, { t: 'release', ev: 'e2', tok: held.tok as string }, 'NOT_HOLDER');
      await expectErr(lou, { t: 'hold', ev: 'e2', seats: Array.from({ length: 11 }, (_, i) => 220 + i) }, 'HOLD_LIMIT');
      const other = await kim.ok({ t: 'hold', ev: 'e2', seats: [203] });
      await kim.ok({ t: 'book', ev: 'e2', tok: held.tok as string, key: 'kim-1' });
      // the same idempotency key for another hold
      await expectErr(kim, { t: 'book', ev: 'e2', tok: other.tok as string, key: 'kim-1' }, 'CONFLICT');
    });

    it('err.msg says what happened to this request, naming the field, never the catalogue sentence', async () => {
      const uma = await connect('uma');
      const vic = await connect('vic');
      // every offending index: out of range and negative alike
      const badSeat = await expectErr(uma, { t: 'hold', ev: 'e2', seats: [5000, -1, 3] }, 'BAD_SEAT');
      expect(badSeat.seats).toEqual([5000, -1]);
      expect(badSeat.msg).toBe('seats: seats 5000 and -1 are out of range or listed twice (event e2 has seats 0 to 299); nothing was held');
      const held = await uma.ok({ t: 'hold', ev: 'e2', seats: [260, 261] });
      const taken = await expectErr(vic, { t: 'hold', ev: 'e2', seats: [261, 262] }, 'UNAVAILABLE');
      expect(taken.msg).toBe('seats: seat 261 is not free (held, booked or blocked by someone else); nothing was held');
      // the limit itself, from the event's rules (createVenueEvent: 10 per token, 20 per holder)
      const limit = await expectErr(vic, { t: 'hold', ev: 'e2', seats: Array.from({ length: 11 }, (_, i) => 270 + i) }, 'HOLD_LIMIT');
      expect(limit.msg).toMatch(/^holding 11 more seats would exceed the limit of \d+ seats per hold token or \d+ seats per holder for event e2; nothing was held$/);
      const notHolder = await expectErr(vic, { t: 'release', ev: 'e2', tok: held.tok as string }, 'NOT_HOLDER');
      expect(notHolder.msg).toMatch(/^(tok|seats): .*nothing was released$/);
      const expired = await expectErr(vic, { t: 'extend', ev: 'e2', tok: 'AAAAAAAAAAAAAAAA' }, 'EXPIRED');
      expect(expired.msg).toBe('tok: the hold token AAAAAAAAAAAAAAAA is unknown or has expired; the hold was not extended');
      const noEvent = await expectErr(vic, { t: 'book', ev: 'nowhere', tok: held.tok as string, key: 'k' }, 'NO_EVENT');
      expect(noEvent.msg).toBe('there is no event nowhere; nothing was booked');
      for (const reply of [badSeat, taken, limit, notHolder, expired, noEvent]) expect(reply.msg).not.toBe(ERROR_CATALOGUE[reply.code].text);
      await uma.ok({ t: 'release', ev: 'e2', tok: held.tok as string });
    });

    it('EXPIRED once a hold has run out', async () => {
      const max = await connect('max');
      const held = await max.ok({ t: 'hold', ev: 'short', seats: [1] });
      await new Promise((r) => setTimeout(r, 450));
      await expectErr(max, { t: 'extend', ev: 'short', tok: held.tok as string }, 'EXPIRED');
    });

    it('INTERNAL when Redis fails an operation, and the connection carries on', async () => {
      const ned = await connect('ned');
      // a key of the wrong type makes the script fail inside Redis
      await gw.store.redis.set(gw.store.keys('broken').tokens, 'not a hash');
      await expectErr(ned, { t: 'hold', ev: 'broken', seats: [1] }, 'INTERNAL');
      expect(await ned.request({ t: 'ping' })).toMatchObject({ t: 'pong' });
    });

    it('NOT_ADMITTED while the event has a waiting room and the subject is not admitted; QUEUE_CLOSED while it is closed', async () => {
      await createVenueEvent(gw.store, 'gated', 100);
      const keys = gw.store.keys('gated');
      // the waiting room's state as the admin API leaves it (docs/onsale.md): on, nobody admitted yet
      await gw.store.redis.hset(keys.queue, 'on', '1');
      const pia = await connect('pia');
      await expectErr(pia, { t: 'hold', ev: 'gated', seats: [1] }, 'NOT_ADMITTED');
      await gw.store.redis.hset(keys.queue, 'closed', 'SOLD_OUT');
      await expectErr(pia, { t: 'hold', ev: 'gated', seats: [1] }, 'QUEUE_CLOSED');
      expect((await gw.store.snapshot('gated'))!.status[1]).toBe(0);
    });

    it('RATE_LIMITED past the burst, and served again after a pause', async () => {
      const limited = await startTestGateway({ ...target.env(), OPS_PER_SECOND: '5', OPS_BURST: '5' });
      try {
        const c = await TestClient.connect(limited.wsUrl, { token: await token('olga') });
        const replies = await Promise.all(Array.from({ length: 10 }, () => c.request({ t: 'ping' })));
        const limitedReplies = replies.filter((r) => r.t === 'err') as ErrMessage[];
        expect(replies.filter((r) => r.t === 'pong').length).toBeGreaterThanOrEqual(5);
        expect(limitedReplies.length).toBeGreaterThanOrEqual(4);
        expect(limitedReplies.every((r) => r.code === 'RATE_LIMITED')).toBe(true);
        codesSeen.add('RATE_LIMITED');
        await new Promise((r) => setTimeout(r, 500));
        expect(await c.request({ t: 'ping' })).toMatchObject({ t: 'pong' });
        await c.close();
      } finally {
        await limited.stop();
      }
    });

    it('UNAUTHORIZED: HTTP admin calls without a token (WebSocket refusals are close code 4001, see the auth tests below)', async () => {
      const res = await apiFetch(`${gw.httpUrl}/events`, { method: 'POST', body: '{}' });
      expect(res.status).toBe(401);
      expect(await res.json()).toMatchObject({ code: 'UNAUTHORIZED' });
      codesSeen.add('UNAUTHORIZED');
    });
  });

  describe.skipIf(target.cluster)('authentication at the upgrade', () => {
    async function refused(tokenValue: string, via: 'header' | 'protocol' | 'query' = 'header') {
      const error = await TestClient.connect(gw.wsUrl, { token: tokenValue, via }).then(
        () => null,
        (e: { code: number; reason: string }) => e,
      );
      expect(error).not.toBeNull();
      expect(error!.code).toBe(4001);
      return error!.reason;
    }

    it('accepts a token from the header, a subprotocol entry or the query string', async () => {
      for (const via of ['header', 'protocol', 'query'] as const) {
        const c = await TestClient.connect(gw.wsUrl, { token: await token(`via-${via}`), via });
        expect(c.hello!.sub).toBe(`via-${via}`);
        expect(c.ws.protocol).toBe('seatmap.v1');
        await c.close();
      }
    });

    it('refuses alg:none, a wrong key, an expired token and garbage with close code 4001', async () => {
      const b64 = (o: object) => Buffer.from(JSON.stringify(o)).toString('base64url');
      const none = `${b64({ alg: 'none', typ: 'JWT' })}.${b64({ sub: 'mallory', scope: 'seats:hold' })}.`;
      expect(await refused(none)).toMatch(/unauthorized/);
      const wrongKey = await new SignJWT({ sub: 'mallory', scope: 'seats:read' }).setProtectedHeader({ alg: 'HS256' }).setExpirationTime('1h').sign(new TextEncoder().encode('another-secret-0123456789abcdef'));
      expect(await refused(wrongKey, 'protocol')).toMatch(/signature/);
      const expired = await new SignJWT({ sub: 'mallory', scope: 'seats:read' })
        .setProtectedHeader({ alg: 'HS256' })
        .setIssuedAt(Math.floor(Date.now() / 1000) - 7200)
        .setExpirationTime(Math.floor(Date.now() / 1000) - 3600)
        .sign(new TextEncoder().encode(TEST_JWT_SECRET));
      expect(await refused(expired, 'query')).toMatch(/expired/);
      expect(await refused('not-a-token')).toMatch(/unauthorized/);
    });

    it('refuses a wrong audience when an audience is configured, and anonymous viewers when they are not allowed', async () => {
      const strict = await startTestGateway({ ...target.env(), JWT_AUDIENCE: 'seatmap', ALLOW_ANONYMOUS: 'false' });
      try {
        const wrongAud = await new SignJWT({ sub: 'mallory', scope: 'seats:read' })
          .setProtectedHeader({ alg: 'HS256' })
          .setAudience('someone-else')
          .setExpirationTime('1h')
          .sign(new TextEncoder().encode(TEST_JWT_SECRET));
        const e1 = await TestClient.connect(strict.wsUrl, { token: wrongAud }).catch((e) => e);
        expect(e1).toMatchObject({ code: 4001, reason: expect.stringMatching(/audience/) });
        const e2 = await TestClient.connect(strict.wsUrl).catch((e) => e);
        expect(e2).toMatchObject({ code: 4001, reason: expect.stringMatching(/token required/) });
        const rightAud = await new SignJWT({ sub: 'ok', scope: 'seats:read' })
          .setProtectedHeader({ alg: 'HS256' })
          .setAudience('seatmap')
          .setExpirationTime('1h')
          .sign(new TextEncoder().encode(TEST_JWT_SECRET));
        const ok = await TestClient.connect(strict.wsUrl, { token: rightAud });
        expect(ok.hello!.sub).toBe('ok');
        await ok.close();
      } finally {
        await strict.stop();
      }
    });

    it('anonymous viewers may watch but not hold', async () => {
      const anon = await TestClient.connect(gw.wsUrl);
      clients.push(anon);
      expect(anon.hello).toMatchObject({ sub: null, scopes: ['seats:read'] });
      await anon.ok({ t: 'sub', ev: 'e1' });
      await expectErr(anon, { t: 'hold', ev: 'e1', seats: [7] }, 'FORBIDDEN');
    });

    it('closes with 1013 (try again later), not 4001, when the key set cannot be fetched', async () => {
      const { generateKeyPair } = await import('jose');
      const { freePort } = await import('./support/net.js');
      const jwks = await startTestGateway({ ...target.env(), JWKS_URL: `http://127.0.0.1:${await freePort()}/jwks.json` });
      try {
        const { privateKey } = await generateKeyPair('RS256');
        const rs256 = await new SignJWT({ sub: 'rita', scope: 'seats:read' }).setProtectedHeader({ alg: 'RS256', kid: 'k1' }).setExpirationTime('1h').sign(privateKey);
        const error = await TestClient.connect(jwks.wsUrl, { token: rs256 }).catch((e) => e);
        expect(error).toMatchObject({ code: 1013 });
      } finally {
        await jwks.stop();
      }
    });

    it('keeps frames sent before hello and answers them, in order, right after it; a refused token answers none', async () => {
      // A key set that takes 300 ms to arrive holds the token check open while the client sends.
      const { generateKeyPair, exportJWK } = await import('jose');
      const http = await import('node:http');
      const { publicKey, privateKey } = await generateKeyPair('ES256', { extractable: true });
      const body = JSON.stringify({ keys: [{ ...(await exportJWK(publicKey)), kid: 'slow', alg: 'ES256', use: 'sig' }] });
      const keyServer = http.createServer((_req, res) => void setTimeout(() => res.writeHead(200, { 'content-type': 'application/json' }).end(body), 300));
      const keyPort = await freePort();
      await new Promise<void>((resolve) => keyServer.listen(keyPort, '127.0.0.1', resolve));
      const { default: WebSocket } = await import('ws');
      const { decodeServerMessage } = await import('../core/protocol/index.js');
      const sign = (sub: string) => new SignJWT({ sub, scope: 'seats:read' }).setProtectedHeader({ alg: 'ES256', kid: 'slow' }).setExpirationTime('1h').sign(privateKey);
      /**
       * On a fresh gateway (whose first token check waits for the slow key set), opens a raw socket,
       * sends `count` pings as soon as it is open, and collects what comes back until `expected` messages or a close.
       */
      const early = async (tokenValue: string, count: number, expected: number, oversize = false) => {
        const slow = await startTestGateway({ ...target.env(), JWKS_URL: `http://127.0.0.1:${keyPort}/jwks.json` });
        try {
          const ws = new WebSocket(slow.wsUrl, ['seatmap.v1'], { headers: { authorization: `Bearer ${tokenValue}` } });
          const seen: string[] = [];
          let closeCode: number | null = null;
          ws.on('message', (data: Buffer) => {
            const m = decodeServerMessage(new Uint8Array(data));
            seen.push(m.t === 'pong' ? `pong ${m.rid}` : m.t === 'err' ? `err ${m.code}` : m.t);
          });
          ws.on('open', () => {
            for (let rid = 1; rid <= count; rid++) ws.send(encodeMessage({ t: 'ping', rid }));
            if (oversize) ws.send(new Uint8Array(20_000)); // over maxFrameBytes (16,384 by default)
            seen.push('sent');
          });
          ws.on('close', (code) => (closeCode = code));
          const deadline = Date.now() + 5000;
          while (seen.length < expected && closeCode === null && Date.now() < deadline) await new Promise((r) => setTimeout(r, 10));
          ws.terminate();
          return { seen, closeCode };
        } finally {
          await slow.stop();
        }
      };
      const pongs = (n: number) => Array.from({ length: n }, (_, i) => `pong ${i + 1}`);
      try {
        const accepted = await early(await sign('early-bird'), 3, 6, true);
        expect(accepted.seen).toEqual(['sent', 'hello', ...pongs(3), 'err BAD_REQUEST']);

        // at most opsBurst (100 by default) early frames are kept: the rest are dropped, and told after the others' answers
        const flood = await early(await sign('early-flood'), 105, 103);
        expect(flood.seen).toEqual(['sent', 'hello', ...pongs(100), 'err RATE_LIMITED']);

        const { privateKey: stranger } = await generateKeyPair('ES256');
        const forged = await new SignJWT({ sub: 'mallory', scope: 'seats:read' }).setProtectedHeader({ alg: 'ES256', kid: 'slow' }).setExpirationTime('1h').sign(stranger);
        const refusedEarly = await early(forged, 3, 10);
        expect(refusedEarly.closeCode).toBe(4001);
        expect(refusedEarly.seen).toEqual(['sent']);
      } finally {
        await new Promise<void>((resolve) => keyServer.close(() => resolve()));
      }
    });

    it('closes with 4002 when the token expires during the connection', async () => {
      const c = await TestClient.connect(gw.wsUrl, { token: await token('brief', 'seats:read', 2) });
      const closed = await c.closed;
      expect(closed.code).toBe(4002);
    });
  });

  describe.skipIf(target.cluster)('hostile frames', () => {
    it('random bytes, text frames, trailing bytes, deep nesting and oversized frames get BAD_REQUEST; others are served throughout', async () => {
      const bystander = await connect('bystander');
      await bystander.ok({ t: 'sub', ev: 'e1' });
      const attacker = await connect('attacker');
      const nextErr = () => attacker.next((m) => m.t === 'err');
      const frames: (Uint8Array | string)[] = [
        new Uint8Array([0xc1]),
        Uint8Array.from({ length: 512 }, (_, i) => (i * 7919) % 256),
        'not binary',
        new Uint8Array([...encodeMessage({ t: 'ping', rid: 1 }), 0x00]),
        new Uint8Array(16_000).fill(0x91), // 16,000 nested arrays
        encode({ t: 'hold', rid: 9, ev: 'e1', seats: Array.from({ length: 5000 }, (_, i) => i) }), // over maxFrameBytes, under the hard cap
        new Uint8Array([0xdd, 0xff, 0xff, 0xff, 0xff]), // an array claiming 4 billion items
        encode({ t: 'sub', rid: 3, ev: { $gt: '' } }),
      ];
      for (const frame of frames) {
        const err = nextErr();
        attacker.sendRaw(frame);
        expect(await err).toMatchObject({ t: 'err', code: 'BAD_REQUEST' });
        // the bystander is still served
        expect(await bystander.request({ t: 'ping' })).toMatchObject({ t: 'pong' });
      }
      expect(await attacker.request({ t: 'ping' })).toMatchObject({ t: 'pong' });
      codesSeen.add('BAD_REQUEST');

      // past the hard cap (4 x maxFrameBytes) the connection is dropped; the process lives on
      attacker.sendRaw(new Uint8Array(70_000));
      expect((await attacker.closed).code).toBe(1006);
      const held = await bystander.ok({ t: 'hold', ev: 'e1', seats: [180] });
      await bystander.until('e1', (v) => v.seq >= (held.seq as number));
    });
  });

  describe('durable book acknowledgements', () => {
    it('answers PENDING when Postgres does not commit in BOOK_ACK_TIMEOUT_MS; the seats stay booked in Redis', async () => {
      // a gateway whose Postgres is unreachable: holds and books go on in Redis, the ack times out
      const offline = await startTestGateway({ ...target.env(), DATABASE_URL: `postgres://postgres@127.0.0.1:${await freePort()}/none`, BOOK_ACK_TIMEOUT_MS: '300' });
      try {
        await createVenueEvent(offline.store, 'p1', 100);
        const client = await TestClient.connect(offline.wsUrl, { token: await token('paula') });
        clients.push(client);
        const held = await client.ok({ t: 'hold', ev: 'p1', seats: [1, 2] });
        const started = Date.now();
        await expectErr(client, { t: 'book', ev: 'p1', tok: held.tok as string, key: 'k-pending' }, 'PENDING');
        expect(Date.now() - started).toBeGreaterThanOrEqual(290);
        // the seats are booked in Redis meanwhile: nobody else can take them
        const other = await TestClient.connect(offline.wsUrl, { token: await token('quinn') });
        clients.push(other);
        await expectErr(other, { t: 'hold', ev: 'p1', seats: [1] }, 'UNAVAILABLE');
      } finally {
        await offline.stop();
        // its event and outbox never reach a Postgres: nothing but its own prefix holds them
        await wipePrefix(offline.prefix);
      }
    });

    it('answers REFUSED when Postgres refuses the booking for good: its seats are released and every retry answers REFUSED', async () => {
      // Postgres already holds seat 250 of e2 in an active booking this Redis never had: the booking below is refused (23505)
      const other = randomUUID();
      await queryGatewayDb(gw.prefix, `INSERT INTO bookings (id, reference, event_id, holder, idempotency_key, state, seats, booked_at) VALUES ($1, $2, 'e2', 'zoe', $3, 'confirmed', '{250}', now())`, [other, bookingReference(other), `zoe-${other}`]);
      await queryGatewayDb(gw.prefix, `INSERT INTO booked_seats (event_id, seat, booking_id) VALUES ('e2', 250, $1)`, [other]);
      const rhea = await connect('rhea');
      const held = await rhea.ok({ t: 'hold', ev: 'e2', seats: [250, 251] });
      const refused = await expectErr(rhea, { t: 'book', ev: 'e2', tok: held.tok as string, key: 'k-refused' }, 'REFUSED');
      expect(refused.msg).toMatch(/23505/);
      // seat 251 is free again for anyone; seat 250 is the other booking's and stays booked
      const sam = await connect('sam');
      await sam.ok({ t: 'hold', ev: 'e2', seats: [251] });
      await expectErr(sam, { t: 'hold', ev: 'e2', seats: [250] }, 'UNAVAILABLE');
      // the retry is answered at once from the seat map, not after the ack timeout
      const started = Date.now();
      await expectErr(rhea, { t: 'book', ev: 'e2', tok: held.tok as string, key: 'k-refused' }, 'REFUSED');
      expect(Date.now() - started).toBeLessThan(2000);
    });

    it('the admin API answers NOT_FOUND for a booking the event does not have', async () => {
      const admin = await token('root', 'admin');
      const res = await apiFetch(`${gw.httpUrl}/events/e2/bookings/${randomUUID()}`, { headers: { authorization: `Bearer ${admin}` } });
      expect(res.status).toBe(404);
      const body = (await res.json()) as { code: string };
      expect(body.code).toBe('NOT_FOUND');
      codesSeen.add(body.code);
    });
  });

  describe('selling seats: best available, swap, extend with ms, orphan seats, accessible seats', () => {
    beforeAll(async () => {
      const strict = await createEventFromLayout(gw.store, 'grid', gridLayout({ sections: [[6, 6]], orphanPolicy: 'strict' }));
      const acc = await createEventFromLayout(gw.store, 'acc', gridLayout({ sections: [[6]], attrs: { 0: ['wheelchair'], 1: ['companion'] }, protectUntil: Date.now() + 3_600_000 }));
      expect(strict.ok && acc.ok).toBe(true);
    });

    it('best available answers seats and together; NO_BLOCK carries largest; BAD_REQUEST names the field', async () => {
      const kim = await connect('kim');
      const held = await kim.ok({ t: 'hold', ev: 'grid', best: { n: 2 } });
      expect(held).toMatchObject({ tok: expect.any(String), exp: expect.any(Number), seats: expect.any(Array), together: true });
      const seats = held.seats as number[];
      expect(seats[1]).toBe(seats[0]! + 1);
      const none = await expectErr(kim, { t: 'hold', ev: 'grid', best: { n: 6 }, tok: held.tok as string }, 'HOLD_LIMIT');
      expect(none.msg).toMatch(/6 more seats/);
      const noBlock = await expectErr(await connect('lou'), { t: 'hold', ev: 'grid', best: { n: 5 } }, 'NO_BLOCK');
      // the back row's 6 free seats would take a block of 6, but 5 of them strand the sixth (strict)
      expect(noBlock.largest).toBe(6);
      expect(noBlock.msg).toMatch(/biggest block that would is 6 seats/);
      const unknown = await expectErr(kim, { t: 'hold', ev: 'grid', best: { n: 2, categories: ['gold'] } }, 'BAD_REQUEST');
      expect(unknown).toMatchObject({ reason: 'categories', msg: expect.stringMatching(/^best\.categories/) });
    });

    it('ORPHAN_SEAT names the seat a hold would strand; swap moves seats in one diff; extend with ms 0 releases all', async () => {
      const max = await connect('max');
      const watcher = await connect('grid-watcher');
      await watcher.ok({ t: 'sub', ev: 'grid' });
      const stranded = await expectErr(max, { t: 'hold', ev: 'grid', seats: [7, 8] }, 'ORPHAN_SEAT');
      expect(stranded.seats).toEqual([6]);
      expect(stranded.msg).toMatch(/seat 6 alone/);
      const held = await max.ok({ t: 'hold', ev: 'grid', seats: [6, 7] });
      const swapped = await max.ok({ t: 'swap', ev: 'grid', tok: held.tok as string, release: [6, 7], hold: [10, 11] });
      expect(swapped).toMatchObject({ exp: expect.any(Number), seq: (held.seq as number) + 1 });
      const view = await watcher.until('grid', (v) => v.seq >= (swapped.seq as number));
      expect([view.status[6], view.status[7], view.status[10], view.status[11]]).toEqual([0, 0, 1, 1]);
      const ended = await max.ok({ t: 'extend', ev: 'grid', tok: held.tok as string, ms: 0 });
      expect(ended).toMatchObject({ n: 2 });
      await expectErr(max, { t: 'extend', ev: 'grid', tok: held.tok as string, ms: 1000 }, 'EXPIRED');
    });

    it('wheelchair seats need the acc claim or the seats:box-office scope; a companion seat needs its wheelchair seat', async () => {
      const ned = await connect('ned');
      const refused = await expectErr(ned, { t: 'hold', ev: 'acc', seats: [0] }, 'UNAVAILABLE');
      expect(refused).toMatchObject({ reason: 'accessible', seats: [0], msg: expect.stringMatching(/wheelchair/) });
      const box = await connect('box', 'seats:read seats:hold seats:box-office');
      const companion = await expectErr(box, { t: 'hold', ev: 'acc', seats: [1] }, 'BAD_REQUEST');
      expect(companion).toMatchObject({ reason: 'companion', msg: expect.stringMatching(/wheelchair seat in the same hold token/) });
      const accClient = await TestClient.connect(gw.wsUrl, { token: await mintAcc('ola') });
      clients.push(accClient);
      expect(await accClient.ok({ t: 'hold', ev: 'acc', best: { n: 2, accessible: 1 } })).toMatchObject({ seats: [0, 1], together: true });
    });
  });

  async function mintAcc(sub: string): Promise<string> {
    const { mintDevToken } = await import('../gateway/auth.js');
    return mintDevToken(TEST_JWT_SECRET, { sub, scope: 'seats:read seats:hold', acc: true });
  }
});

describe('catalogue coverage', () => {
  it('every error code of the catalogue was produced by a test in this file', () => {
    expect([...codesSeen].sort()).toEqual([...ERROR_CODES].sort());
  });
});
