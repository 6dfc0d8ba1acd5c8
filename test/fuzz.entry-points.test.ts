/**
 * Hostile text at every entry point that takes a string: protocol fields,
 * JWT claims, HTTP paths, query parameters and JSON bodies, with NUL,
 * control characters, unpaired surrogates, U+FFFD, invalid UTF-8, 64 KB
 * strings and injection-looking text. Each must get a documented answer (an
 * error code of the catalogue, a documented close code, or an ordinary
 * success for text that is merely odd), change nothing in Redis or
 * Postgres, and leave Redis and Postgres agreeing; an HTTP answer must also
 * be what the OpenAPI document says (apiFetch). The gateway is real, on the
 * test Redis and Postgres.
 */
import { connect } from 'node:net';
import fc from 'fast-check';
import { SignJWT } from 'jose';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ERROR_CODES, isErrorCode } from '../core/errors.js';
import { encodeMessage, type ServerMessage } from '../core/protocol/index.js';
import { SeatState } from '../core/store/index.js';
import { isSafeText, textProblem } from '../core/text.js';
import { TEST_JWT_SECRET, createVenueEvent, queryGatewayDb, startTestGateway, token, wipePrefix, type TestGateway } from './support/gateway.js';
import { apiFetch } from './support/openapi.js';
import { TestClient } from './support/ws-client.js';

const EV = 'fz';
const SEATS = 200;
const VALID_TOKEN_FORM = 'AAAAAAAAAAAAAAAA'; // a hold token of the issued form that does not exist

/** Text every entry point sees: each class the rules name, plus odd but harmless text. */
const HOSTILE: string[] = [
  '\u0000',
  'order\u0000123',
  '\u0007bell',
  '\u001b[31mred',
  'line\nbreak',
  'tab\there',
  '\u007f',
  '\u0085',
  '\ud800',
  'x\udfff',
  '\ufffd',
  'x'.repeat(64 * 1024),
  'é'.repeat(40_000),
  '\u202egnp.exe',
  '../../etc/passwd',
  "'; DROP TABLE bookings; --",
  '%00',
  '%ff%fe',
  '{{7*7}}${7*7}',
  '',
  ' ',
];

let gw: TestGateway;
let admin: string;
let baseline: Digest;

interface Digest {
  redis: { epoch: number; seq: number; status: string; events: string[] };
  postgres: Record<string, unknown>[];
}

async function digest(): Promise<Digest> {
  const snap = (await gw.store.snapshot(EV))!;
  const postgres = await queryGatewayDb(
    gw.prefix,
    `SELECT (SELECT count(*) FROM events) AS events, (SELECT count(*) FROM bookings) AS bookings,
            (SELECT count(*) FROM booking_history) AS history, (SELECT count(*) FROM booked_seats) AS booked,
            (SELECT count(*) FROM blocked_seats) AS blocked, (SELECT count(*) FROM seat_changes) AS changes`,
  );
  return { redis: { epoch: snap.epoch, seq: snap.seq, status: Buffer.from(snap.status).toString('hex'), events: (await gw.store.registeredEvents()).sort() }, postgres };
}

/** Redis and Postgres agree on the event: the seats BOOKED in Redis are exactly those in booked_seats. */
async function agree(): Promise<void> {
  const snap = (await gw.store.snapshot(EV))!;
  const inRedis = [...snap.status].flatMap((s, seat) => (s === SeatState.BOOKED ? [seat] : []));
  const rows = await queryGatewayDb(gw.prefix, 'SELECT seat FROM booked_seats WHERE event_id = $1 ORDER BY seat', [EV]);
  expect(inRedis).toEqual(rows.map((r) => Number(r.seat)));
}

