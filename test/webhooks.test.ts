/**
 * Events out, through real gateways, Redis and Postgres, to webhook receivers
 * that are local HTTP servers on 127.0.0.1 started here:
 *
 * - a receiver that is down for a while and then up receives every entry
 *   exactly as the pull log has it (duplicates allowed, none missing),
 *   signed as docs/bookings.md says (checked with the receiver example copied
 *   from that page), in order per booking, never the same entry twice at
 *   once although two gateway processes deliver;
 * - a receiver that keeps failing has its deliveries parked after the retry
 *   window, listed, and replayed on request;
 * - registration checks its input; the pull log pages in commit order.
 *
 * Every HTTP answer is checked against the OpenAPI document (apiFetch).
 */
import { createHmac } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, type IncomingMessage, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { transform } from 'esbuild';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { LOG_EVENT_TYPES, type LogEntry } from '../core/bookings/event-log.js';
import { createVenueEvent, newPrefix, queryGatewayDb, startTestGateway, token, wipePrefix, type TestGateway } from './support/gateway.js';
import { apiFetch } from './support/openapi.js';
import { TestClient } from './support/ws-client.js';

const PAYMENT_SECRET = 'payment-provider-secret-0123456789';
const HOOK_SECRET = 'receiver-secret-abcdefghijklmnop';
const FAST_RETRIES = { WEBHOOK_POLL_MS: '100', WEBHOOK_RETRY_BASE_MS: '100', WEBHOOK_RETRY_MAX_MS: '400', WEBHOOK_TIMEOUT_MS: '2000', WEBHOOK_LEASE_MS: '5000' };

let gw: TestGateway;
let second: TestGateway;
let adminToken: string;
const clients: TestClient[] = [];
const receivers: Receiver[] = [];
let verify: (secret: string, headers: { id: string; timestamp: string; signature: string }, body: string, toleranceS?: number) => boolean;
let exampleDir: string;

/** One request a receiver got. */
interface Received {
  id: string;
  timestamp: string;
  signature: string;
  attempt: string;
  body: string;
  at: number;
}

/** A webhook receiver on 127.0.0.1 that can be taken down and brought back on the same port. */
class Receiver {
  readonly received: Received[] = [];
  /** ids that arrived while a request with the same id was still being answered */
  readonly overlaps: string[] = [];
  private readonly inFlight = new Set<string>();
  private server: Server | null = null;
  port = 0;
  status = 200;
  delayMs = 20;

  async up(): Promise<this> {
    const server = createServer((req, res) => void this.handle(req).then((status) => res.writeHead(status).end()));
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(this.port, '127.0.0.1', () => resolve());
    });
    this.port = (server.address() as AddressInfo).port;
    this.server = server;
    return this;
  }

  async down(): Promise<void> {
    const server = this.server;
    this.server = null;
    if (!server) return;
    server.closeAllConnections();
    await new Promise((resolve) => server.close(resolve));
  }

  url(path = '/hooks'): string {
    return `http://127.0.0.1:${this.port}${path}`;
  }

  private async handle(req: IncomingMessage): Promise<number> {
    const chunks: Buffer[] = [];
    for await (const chunk of req) chunks.push(chunk as Buffer);
    const id = String(req.headers['seatmap-id']);
    if (this.inFlight.has(id)) this.overlaps.push(id);
    this.inFlight.add(id);
    try {
      await new Promise((resolve) => setTimeout(resolve, this.delayMs));
      this.received.push({
        id,
        timestamp: String(req.headers['seatmap-timestamp']),
        signature: String(req.headers['seatmap-signature']),
        attempt: String(req.headers['seatmap-attempt']),
        body: Buffer.concat(chunks).toString('utf8'),
        at: Date.now(),
      });
      return this.status;
    } finally {
      this.inFlight.delete(id);
    }
  }
}

