/**
 * The gateway's HTTP routes, served by a real uWS app over a real seat store.
 * Every response is checked against the OpenAPI document (apiFetch).
 */
import { gunzipSync } from 'node:zlib';
import { pino } from 'pino';
import uWS from 'uWebSockets.js';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { createAuthenticator, mintDevToken } from '../gateway/auth.js';
import { registerEventRoutes, type EventRouteDeps } from '../gateway/event-routes.js';
import { registerHealthRoutes, type HealthRouteDeps } from '../gateway/health-routes.js';
import { sendJson } from '../gateway/http-util.js';
import { LayoutCache, buildLayoutView, type LayoutView } from '../gateway/layout-view.js';
import { createMetrics } from '../gateway/metrics.js';
import { generateVenue } from '../core/layout/generate-venue.js';
import { freePort } from './support/net.js';
import { apiFetch } from './support/openapi.js';
import { createTestStore } from './support/redis.js';

const SECRET = 'test-secret';
const MAX_BODY = 256 * 1024;

const t = createTestStore();
const layouts = new LayoutCache();
let readiness: Record<string, boolean> = {};
let readinessFails = false;
/** when set, checkReadiness waits for it */
let readinessGate: Promise<void> | null = null;
let readinessCalls = 0;
/** warnings and errors the routes logged */
const logged: { level: number; msg: string }[] = [];
let draining = false;
const live = new Map<string, { epoch: number; seq: number; status: Uint8Array }>();

let listenSocket: uWS.us_listen_socket | null = null;
let base = '';
let adminToken = '';
let userToken = '';

const venue = generateVenue({ seats: 500, seed: 1, name: 'T' });

beforeAll(async () => {
  const metrics = createMetrics({ defaultMetrics: false });
  const deps: EventRouteDeps & HealthRouteDeps = {
    store: t.store,
    authenticator: createAuthenticator({ jwtSecret: SECRET, allowAnonymous: false }),
    metrics,
    logger: pino({ level: 'warn' }, { write: (line: string) => void logged.push(JSON.parse(line) as { level: number; msg: string }) }),
    layouts,
    isDraining: () => draining,
    checkReadiness: async () => {
      readinessCalls++;
      if (readinessGate) await readinessGate;
      if (readinessFails) throw new Error('boom');
      return { ...readiness };
    },
    liveStatus: (id) => live.get(id) ?? null,
    maxBodyBytes: MAX_BODY,
  };
  const app = uWS.App();
  registerHealthRoutes(app, deps);
  registerEventRoutes(app, deps);
  app.any('/*', (res) => sendJson(res, 404, { code: 'BAD_REQUEST', msg: 'no such route' }));
  const port = await freePort();
  listenSocket = await new Promise<uWS.us_listen_socket>((resolve, reject) => {
    app.listen('127.0.0.1', port, (socket) => (socket ? resolve(socket) : reject(new Error(`cannot listen on ${port}`))));
  });
  base = `http://127.0.0.1:${port}`;
  adminToken = await mintDevToken(SECRET, { sub: 'admin-1', scope: 'admin' });
  userToken = await mintDevToken(SECRET, { sub: 'user-1', scope: 'seats:read seats:hold seats:book' });
});

afterAll(async () => {
  if (listenSocket) uWS.us_listen_socket_close(listenSocket);
  await t.cleanup();
});

beforeEach(() => {
  readiness = { redis: true, postgres: true, scripts: true };
  readinessFails = false;
  readinessGate = null;
  draining = false;
  live.clear();
});

function postEvent(body: unknown, token: string | null = adminToken, init: RequestInit = {}): Promise<Response> {
  const headers: Record<string, string> = { 'Content-Type': 'application/json' };
  if (token !== null) headers.Authorization = `Bearer ${token}`;
  return apiFetch(`${base}/events`, { method: 'POST', headers, body: typeof body === 'string' ? body : JSON.stringify(body), ...init });
}