beforeAll(async () => {
  gw = await startTestGateway({ OPS_PER_SECOND: '100000', OPS_BURST: '100000' });
  await createVenueEvent(gw.store, EV, SEATS);
  admin = await token('ops', 'admin');
  // some state to keep unchanged: a booking in Postgres, a hold, a blocked seat
  const buyer = await TestClient.connect(gw.wsUrl, { token: await token('buyer') });
  const held = await buyer.ok({ t: 'hold', ev: EV, seats: [1, 2] });
  await buyer.ok({ t: 'book', ev: EV, tok: held.tok as string, key: 'fz-order-1' });
  await buyer.ok({ t: 'hold', ev: EV, seats: [3, 4] });
  await buyer.close();
  const blocked = await http('POST', `/events/${EV}/block`, JSON.stringify({ seats: [9] }), admin);
  expect(blocked.status).toBe(200);
  baseline = await digest();
  await agree();
}, 60_000);

afterAll(async () => {
  await gw?.stop();
  if (gw) await wipePrefix(gw.prefix);
});

async function http(method: string, path: string, body?: string | Buffer, bearer?: string): Promise<{ status: number; json: { code?: string; msg?: string } | null }> {
  const headers: Record<string, string> = {};
  if (bearer) headers.authorization = `Bearer ${bearer}`;
  if (body !== undefined) headers['content-type'] = 'application/json';
  // checked against the OpenAPI document, but for a path with an empty segment (`/events/`, `/events//availability`): an
  // OpenAPI path parameter is never empty, and the catch-all 404 such a path may reach has no path to be described at
  const emptySegment = /\/\/|\/(\?|$)/.test(path);
  const res = await (emptySegment ? fetch : apiFetch)(`${gw.httpUrl}${path}`, { method, headers, body });
  const text = await res.text();
  let json: { code?: string } | null = null;
  try {
    json = JSON.parse(text) as { code?: string };
  } catch {
    // not JSON
  }
  return { status: res.status, json };
}

/** A raw request line over TCP: bytes no URL class would let through (invalid UTF-8, control bytes). */
function rawHttp(requestLine: Buffer, bearer: string): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    const socket = connect(Number(new URL(gw.httpUrl).port), '127.0.0.1');
    let data = '';
    let finished = false;
    const done = () => {
      if (finished) return;
      finished = true;
      socket.destroy();
      const status = Number(/^HTTP\/1\.1 (\d{3})/.exec(data)?.[1] ?? 0);
      resolve({ status, body: data.slice(data.indexOf('\r\n\r\n') + 4) });
    };
    // done at the end of one whole answer (headers and Content-Length bytes), or when the server closes
    socket.on('data', (chunk) => {
      data += chunk.toString('latin1');
      const head = data.indexOf('\r\n\r\n');
      const length = Number(/\r\ncontent-length: *(\d+)/i.exec(data)?.[1] ?? NaN);
      if (head >= 0 && data.length >= head + 4 + (Number.isNaN(length) ? 0 : length)) done();
    });
    socket.on('error', reject);
    socket.on('close', done);
    // a request line with NUL or ESC bytes gets no answer from uWS: it closes the socket at its HTTP timeout (~10 s)
    setTimeout(done, 1500).unref();
    socket.write(Buffer.concat([requestLine, Buffer.from(`\r\nHost: 127.0.0.1\r\nAuthorization: Bearer ${bearer}\r\nConnection: close\r\n\r\n`)]));
  });
}

/** An HTTP answer that is documented: not a 5xx, and JSON with a catalogue code when it is an error. */
function expectDocumented(what: string, res: { status: number; json: { code?: string } | null }): void {
  expect(res.status, what).toBeLessThan(500);
  if (res.status >= 400) expect(isErrorCode(res.json?.code), `${what}: ${JSON.stringify(res.json)}`).toBe(true);
}