beforeAll(async () => {
  // the receiver example of docs/bookings.md, as a receiver would copy it
  const doc = readFileSync(new URL('../docs/bookings.md', import.meta.url), 'utf8');
  const block = [...doc.matchAll(/```ts\n([\s\S]*?)```/g)].map((m) => m[1]!).find((code) => code.includes('export function verifySeatmapWebhook'));
  if (!block) throw new Error('docs/bookings.md has no verifySeatmapWebhook example');
  exampleDir = mkdtempSync(join(tmpdir(), 'seatmap-receiver-'));
  const file = join(exampleDir, 'verify.mjs');
  writeFileSync(file, (await transform(block, { loader: 'ts', format: 'esm' })).code);
  verify = ((await import(pathToFileURL(file).href)) as { verifySeatmapWebhook: typeof verify }).verifySeatmapWebhook;

  const env = {
    TICK_MS: '10',
    PAYMENT_WEBHOOK_SECRET: PAYMENT_SECRET,
    PAYMENT_EXPIRY_CHECK_MS: '100',
    REBUILD_CHECK_MS: '200',
    SWEEP_INTERVAL_MS: '100',
    ...FAST_RETRIES,
    WEBHOOK_RETRY_FOR_MS: '120000',
  };
  gw = await startTestGateway(env);
  second = await startTestGateway(env, gw.prefix); // two processes deliver: each delivery is leased to one
  adminToken = await token('ops', 'admin');
});

afterAll(async () => {
  for (const c of clients) c.ws.terminate();
  for (const r of receivers) await r.down();
  await second?.stop();
  await gw?.stop();
  await wipePrefix(gw.prefix);
  rmSync(exampleDir, { recursive: true, force: true });
});

function admin(path: string, init: RequestInit = {}, base = gw.httpUrl): Promise<Response> {
  return apiFetch(`${base}${path}`, { ...init, headers: { authorization: `Bearer ${adminToken}`, 'content-type': 'application/json', ...init.headers } });
}

async function client(sub: string, url = gw.wsUrl): Promise<TestClient> {
  const c = await TestClient.connect(url, { token: await token(sub) });
  clients.push(c);
  return c;
}

async function hold(c: TestClient, ev: string, seats: number[]): Promise<string> {
  return (await c.ok({ t: 'hold', ev, seats })).tok as string;
}

function signedPayment(base: string, ref: string, outcome: 'confirm' | 'fail'): Promise<Response> {
  const path = `/bookings/${ref}/${outcome}`;
  const timestamp = Math.floor(Date.now() / 1000);
  const mac = createHmac('sha256', PAYMENT_SECRET).update(`${timestamp}.${path}.`).digest('hex');
  return apiFetch(`${base}${path}`, { method: 'POST', headers: { 'seatmap-timestamp': String(timestamp), 'seatmap-signature': `v1=${mac}` } });
}

/** Every entry of an event's pull log, read page by page. */
async function pullLog(ev: string, pageSize = 7): Promise<LogEntry[]> {
  const all: LogEntry[] = [];
  let after = 0;
  for (;;) {
    const res = await admin(`/events/${ev}/log?after=${after}&limit=${pageSize}`);
    expect(res.status).toBe(200);
    const page = (await res.json()) as { entries: LogEntry[]; next: number };
    all.push(...page.entries);
    if (page.entries.length < pageSize) return all;
    after = page.next;
  }
}

async function eventually<T>(probe: () => Promise<T> | T, done: (value: T) => boolean, timeoutMs: number, what: string): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await probe();
    if (done(value)) return value;
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}