async function createEvent(id: string, layout: unknown = venue): Promise<{ id: string; epoch: number; seatCount: number }> {
  const res = await postEvent({ id, layout });
  expect(res.status).toBe(201);
  return (await res.json()) as { id: string; epoch: number; seatCount: number };
}

describe('health, readiness and metrics', () => {
  it('GET /healthz answers ok', async () => {
    const res = await apiFetch(`${base}/healthz`);
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toMatch(/^application\/json/);
    expect(await res.json()).toEqual({ status: 'ok' });
  });

  it('GET /readyz is 200 when every check passes', async () => {
    const res = await apiFetch(`${base}/readyz`);
    expect(res.status).toBe(200);
    expect(await res.json()).toEqual({ status: 'ready', checks: { redis: true, postgres: true, scripts: true } });
  });

  it('GET /readyz is 503 "not ready" when a required check fails', async () => {
    readiness.redis = false;
    const res = await apiFetch(`${base}/readyz`);
    expect(res.status).toBe(503);
    expect(await res.json()).toEqual({ status: 'not ready', checks: { redis: false, postgres: true, scripts: true } });
  });

  it('GET /readyz stays 200 while Postgres is down, and says so: holds and books go on in Redis', async () => {
    readiness.postgres = false;
    const res = await apiFetch(`${base}/readyz`);
    expect(res.status).toBe(200);
    expect(await res.json()).toEqual({ status: 'ready', checks: { redis: true, postgres: false, scripts: true } });
  });

  it('GET /readyz is 503 "not ready" when the checks themselves throw', async () => {
    readinessFails = true;
    const res = await apiFetch(`${base}/readyz`);
    expect(res.status).toBe(503);
    expect(await res.json()).toMatchObject({ status: 'not ready' });
  });

  it('GET /readyz is 503 "draining" once shutdown began, even with every check passing', async () => {
    draining = true;
    const res = await apiFetch(`${base}/readyz`);
    expect(res.status).toBe(503);
    expect(await res.json()).toEqual({ status: 'draining', checks: { redis: true, postgres: true, scripts: true } });
  });

  it('GET /metrics serves the Prometheus text', async () => {
    const res = await apiFetch(`${base}/metrics`);
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toMatch(/^text\/plain/);
    const text = await res.text();
    expect(text).toContain('# TYPE seatmap_connections gauge');
    expect(text).toMatch(/^seatmap_connections 0$/m);
  });
});