describe('hostile text at every entry point', () => {
  let client: TestClient;
  const connectClient = async () => (client = await TestClient.connect(gw.wsUrl, { token: await token('fuzzer') }));

  /** Sends one frame; resolves with the reply, or 'closed' when the server dropped the connection (documented for frames over 4 × maxFrameBytes). */
  async function send(frame: Uint8Array, rid: number | string | null): Promise<ServerMessage | 'closed'> {
    if (client.ws.readyState !== client.ws.OPEN) await connectClient();
    const reply = client.next((m) => (m.t === 'err' || m.t === 'ok' || m.t === 'pong') && (rid === null || m.rid === rid || m.rid === null), 5000);
    const closed = client.closed.then(() => 'closed' as const);
    client.sendRaw(frame);
    return Promise.race([reply, closed]);
  }

  beforeAll(connectClient);
  afterAll(() => client?.close());

  it('protocol: every string field of every request, with each hostile value', async () => {
    const shapes: ((v: string) => Record<string, unknown>)[] = [
      (v) => ({ t: v, rid: 1 }),
      (v) => ({ t: 'ping', rid: v }),
      (v) => ({ t: 'sub', rid: 1, ev: v }),
      (v) => ({ t: 'unsub', rid: 1, ev: v }),
      (v) => ({ t: 'hold', rid: 1, ev: EV, seats: [50], tok: v }),
      (v) => ({ t: 'release', rid: 1, ev: EV, tok: v }),
      (v) => ({ t: 'extend', rid: 1, ev: EV, tok: v }),
      (v) => ({ t: 'book', rid: 1, ev: EV, tok: v, key: 'k-1' }),
      (v) => ({ t: 'book', rid: 1, ev: EV, tok: VALID_TOKEN_FORM, key: v }),
      (v) => ({ t: 'hold', rid: 1, ev: v, seats: [50] }),
    ];
    let answered = 0;
    for (const shape of shapes) {
      for (const value of HOSTILE) {
        const request = shape(value);
        const frame = encodeMessage(request as never);
        const reply = await send(frame, typeof request.rid === 'number' ? request.rid : null);
        const what = `${JSON.stringify(request).slice(0, 80)} (${frame.byteLength} bytes)`;
        if (reply === 'closed') {
          // only a frame over 4 × maxFrameBytes may drop the connection
          expect(frame.byteLength, what).toBeGreaterThan(4 * 16384);
          continue;
        }
        expect(reply.t === 'err' || reply.t === 'ok' || reply.t === 'pong', what).toBe(true);
        if (reply.t === 'err') expect(ERROR_CODES, what).toContain(reply.code);
        // text the rules refuse, in a field that keeps or stores it, is BAD_REQUEST
        if (frame.byteLength <= 16384 && !isSafeText(value, 128) && ['rid', 'key', 'ev', 'tok', 't'].some((f) => request[f] === value)) {
          expect(reply, what).toMatchObject({ t: 'err', code: 'BAD_REQUEST' });
        }
        answered++;
      }
    }
    expect(answered).toBeGreaterThan(shapes.length * (HOSTILE.length - 3));
  }, 120_000);

  it('protocol: strings that are not valid UTF-8, in every string field', async () => {
    const invalid = [[0xc3, 0x28], [0xff], [0xed, 0xa0, 0x80], [0xe2, 0x82], [0xf8, 0x88, 0x80, 0x80, 0x80], [0xc0, 0x80]];
    const str = (bytes: number[]) => [0xa0 | bytes.length, ...bytes];
    const text = (s: string) => str([...Buffer.from(s)]);
    for (const bad of invalid) {
      for (const field of ['t', 'rid', 'ev', 'tok', 'key']) {
        const entries: [string, number[]][] = [
          ['t', text('book')],
          ['rid', [0x07]],
          ['ev', text(EV)],
          ['tok', text(VALID_TOKEN_FORM)],
          ['key', text('k-1')],
        ].map(([k, v]) => [k as string, k === field ? str(bad) : (v as number[])]);
        const frame = Uint8Array.from([0x80 | entries.length, ...entries.flatMap(([k, v]) => [...text(k), ...v])]);
        const reply = await send(frame, null);
        expect(reply, `${field} = ${Buffer.from(bad).toString('hex')}`).toMatchObject({ t: 'err', code: 'BAD_REQUEST', rid: null });
      }
    }
  });

  it('protocol: random strings in the key and rid fields are refused exactly when they break the text rule', async () => {
    await fc.assert(
      fc.asyncProperty(fc.string({ unit: fc.oneof(fc.constantFrom('\u0000', '\u001f', '\u0085', '\ufffd', '\ud800', 'é', 'a', '-', ' '), fc.string({ unit: 'binary', minLength: 1, maxLength: 1 })), minLength: 1, maxLength: 40 }), async (value) => {
        const reply = await send(encodeMessage({ t: 'book', rid: 42, ev: EV, tok: VALID_TOKEN_FORM, key: value }), 42);
        expect(reply).not.toBe('closed');
        const lone = /[\ud800-\udbff](?![\udc00-\udfff])|(?<![\ud800-\udbff])[\udc00-\udfff]/.test(value);
        // an unpaired surrogate cannot be encoded as UTF-8: the frame itself is refused (rid null)
        if (lone) expect(reply).toMatchObject({ t: 'err', code: 'BAD_REQUEST' });
        else if (!isSafeText(value, 128)) expect(reply).toMatchObject({ t: 'err', code: 'BAD_REQUEST', rid: 42 });
        else expect(reply).toMatchObject({ t: 'err', code: 'EXPIRED', rid: 42 }); // a well-formed key, an unknown token
      }),
      { numRuns: 150 },
    );
  });

  it('JWT claims: a hostile subject is refused with 4001; hostile scopes are ignored', async () => {
    const sign = (claims: Record<string, unknown>) =>
      new SignJWT(claims).setProtectedHeader({ alg: 'HS256' }).setIssuedAt().setExpirationTime('1h').sign(new TextEncoder().encode(TEST_JWT_SECRET));
    for (const sub of HOSTILE) {
      const jwt = await sign({ sub, scope: 'seats:read seats:hold seats:book' });
      const outcome = await TestClient.connect(gw.wsUrl, { token: jwt }).then(
        async (c) => {
          const hello = c.hello!;
          await c.close();
          return { accepted: true as const, sub: hello.sub };
        },
        (err: { code?: number }) => ({ accepted: false as const, code: err.code }),
      );
      if (textProblem(sub, 128) === null) expect(outcome, JSON.stringify(sub.slice(0, 20))).toMatchObject({ accepted: true, sub });
      else expect(outcome, JSON.stringify(sub.slice(0, 20))).toEqual({ accepted: false, code: 4001 });
    }
    for (const scope of HOSTILE.filter((s) => s.length < 100)) {
      const c = await TestClient.connect(gw.wsUrl, { token: await sign({ sub: 'scoped', scope: `seats:read ${scope}` }) });
      expect(c.hello!.scopes).toEqual(['seats:read']);
      await c.close();
    }
  }, 60_000);

  it('HTTP paths and query parameters: never a 5xx, always a catalogue code, nothing changed', async () => {
    const enc = encodeURIComponent;
    for (const value of HOSTILE) {
      let e: string;
      try {
        e = enc(value);
      } catch {
        e = '%ED%A0%80'; // an unpaired surrogate cannot be percent-encoded: send its (invalid) bytes
      }
      for (const [method, path] of [
        ['GET', `/events/${e}`],
        ['GET', `/events/${e}/availability`],
        ['GET', `/events/${EV}/bookings/${e}`],
        ['POST', `/events/${EV}/bookings/${e}/cancel`],
        ['GET', `/events/${EV}/bookings?holder=${e}`],
        ['GET', `/events/${EV}/bookings?state=${e}`],
        ['GET', `/events/${EV}/bookings?cursor=${e}`],
        ['GET', `/events/${EV}/bookings?limit=${e}`],
        ['POST', `/events/${EV}/bookings/SM-00000000/cancel?reason=${e}`],
        ['DELETE', `/events/${e}`],
        ['POST', `/bookings/${e}/confirm`],
        ['POST', `/bookings/${e}/fail`],
        ['GET', `/events/${e}/log`],
        ['GET', `/events/${EV}/log?after=${e}`],
        ['GET', `/webhooks/${e}`],
        ['GET', `/webhooks/00000000-0000-4000-8000-000000000000/deliveries?state=${e}`],
        ['GET', `/demo/token?sub=${e}`],
      ] as const) {
        const res = await http(method, path, undefined, admin).catch((err: Error) => {
          // uWS drops a request whose head (request line and headers) passes its limit, about 64 KiB (docs/gateway.md)
          if (path.length > 60_000) return null;
          throw new Error(`${method} ${path.slice(0, 80)} (${path.length} chars): ${String(err.cause ?? err)}`);
        });
        if (res) expectDocumented(`${method} ${path.slice(0, 80)}`, res);
      }
    }
    // bytes no URL encoder produces: invalid UTF-8 and control bytes straight in the request line
    for (const bytes of [[0xff, 0xfe], [0xc3, 0x28], [0x00], [0x1b, 0x5b]]) {
      for (const template of ['GET /events/X HTTP/1.1', `GET /events/${EV}/bookings/X HTTP/1.1`, `GET /events/${EV}/bookings?holder=X HTTP/1.1`]) {
        const [before, after] = template.split('X') as [string, string];
        const res = await rawHttp(Buffer.concat([Buffer.from(before), Buffer.from(bytes), Buffer.from(after)]), admin);
        // uWS itself may refuse a malformed request line (400, or closing): never a 5xx
        expect(res.status === 0 || res.status < 500, `${template} ${Buffer.from(bytes).toString('hex')}: ${res.status}`).toBe(true);
      }
    }
  }, 120_000);

  it('JSON bodies: hostile ids, labels, seats and bytes are BAD_REQUEST and create nothing', async () => {
    const layout = (label: string) => ({
      version: 1,
      name: 'Fuzz hall',
      categories: [{ id: 'std', label: 'Standard', price: 1000 }],
      sections: [{ id: 'A', label, category: 'std', rows: [{ label: '1', seats: [{ label: '1', x: 0, y: 0 }] }] }],
    });
    const created: string[] = [];
    for (const [i, value] of HOSTILE.entries()) {
      const asId = await http('POST', '/events', JSON.stringify({ id: value, layout: layout('Block A') }), admin);
      expectDocumented(`POST /events id ${JSON.stringify(value.slice(0, 20))}`, asId);
      if (asId.status === 201) throw new Error(`an event was created with id ${JSON.stringify(value)}`);
      const id = `fz-new-${i}`;
      const asLabel = await http('POST', '/events', JSON.stringify({ id, layout: layout(value) }), admin);
      expectDocumented(`POST /events label ${JSON.stringify(value.slice(0, 20))}`, asLabel);
      if (!isSafeText(value, 32) || value.trim() === '') expect(asLabel.status).toBe(400);
      else if (asLabel.status === 201) created.push(id); // odd but valid: undone below
      for (const op of ['block', 'unblock']) {
        expectDocumented(`${op} ${JSON.stringify(value.slice(0, 20))}`, await http('POST', `/events/${EV}/${op}`, JSON.stringify({ seats: [value] }), admin));
      }
    }
    // bytes that are not UTF-8 inside a JSON string
    for (const bytes of [[0xff], [0xc3, 0x28], [0xed, 0xa0, 0x80]]) {
      const [pre, post] = JSON.stringify({ id: 'fz-bytes', layout: layout('@') }).split('@') as [string, string];
      const body = Buffer.concat([Buffer.from(pre), Buffer.from(bytes), Buffer.from(post)]);
      const res = await http('POST', '/events', body, admin);
      expect(res.status, Buffer.from(bytes).toString('hex')).toBe(400);
      expect(res.json?.code).toBe('BAD_REQUEST');
    }
    for (const id of created) expect((await http('DELETE', `/events/${id}`, undefined, admin)).status).toBe(200);
  }, 120_000);

  it('left Redis and Postgres as they were, and agreeing', async () => {
    // an odd-but-valid event created and deleted on purpose leaves a marked row in Postgres; everything else must be as before
    const now = await digest();
    expect({ epoch: now.redis.epoch, seq: now.redis.seq, events: now.redis.events }, 'Redis position and registry').toEqual({ epoch: baseline.redis.epoch, seq: baseline.redis.seq, events: baseline.redis.events });
    expect(now.redis.status, 'Redis seat states').toBe(baseline.redis.status);
    const rows = await queryGatewayDb(gw.prefix, "SELECT count(*) AS n FROM events WHERE id NOT LIKE 'fz-new-%'");
    expect({ ...now.postgres[0], events: rows[0]!.n }, 'Postgres row counts').toEqual(baseline.postgres[0]);
    await agree();
  });
});