describe('webhook registration', () => {
  it('checks the url, the event types and the secret, and never shows the secret again', async () => {
    const bad = [
      { url: 'ftp://127.0.0.1/x', events: ['*'], secret: HOOK_SECRET },
      { url: 'javascript:alert(1)', events: ['*'], secret: HOOK_SECRET },
      { url: '/relative', events: ['*'], secret: HOOK_SECRET },
      { url: 'http://127.0.0.1/x', events: ['booking.teleported'], secret: HOOK_SECRET },
      { url: 'http://127.0.0.1/x', events: [], secret: HOOK_SECRET },
      { url: 'http://127.0.0.1/x', events: ['*'], secret: 'short' },
      { url: 'http://127.0.0.1/x\u0000', events: ['*'], secret: HOOK_SECRET },
    ];
    for (const body of bad) {
      const res = await admin('/webhooks', { method: 'POST', body: JSON.stringify(body) });
      expect(res.status, JSON.stringify(body)).toBe(400);
      expect(await res.json()).toMatchObject({ code: 'BAD_REQUEST' });
    }
    expect((await admin('/webhooks', { method: 'POST', body: 'nope' })).status).toBe(400);
    expect((await apiFetch(`${gw.httpUrl}/webhooks`, { method: 'POST', body: '{}' })).status).toBe(401);
    expect((await apiFetch(`${gw.httpUrl}/webhooks`, { headers: { authorization: `Bearer ${await token('buyer')}` } })).status).toBe(403);

    const res = await admin('/webhooks', { method: 'POST', body: JSON.stringify({ url: 'https://hooks.invalid/seatmap', events: ['booking.confirmed', 'hold.expired'], secret: HOOK_SECRET }) });
    expect(res.status).toBe(201);
    const hook = (await res.json()) as Record<string, unknown>;
    expect(hook).toMatchObject({ url: 'https://hooks.invalid/seatmap', events: ['booking.confirmed', 'hold.expired'], createdBy: 'ops', pending: 0, parked: 0 });
    expect(JSON.stringify(hook)).not.toContain(HOOK_SECRET);
    expect(JSON.stringify(await (await admin('/webhooks')).json())).not.toContain(HOOK_SECRET);
    expect((await admin(`/webhooks/${hook.id as string}`, { method: 'DELETE' })).status).toBe(200);
    expect((await admin(`/webhooks/${hook.id as string}`, { method: 'DELETE' })).status).toBe(404);
    expect((await admin('/webhooks/not-an-id')).status).toBe(400);
    expect((await admin(`/webhooks/${hook.id as string}/deliveries?state=lost`)).status).toBe(400);
    expect((await admin('/events/wh/log?after=-1')).status).toBe(400);
    expect((await admin('/events/wh/log?limit=0')).status).toBe(400);
    expect((await admin('/events/wh/log?after=1e3')).status).toBe(400);
    expect((await admin('/events/bad%20id/log')).status).toBe(400);
    // a webhook that is not there; bodies that are not what the route takes
    for (const [path, init] of [[`/webhooks/${hook.id as string}`, {}], [`/webhooks/${hook.id as string}/deliveries`, {}], [`/webhooks/${hook.id as string}/replay`, { method: 'POST' }]] as const) {
      const res = await admin(path, init);
      expect(res.status, path).toBe(404);
      expect(await res.json()).toMatchObject({ code: 'NOT_FOUND' });
    }
    expect((await admin(`/webhooks/${hook.id as string}/replay`, { method: 'POST', body: '[]' })).status).toBe(400);
    expect((await admin(`/webhooks/${hook.id as string}/replay`, { method: 'POST', body: ' '.repeat(2048) })).status).toBe(413);
    expect((await admin(`/webhooks/${hook.id as string}/deliveries?limit=501`)).status).toBe(400);
    expect((await admin('/webhooks', { method: 'POST', body: JSON.stringify({ url: 'https://hooks.invalid/x', events: ['*'], secret: 'x'.repeat(17 * 1024) }) })).status).toBe(413);
    // an event without entries: an empty page, `next` = `after`
    expect(await (await admin('/events/no-entries/log?after=5')).json()).toEqual({ entries: [], next: 5 });
  });
});