describe('POST /events', () => {
  it('creates an event from a layout with an admin token, then refuses to create it again', async () => {
    const created = await createEvent('arena-1');
    expect(created).toMatchObject({ id: 'arena-1', seatCount: 500 });
    expect(Number.isSafeInteger(created.epoch)).toBe(true);
    const meta = await t.store.meta('arena-1');
    expect(meta).toMatchObject({ seatCount: 500, epoch: created.epoch });

    const again = await postEvent({ id: 'arena-1', layout: venue });
    expect(again.status).toBe(409);
    expect(await again.json()).toMatchObject({ code: 'CONFLICT' });
    expect((await t.store.meta('arena-1'))?.epoch).toBe(created.epoch);
  });

  it('makes an id when the body has none: {layout}, or the bare layout npm run venue writes', async () => {
    for (const body of [{ layout: venue }, venue]) {
      const res = await postEvent(body);
      expect(res.status).toBe(201);
      const created = (await res.json()) as { id: string; seatCount: number };
      expect(created.id).toMatch(/^ev-[0-9a-f]{12}$/);
      expect(created.seatCount).toBe(500);
      expect((await t.store.meta(created.id))?.seatCount).toBe(500);
    }
  });

  it('answers 401 without a token or with an invalid one', async () => {
    for (const token of [null, 'not-a-jwt', await mintDevToken('other-secret', { sub: 'x', scope: 'admin' })]) {
      const res = await postEvent({ id: 'nope-1', layout: venue }, token);
      expect(res.status).toBe(401);
      expect(await res.json()).toMatchObject({ code: 'UNAUTHORIZED' });
    }
    const basic = await postEvent({ id: 'nope-1', layout: venue }, null, {
      headers: { Authorization: `Basic ${Buffer.from('a:b').toString('base64')}` },
    });
    expect(basic.status).toBe(401);
    expect(await t.store.meta('nope-1')).toBeNull();
  });

  it('answers 403 to a valid token without the admin scope', async () => {
    const res = await postEvent({ id: 'nope-2', layout: venue }, userToken);
    expect(res.status).toBe(403);
    expect(await res.json()).toMatchObject({ code: 'FORBIDDEN' });
    expect(await t.store.meta('nope-2')).toBeNull();
  });

  it('answers 400 with the layout issues to an invalid layout', async () => {
    const empty = await postEvent({ id: 'bad-1', layout: { ...venue, sections: [] } });
    expect(empty.status).toBe(400);
    const emptyBody = (await empty.json()) as { code: string; msg: string; issues: { code: string; path: string }[] };
    expect(emptyBody.code).toBe('BAD_REQUEST');
    expect(emptyBody.msg).toMatch(/invalid layout/);
    expect(emptyBody.issues).toEqual(expect.arrayContaining([expect.objectContaining({ code: 'INVALID_SHAPE', path: 'sections' })]));

    const broken = structuredClone(venue);
    broken.sections[0]!.rows[1]!.seats = [];
    const res = await postEvent({ id: 'bad-1', layout: broken });
    expect(res.status).toBe(400);
    const body = (await res.json()) as { issues: { code: string }[] };
    expect(body.issues.map((i) => i.code)).toContain('EMPTY_ROW');

    const missing = await postEvent({ id: 'bad-1' });
    expect(missing.status).toBe(400);
    expect(((await missing.json()) as { issues: unknown[] }).issues.length).toBeGreaterThan(0);
    expect(await t.store.meta('bad-1')).toBeNull();
  });

  it('answers 400 to bad JSON, a body that is not an object, and bad ids', async () => {
    for (const body of ['{"id": "x", "layout":', '[1,2]', 'null']) {
      const res = await postEvent(body);
      expect(res.status).toBe(400);
      expect(await res.json()).toMatchObject({ code: 'BAD_REQUEST' });
    }
    for (const id of ['', 'has space', 'a/b', 'x'.repeat(65), 42, 'ünï']) {
      const res = await postEvent({ id, layout: venue });
      expect(res.status).toBe(400);
      expect(await res.json()).toMatchObject({ code: 'BAD_REQUEST' });
    }
  });

  it('answers 413 to a body over maxBodyBytes (declared length)', async () => {
    const res = await postEvent({ id: 'big-1', layout: venue, pad: 'x'.repeat(MAX_BODY) });
    expect(res.status).toBe(413);
    expect(await res.json()).toEqual({ code: 'BAD_REQUEST', msg: 'body too large' });
    expect(await t.store.meta('big-1')).toBeNull();
  });

  it('answers 413 to a streamed (chunked) body over maxBodyBytes', async () => {
    const chunk = new TextEncoder().encode('x'.repeat(32 * 1024));
    let sent = 0;
    const stream = new ReadableStream<Uint8Array>({
      pull(controller) {
        if (sent >= MAX_BODY * 2) return controller.close();
        sent += chunk.byteLength;
        controller.enqueue(chunk);
      },
    });
    const res = await apiFetch(`${base}/events`, {
      method: 'POST',
      headers: { Authorization: `Bearer ${adminToken}`, 'Content-Type': 'application/json' },
      body: stream,
      duplex: 'half',
    } as RequestInit);
    expect(res.status).toBe(413);
    expect(await res.json()).toEqual({ code: 'BAD_REQUEST', msg: 'body too large' });
  });

  it('accepts a streamed (chunked) body under the limit', async () => {
    const text = new TextEncoder().encode(JSON.stringify({ id: 'chunked-1', layout: generateVenue({ seats: 120, seed: 3 }) }));
    const stream = new ReadableStream<Uint8Array>({
      start(controller) {
        for (let at = 0; at < text.byteLength; at += 1000) controller.enqueue(text.slice(at, at + 1000));
        controller.close();
      },
    });
    const res = await apiFetch(`${base}/events`, {
      method: 'POST',
      headers: { Authorization: `Bearer ${adminToken}` },
      body: stream,
      duplex: 'half',
    } as RequestInit);
    expect(res.status).toBe(201);
    expect(await res.json()).toMatchObject({ id: 'chunked-1', seatCount: 120 });
  });
});

describe('GET /events/:id', () => {
  let epoch = 0;
  beforeAll(async () => {
    ({ epoch } = await createEvent('layout-1'));
  });

  it('serves the columnar layout view, seat index = array position', async () => {
    const res = await apiFetch(`${base}/events/layout-1`, { headers: { 'Accept-Encoding': 'identity' } });
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toMatch(/^application\/json/);
    expect(res.headers.get('content-encoding')).toBeNull();
    expect(res.headers.get('etag')).toBe(`"layout-1-${epoch}"`);
    expect(res.headers.get('cache-control')).toBe('public, max-age=60');
    expect(res.headers.get('vary')).toBe('Accept-Encoding');
    const view = (await res.json()) as LayoutView;

    expect(view).toMatchObject({ id: 'layout-1', epoch, name: 'T', currency: venue.currency, seatCount: 500 });
    for (const column of [view.seats.label, view.seats.x, view.seats.y, view.seats.category]) expect(column).toHaveLength(500);
    expect(view.categories).toEqual(venue.categories.map(({ id, label, price }) => ({ id, label, price })));
    expect(view.seats.category.every((c) => Number.isInteger(c) && c >= 0 && c < view.categories.length)).toBe(true);

    // rows are contiguous ranges covering every seat once, in order
    let next = 0;
    for (const row of view.rows) {
      expect(row.first).toBe(next);
      expect(row.count).toBeGreaterThan(0);
      next += row.count;
    }
    expect(next).toBe(500);
    expect(view.rows.reduce((sum, r) => sum + r.count, 0)).toBe(500);
    // every row belongs to exactly the section that lists it
    expect(view.sections.flatMap((s) => s.rows)).toEqual(view.rows.map((_, i) => i));
    view.sections.forEach((s, si) => s.rows.forEach((r) => expect(view.rows[r]!.section).toBe(si)));

    // the view matches the document, walked in row-major order
    const seats = venue.sections.flatMap((s) => s.rows.flatMap((r) => r.seats));
    expect(view.seats.label).toEqual(seats.map((s) => s.label));
    expect(view.seats.x).toEqual(seats.map((s) => s.x));
    expect(view.seats.y).toEqual(seats.map((s) => s.y));
    const firstSeat = venue.sections[0]!.rows[0]!.seats[0]!;
    const categoryOfFirst = firstSeat.category ?? venue.sections[0]!.rows[0]!.category ?? venue.sections[0]!.category;
    expect(view.categories[view.seats.category[0]!]!.id).toBe(categoryOfFirst);

    // and equals what buildLayoutView makes of the stored document
    expect(view).toEqual(buildLayoutView('layout-1', epoch, await t.store.layout('layout-1')));
    expect(view.areas).toEqual([]);
  });

  it('serves general-admission areas beside the seats, seated sections numbered on their own', async () => {
    const layout = structuredClone(venue) as unknown as { sections: unknown[]; categories: { id: string }[] };
    const category = layout.categories[0]!.id;
    layout.sections.unshift({ id: 'FLOOR', label: 'Floor', kind: 'ga', category, capacity: 300, shape: { x: 0, y: -50, width: 40, height: 20 } });
    const created = await postEvent({ id: 'layout-ga', layout });
    expect(created.status).toBe(201);
    const view = (await (await apiFetch(`${base}/events/layout-ga`)).json()) as LayoutView;
    expect(view.seatCount).toBe(500);
    expect(view.areas).toEqual([{ id: 'FLOOR', label: 'Floor', category: 0, capacity: 300, shape: { x: 0, y: -50, width: 40, height: 20 } }]);
    expect(view.sections.map((s) => s.id)).toEqual(venue.sections.map((s) => s.id));
    view.sections.forEach((s, si) => s.rows.forEach((r) => expect(view.rows[r]!.section).toBe(si)));

    const refused = await postEvent({ id: 'layout-ga-bad', layout: { ...layout, sections: [...layout.sections, { id: 'PIT', label: 'Pit', kind: 'ga', category }] } });
    expect(refused.status).toBe(400);
    const body = (await refused.json()) as { issues: { code: string; path: string }[] };
    expect(body.issues.map((i) => [i.code, i.path])).toEqual([
      ['INCOMPLETE_AREA', `sections[${layout.sections.length}].capacity`],
      ['INCOMPLETE_AREA', `sections[${layout.sections.length}].shape`],
    ]);
  });

  it('gzips when the client accepts it', async () => {
    const plain = await apiFetch(`${base}/events/layout-1`, { headers: { 'Accept-Encoding': 'identity' } });
    const plainText = await plain.text();
    // fetch decodes gzip itself; check the header and that the decoded body is the same JSON
    const zipped = await apiFetch(`${base}/events/layout-1`, { headers: { 'Accept-Encoding': 'gzip, deflate' } });
    expect(zipped.status).toBe(200);
    expect(zipped.headers.get('content-encoding')).toBe('gzip');
    expect(zipped.headers.get('etag')).toBe(`"layout-1-${epoch}"`);
    expect(zipped.headers.get('vary')).toBe('Accept-Encoding');
    expect(await zipped.text()).toBe(plainText);

    const refused = await apiFetch(`${base}/events/layout-1`, { headers: { 'Accept-Encoding': 'gzip;q=0, identity' } });
    expect(refused.headers.get('content-encoding')).toBeNull();

    // the raw bytes really are gzip, and smaller
    const entry = layouts.get('layout-1', epoch)!;
    expect(entry.etag).toBe(`"layout-1-${epoch}"`);
    expect(gunzipSync(entry.gzip).toString()).toBe(plainText);
    expect(entry.gzip.byteLength).toBeLessThan(entry.body.byteLength);
  });

  it('answers 304 without a body when If-None-Match has the ETag', async () => {
    const etag = `"layout-1-${epoch}"`;
    for (const header of [etag, `W/${etag}`, `"other", ${etag}`, '*']) {
      const res = await apiFetch(`${base}/events/layout-1`, { headers: { 'If-None-Match': header } });
      expect(res.status).toBe(304);
      expect(res.headers.get('etag')).toBe(etag);
      expect(res.headers.get('cache-control')).toBe('public, max-age=60');
      expect(await res.text()).toBe('');
    }
    const stale = await apiFetch(`${base}/events/layout-1`, { headers: { 'If-None-Match': '"layout-1-1"' } });
    expect(stale.status).toBe(200);
    expect(((await stale.json()) as LayoutView).seatCount).toBe(500);
  });

  it('serves the new layout, with a new ETag, once the event is recreated with a new epoch', async () => {
    const first = await createEvent('layout-2');
    const before = await apiFetch(`${base}/events/layout-2`);
    expect(((await before.json()) as LayoutView).seatCount).toBe(500);
    await t.store.deleteEvent('layout-2');
    const second = await createEvent('layout-2', generateVenue({ seats: 300, seed: 2, name: 'T2' }));
    expect(second.epoch).not.toBe(first.epoch);
    const after = await apiFetch(`${base}/events/layout-2`, { headers: { 'If-None-Match': `"layout-2-${first.epoch}"` } });
    expect(after.status).toBe(200);
    expect(after.headers.get('etag')).toBe(`"layout-2-${second.epoch}"`);
    expect(await after.json()).toMatchObject({ epoch: second.epoch, seatCount: 300, name: 'T2' });
  });

  it('answers 404 NO_EVENT for an unknown event or one stored without a layout', async () => {
    const res = await apiFetch(`${base}/events/no-such-event`);
    expect(res.status).toBe(404);
    expect(await res.json()).toMatchObject({ code: 'NO_EVENT' });

    const rules = { holdTtlMs: 60_000, maxHoldLifetimeMs: 600_000, maxSeatsPerToken: 10, maxSeatsPerHolder: 10 };
    expect((await t.store.createEvent({ eventId: 'bare-1', seatCount: 10, rules })).ok).toBe(true);
    const bare = await apiFetch(`${base}/events/bare-1`);
    expect(bare.status).toBe(404);
    expect(await bare.json()).toMatchObject({ code: 'NO_EVENT' });
  });

  it('answers 400 BAD_REQUEST to a malformed id', async () => {
    for (const id of ['bad%20id', 'x'.repeat(65), '%C3%BC', 'a:b']) {
      const res = await apiFetch(`${base}/events/${id}`);
      expect(res.status).toBe(400);
      expect(await res.json()).toMatchObject({ code: 'BAD_REQUEST' });
    }
  });
});