describe('delivery', () => {
  it('a receiver down for a while and then up receives every entry as the log has it, signed, in order per booking', async () => {
    const receiver = await new Receiver().up();
    receivers.push(receiver);
    await receiver.down(); // nothing listens on its port now
    const created = await admin('/webhooks', { method: 'POST', body: JSON.stringify({ url: receiver.url(), events: ['*'], secret: HOOK_SECRET }) });
    const hook = (await created.json()) as { id: string };

    // activity of every kind, on both nodes
    await createVenueEvent(gw.store, 'wh', 200, { paymentWindowMs: 1500, holdTtlMs: 1000, maxHoldLifetimeMs: 1000 });
    await createVenueEvent(gw.store, 'whsold', 100);
    const [a, b] = [await client('buyer-a'), await client('buyer-b', second.wsUrl)];
    const paid = await a.ok({ t: 'checkout', ev: 'wh', tok: await hold(a, 'wh', [1, 2]), key: 'o-paid' });
    const failed = await b.ok({ t: 'checkout', ev: 'wh', tok: await hold(b, 'wh', [3]), key: 'o-failed' });
    const lapsed = await a.ok({ t: 'checkout', ev: 'wh', tok: await hold(a, 'wh', [4, 5]), key: 'o-lapsed' });
    const booked = await b.ok({ t: 'book', ev: 'wh', tok: await hold(b, 'wh', [6, 7, 8]), key: 'o-booked' });
    await hold(a, 'wh', [9]); // left to expire
    expect((await signedPayment(gw.httpUrl, paid.ref as string, 'confirm')).status).toBe(200);
    expect((await signedPayment(second.httpUrl, failed.ref as string, 'fail')).status).toBe(200);
    expect((await admin(`/events/wh/bookings/${booked.ref as string}/cancel`, { method: 'POST', body: JSON.stringify({ seats: [8] }) })).status).toBe(200);
    const scan = await apiFetch(`${gw.httpUrl}/events/wh/bookings/${booked.ref as string}/check-in`, { method: 'POST', headers: { authorization: `Bearer ${await token('door', 'seats:door')}` }, body: '{"gate":"A"}' });
    expect(scan.status).toBe(200);
    expect((await admin('/events/whsold/block', { method: 'POST', body: JSON.stringify({ seats: Array.from({ length: 98 }, (_, i) => i + 2) }) })).status).toBe(200);
    await a.ok({ t: 'book', ev: 'whsold', tok: await hold(a, 'whsold', [0, 1]), key: 'o-last' }); // the last two seats: sold out
    // Redis loses an event: it is rebuilt from Postgres
    await gw.store.deleteEvent('whsold');

    const expectTypes = ['booking.pending_payment', 'booking.confirmed', 'booking.failed', 'booking.expired', 'booking.seats_cancelled', 'booking.checked_in', 'hold.expired', 'event.soldout', 'event.rebuilt'];
    const logged = async () => [...(await pullLog('wh')), ...(await pullLog('whsold'))];
    const entries = await eventually(logged, (list) => expectTypes.every((t) => list.some((e) => e.type === t)), 10_000, 'every kind of entry in the log');
    expect(LOG_EVENT_TYPES.filter((t) => !entries.some((e) => e.type === t))).toEqual(['booking.cancelled']);

    // while the receiver is down, attempts fail and are retried
    await eventually(
      () => queryGatewayDb(gw.prefix, 'SELECT count(*)::int AS n FROM webhook_deliveries WHERE webhook_id = $1 AND attempts >= 2', [hook.id]),
      (rows) => (rows[0]!.n as number) >= 5,
      10_000,
      'retries while the receiver is down',
    );
    expect(receiver.received).toEqual([]);
    const failedAttempts = async () => (await Promise.all([gw, second].map(async (n) => (await n.node.metrics.webhookDeliveries.get()).values.find((v) => v.labels.result === 'failed')?.value ?? 0))).reduce((x, y) => x + y, 0);
    expect(await failedAttempts()).toBeGreaterThan(0);

    await receiver.up(); // the same port again
    const final = await logged();
    await eventually(() => new Set(receiver.received.map((r) => r.id)), (ids) => final.every((e) => ids.has(e.id)), 20_000, 'every entry received');

    // none missing, each body exactly the log entry, every signature valid (with the documented receiver code)
    const byId = new Map(final.map((e) => [e.id, e]));
    for (const r of receiver.received) {
      const entry = byId.get(r.id);
      if (!entry) continue; // an entry written after `final` was read
      expect(JSON.parse(r.body)).toEqual(entry);
      expect(verify(HOOK_SECRET, r, r.body), `signature of ${r.id}`).toBe(true);
      expect(verify('another-secret-0123456789', r, r.body)).toBe(false);
      expect(verify(HOOK_SECRET, r, r.body.replace('"seq":', '"seq": '))).toBe(false);
    }
    expect(receiver.received.some((r) => Number(r.attempt) > 1)).toBe(true);
    // never the same entry twice at once, though two processes deliver
    expect(receiver.overlaps).toEqual([]);
    // in order per booking: the first arrival of each entry of a booking follows the log
    const firstArrival = new Map<string, number>();
    receiver.received.forEach((r, i) => !firstArrival.has(r.id) && firstArrival.set(r.id, i));
    const bookings = new Set(final.flatMap((e) => ((e.data.booking as { id?: string } | undefined)?.id ? [(e.data.booking as { id: string }).id] : [])));
    expect(bookings.size).toBe(5);
    for (const id of bookings) {
      const ofBooking = final.filter((e) => (e.data.booking as { id?: string } | undefined)?.id === id).sort((x, y) => x.seq - y.seq);
      const order = ofBooking.map((e) => firstArrival.get(e.id)!);
      expect(order, `deliveries of booking ${id}`).toEqual([...order].sort((x, y) => x - y));
    }
    // the log itself: positions 1, 2, 3, … per event in commit order
    for (const ev of ['wh', 'whsold']) {
      const seqs = final.filter((e) => e.eventId === ev).map((e) => e.seq);
      expect(seqs).toEqual(seqs.map((_, i) => i + 1));
    }
    const [hookNow] = (await (await admin('/webhooks')).json() as { webhooks: { id: string; pending: number; parked: number }[] }).webhooks.filter((w) => w.id === hook.id);
    await eventually(async () => (await (await admin(`/webhooks/${hook.id}`)).json()) as { pending: number }, (h) => h.pending === 0, 5000, 'nothing pending');
    expect(hookNow!.parked).toBe(0);
    expect((await admin(`/webhooks/${hook.id}`, { method: 'DELETE' })).status).toBe(200);
  });

  it('parks deliveries that failed for the whole retry window, lists them, and replays them on request', async () => {
    // a gateway of its own, with a retry window of 1.5 s
    const prefix = newPrefix();
    const parking = await startTestGateway({ TICK_MS: '10', ...FAST_RETRIES, WEBHOOK_RETRY_FOR_MS: '1500' }, prefix);
    const receiver = await new Receiver().up();
    receivers.push(receiver);
    receiver.status = 500;
    try {
      const admin2 = (path: string, init: RequestInit = {}) => admin(path, init, parking.httpUrl);
      const hook = (await (await admin2('/webhooks', { method: 'POST', body: JSON.stringify({ url: receiver.url('/broken'), events: ['booking.confirmed'], secret: HOOK_SECRET }) })).json()) as { id: string };
      await createVenueEvent(parking.store, 'pk', 100);
      const buyer = await TestClient.connect(parking.wsUrl, { token: await token('parker') });
      clients.push(buyer);
      const booked = [];
      for (let i = 0; i < 3; i++) booked.push(await buyer.ok({ t: 'book', ev: 'pk', tok: await hold(buyer, 'pk', [i]), key: `pk-${i}` }));
      // a hold that expires is not a type this webhook asked for: no delivery is queued for it
      const parked = await eventually(
        async () => (await (await admin2(`/webhooks/${hook.id}/deliveries?state=parked`)).json()) as { deliveries: { id: string; attempts: number; lastStatus: number; lastError: string }[] },
        (d) => d.deliveries.length === 3,
        10_000,
        'three parked deliveries',
      );
      for (const d of parked.deliveries) expect(d).toMatchObject({ lastStatus: 500, lastError: 'HTTP 500' });
      expect(parked.deliveries.every((d) => d.attempts >= 2)).toBe(true);
      expect(await (await admin2(`/webhooks/${hook.id}`)).json()).toMatchObject({ pending: 0, parked: 3 });
      const attemptsSoFar = receiver.received.length;
      await new Promise((resolve) => setTimeout(resolve, 600));
      expect(receiver.received.length).toBe(attemptsSoFar); // parked: no more attempts

      receiver.status = 200;
      const replay = await admin2(`/webhooks/${hook.id}/replay`, { method: 'POST' });
      expect(await replay.json()).toEqual({ replayed: 3 });
      const delivered = await eventually(
        async () => (await (await admin2(`/webhooks/${hook.id}/deliveries?state=delivered`)).json()) as { deliveries: { id: string }[] },
        (d) => d.deliveries.length === 3,
        10_000,
        'the replayed deliveries delivered',
      );
      expect(delivered.deliveries.map((d) => d.id).sort()).toEqual(parked.deliveries.map((d) => d.id).sort());
      const log = (await (await admin2('/events/pk/log')).json()) as { entries: LogEntry[] };
      expect(log.entries.filter((e) => e.type === 'booking.confirmed').map((e) => e.id).sort()).toEqual(parked.deliveries.map((d) => d.id).sort());
      expect(await (await admin2(`/webhooks/${hook.id}`)).json()).toMatchObject({ pending: 0, parked: 0 });
    } finally {
      await parking.stop();
      await wipePrefix(prefix);
    }
  });
});