describe('GET /events/:id/availability', () => {
  let epoch = 0;
  beforeAll(async () => {
    ({ epoch } = await createEvent('avail-1'));
  });

  type Counts = { free: number; held: number; booked: number; blocked: number; reserved: number };
  type AvailabilityBody = { id: string; epoch: number; seq: number; seatCount: number; totals: Counts; categories: ({ id: string; label: string } & Counts)[] };

  const sumCategories = (body: AvailabilityBody): Counts =>
    body.categories.reduce(
      (sum, c) => ({ free: sum.free + c.free, held: sum.held + c.held, booked: sum.booked + c.booked, blocked: sum.blocked + c.blocked, reserved: sum.reserved + c.reserved }),
      { free: 0, held: 0, booked: 0, blocked: 0, reserved: 0 },
    );

  async function availability(id: string): Promise<AvailabilityBody> {
    const res = await apiFetch(`${base}/events/${id}/availability`);
    expect(res.status).toBe(200);
    expect(res.headers.get('cache-control')).toBe('no-cache');
    return (await res.json()) as AvailabilityBody;
  }

  it('counts every seat free at first, by category too', async () => {
    const body = await availability('avail-1');
    expect(body).toMatchObject({ id: 'avail-1', epoch, seq: 0, seatCount: 500 });
    expect(body.totals).toEqual({ free: 500, held: 0, booked: 0, blocked: 0, reserved: 0 });
    expect(body.categories.map((c) => c.id)).toEqual(venue.categories.map((c) => c.id));
    expect(sumCategories(body)).toEqual(body.totals);
  });

  it('shows held seats after a hold, in the right categories', async () => {
    const seats = [0, 1, 250];
    const held = await t.store.hold({ eventId: 'avail-1', holder: 'h1', seats });
    expect(held.ok).toBe(true);
    const body = await availability('avail-1');
    expect(body.totals).toEqual({ free: 497, held: 3, booked: 0, blocked: 0, reserved: 0 });
    expect(body.seq).toBeGreaterThan(0);
    expect(sumCategories(body)).toEqual(body.totals);

    const view = buildLayoutView('avail-1', epoch, venue);
    const expected = new Map<string, number>();
    for (const s of seats) {
      const id = view.categories[view.seats.category[s]!]!.id;
      expected.set(id, (expected.get(id) ?? 0) + 1);
    }
    for (const c of body.categories) expect(c.held).toBe(expected.get(c.id) ?? 0);
  });

  it('uses the live status when this node has one', async () => {
    const status = new Uint8Array(500);
    status.fill(2, 0, 10); // 10 booked
    status.fill(3, 10, 15); // 5 blocked
    status.fill(1, 15, 16); // 1 held
    live.set('avail-1', { epoch, seq: 4242, status });
    const body = await availability('avail-1');
    expect(body).toMatchObject({ epoch, seq: 4242, seatCount: 500 });
    expect(body.totals).toEqual({ free: 484, held: 1, booked: 10, blocked: 5, reserved: 0 });
    expect(sumCategories(body)).toEqual(body.totals);
  });

  it('answers totals without categories for an event stored without a layout', async () => {
    const rules = { holdTtlMs: 60_000, maxHoldLifetimeMs: 600_000, maxSeatsPerToken: 10, maxSeatsPerHolder: 10 };
    expect((await t.store.createEvent({ eventId: 'bare-2', seatCount: 7, rules })).ok).toBe(true);
    const body = await availability('bare-2');
    expect(body).toMatchObject({ seatCount: 7, totals: { free: 7, held: 0, booked: 0, blocked: 0, reserved: 0 }, categories: [] });
  });

  it('answers 404 NO_EVENT for an unknown event and 400 for a malformed id', async () => {
    const res = await apiFetch(`${base}/events/no-such-event/availability`);
    expect(res.status).toBe(404);
    expect(await res.json()).toMatchObject({ code: 'NO_EVENT' });
    const bad = await apiFetch(`${base}/events/bad%20id/availability`);
    expect(bad.status).toBe(400);
    expect(await bad.json()).toMatchObject({ code: 'BAD_REQUEST' });
  });
});

describe('aborted requests', () => {
  const errorsLogged = () => logged.filter((l) => l.level >= 50);

  it('does not touch a response the client aborted while the handler awaited', async () => {
    let open!: () => void;
    readinessGate = new Promise<void>((resolve) => (open = resolve));
    const callsBefore = readinessCalls;
    const errorsBefore = errorsLogged().length;
    const controller = new AbortController();
    const pending = fetch(`${base}/readyz`, { signal: controller.signal });
    await expect.poll(() => readinessCalls).toBe(callsBefore + 1);
    controller.abort();
    await expect(pending).rejects.toThrow();
    await new Promise((r) => setTimeout(r, 50)); // let uWS see the closed socket
    open();
    await new Promise((r) => setTimeout(r, 50));
    expect(errorsLogged()).toHaveLength(errorsBefore);
    expect((await fetch(`${base}/healthz`)).status).toBe(200);
  });

  it('survives a client going away in the middle of a body', async () => {
    const errorsBefore = errorsLogged().length;
    const controller = new AbortController();
    let pulls = 0;
    const stream = new ReadableStream<Uint8Array>({
      async pull(controller) {
        pulls++;
        if (pulls > 2) return new Promise(() => undefined); // never finishes
        controller.enqueue(new TextEncoder().encode('{"id":"half-1",'));
      },
    });
    const pending = fetch(`${base}/events`, {
      method: 'POST',
      headers: { Authorization: `Bearer ${adminToken}` },
      body: stream,
      duplex: 'half',
      signal: controller.signal,
    } as RequestInit);
    await expect.poll(() => pulls).toBeGreaterThan(2);
    await new Promise((r) => setTimeout(r, 50));
    controller.abort();
    await expect(pending).rejects.toThrow();
    await new Promise((r) => setTimeout(r, 50));
    expect(errorsLogged()).toHaveLength(errorsBefore);
    expect(await t.store.meta('half-1')).toBeNull();
    expect((await fetch(`${base}/healthz`)).status).toBe(200);
  });
});

describe('routing', () => {
  it('leaves other routes to the server catch-all', async () => {
    const res = await fetch(`${base}/nowhere`);
    expect(res.status).toBe(404);
    expect(await res.json()).toMatchObject({ code: 'BAD_REQUEST' });
  });
});
