/**
 * Fairness across connections (docs/onsale.md) on two gateway nodes sharing
 * one Redis: connections per subject counted across both (4009 past the
 * limit, a slot given back on close, a crashed node's slots lapsing), the
 * holder's token bucket kept in Redis and shared by all its connections,
 * upgrades per client address (HTTP 429, X-Forwarded-For only from a trusted
 * proxy), `hello` advertising the limits and /metrics counting each refusal.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import WebSocket from 'ws';
import { SubjectConnections } from '../core/store/index.js';
import { createVenueEvent, newPrefix, startTestGateway, token, wipePrefix, type TestGateway } from './support/gateway.js';
import { TestClient } from './support/ws-client.js';

const prefix = newPrefix();
let a: TestGateway;
let b: TestGateway;

const LIMITS = {
  MAX_CONNECTIONS_PER_SUBJECT: '2',
  HOLDER_OPS_PER_SECOND: '1',
  HOLDER_OPS_BURST: '3',
  UPGRADES_PER_IP_PER_SECOND: '0',
};

beforeAll(async () => {
  a = await startTestGateway(LIMITS, prefix);
  b = await startTestGateway(LIMITS, prefix);
  await createVenueEvent(a.store, 'fair', 200);
}, 60_000);

afterAll(async () => {
  await Promise.all([a?.stop(), b?.stop()]);
  await wipePrefix(prefix);
});

async function metric(gw: TestGateway, name: string, labels: string): Promise<number> {
  const text = await (await fetch(`${gw.httpUrl}/metrics`)).text();
  const line = text.split('\n').find((l) => l.startsWith(`${name}{`) && l.includes(labels));
  return line ? Number(line.split(' ').pop()) : 0;
}

describe('connections per subject, across nodes', () => {
  it('hello advertises the limits', async () => {
    const c = await TestClient.connect(a.wsUrl, { token: await token('hello-limits') });
    expect(c.hello!.limits).toMatchObject({ maxConnectionsPerSubject: 2, holderOpsPerSecond: 1, holderOpsBurst: 3, upgradesPerIpPerSecond: 0 });
    await c.close();
  });

  it('the third connection of a subject, on either node, is closed with 4009 before hello; a closed one gives its slot back', async () => {
    const jwt = await token('many-tabs');
    const first = await TestClient.connect(a.wsUrl, { token: jwt });
    const second = await TestClient.connect(b.wsUrl, { token: jwt });
    for (const node of [a, b]) {
      const refused = await TestClient.connect(node.wsUrl, { token: jwt }).then(
        () => null,
        (err: { code?: number }) => err.code,
      );
      expect(refused).toBe(4009);
    }
    // another subject is not affected
    const other = await TestClient.connect(a.wsUrl, { token: await token('someone-else') });
    await other.close();
    expect((await metric(a, 'seatmap_refusals_total', 'reason="subject_connections"')) + (await metric(b, 'seatmap_refusals_total', 'reason="subject_connections"'))).toBe(2);

    await second.close();
    // the slot is given back asynchronously; the next connection gets it within moments
    let third: TestClient | null = null;
    for (let i = 0; i < 20 && !third; i++) {
      third = await TestClient.connect(a.wsUrl, { token: jwt }).catch(() => null);
      if (!third) await new Promise((r) => setTimeout(r, 50));
    }
    expect(third?.hello?.sub).toBe('many-tabs');
    await Promise.all([first.close(), third!.close()]);
  });

  it('the slots of a node that stops renewing lapse with their lease', async () => {
    const crashed = new SubjectConnections({ scripts: a.store.scripts, prefix, nodeId: 'crashed-node', most: 2, leaseMs: 300 });
    expect((await crashed.acquire('ghost', 1)).taken).toBe(true);
    expect((await crashed.acquire('ghost', 2)).taken).toBe(true);
    const live = new SubjectConnections({ scripts: a.store.scripts, prefix, nodeId: 'live-node', most: 2, leaseMs: 300 });
    expect(await live.acquire('ghost', 1)).toEqual({ taken: false, open: 2 });
    await new Promise((r) => setTimeout(r, 350));
    expect(await live.acquire('ghost', 1)).toEqual({ taken: true, open: 1 });
  });
});

describe("the holder's token bucket", () => {
  it('is shared by every connection of the holder on every node, and answers RATE_LIMITED with retryMs', async () => {
    const jwt = await token('bucket-holder');
    const onA = await TestClient.connect(a.wsUrl, { token: jwt });
    const onB = await TestClient.connect(b.wsUrl, { token: jwt });
    const replies = [];
    for (let i = 0; i < 4; i++) replies.push(await (i % 2 === 0 ? onA : onB).request({ t: 'hold', ev: 'fair', seats: [10 + i] }));
    expect(replies.slice(0, 3).map((r) => r.t)).toEqual(['ok', 'ok', 'ok']);
    const limited = replies[3]!;
    expect(limited).toMatchObject({ t: 'err', code: 'RATE_LIMITED' });
    expect((limited as { retryMs?: number }).retryMs).toBeGreaterThan(0);
    expect((limited as { retryMs?: number }).retryMs).toBeLessThanOrEqual(1000);
    // the refused hold changed nothing
    const snap = (await a.store.snapshot('fair'))!;
    expect(snap.status[13]).toBe(0);
    // another holder has its own bucket
    const other = await TestClient.connect(b.wsUrl, { token: await token('bucket-other') });
    expect((await other.request({ t: 'hold', ev: 'fair', seats: [20] })).t).toBe('ok');
    // refilled at holderOpsPerSecond
    await new Promise((r) => setTimeout(r, (limited as { retryMs: number }).retryMs + 50));
    expect((await onA.request({ t: 'hold', ev: 'fair', seats: [13] })).t).toBe('ok');
    expect((await metric(a, 'seatmap_refusals_total', 'reason="holder_rate"')) + (await metric(b, 'seatmap_refusals_total', 'reason="holder_rate"'))).toBeGreaterThanOrEqual(1);
    await Promise.all([onA.close(), onB.close(), other.close()]);
  });

  it('does not apply to the box office (seats:box-office)', async () => {
    const desk = await TestClient.connect(a.wsUrl, { token: await token('box-desk', 'seats:read seats:hold seats:book seats:box-office') });
    for (let i = 0; i < 6; i++) expect((await desk.request({ t: 'hold', ev: 'fair', seats: [50 + i] })).t).toBe('ok');
    await desk.close();
  });
});

describe('upgrades per client address', () => {
  let gw: TestGateway;
  beforeAll(async () => {
    gw = await startTestGateway({ UPGRADES_PER_IP_PER_SECOND: '1', UPGRADES_PER_IP_BURST: '2', TRUSTED_PROXIES: '127.0.0.1' });
  }, 30_000);
  afterAll(async () => {
    await gw?.stop();
    await wipePrefix(gw.prefix);
  });

  const upgradeStatus = (headers: Record<string, string> = {}) =>
    new Promise<number>((resolve, reject) => {
      const ws = new WebSocket(gw.wsUrl, ['seatmap.v1'], { headers });
      ws.once('open', () => (ws.close(), resolve(101)));
      ws.once('unexpected-response', (_req, res) => (resolve(res.statusCode ?? 0), ws.terminate()));
      ws.once('error', (err) => (err.message.includes('Unexpected server response') ? undefined : reject(err)));
    });

  it('past the burst an address gets HTTP 429; behind a trusted proxy each forwarded address has its own bucket', async () => {
    const client = { 'x-forwarded-for': '203.0.113.7' };
    expect([await upgradeStatus(client), await upgradeStatus(client), await upgradeStatus(client)]).toEqual([101, 101, 429]);
    // the proxy appended the client; an address the client wrote itself further left is not believed
    expect(await upgradeStatus({ 'x-forwarded-for': '198.51.100.1, 203.0.113.7' })).toBe(429);
    expect(await upgradeStatus({ 'x-forwarded-for': '203.0.113.8' })).toBe(101);
    expect(await metric(gw, 'seatmap_refusals_total', 'reason="ip_upgrades"')).toBe(2);
  });
});

describe('the client address', () => {
  it('is the peer unless the peer is a trusted proxy; then the nearest untrusted hop of X-Forwarded-For', async () => {
    const { clientAddress } = await import('../gateway/upgrade-limiter.js');
    const trusted = new Set(['10.0.0.1', '10.0.0.2']);
    expect(clientAddress('::ffff:192.0.2.9', '203.0.113.7', trusted)).toBe('192.0.2.9');
    expect(clientAddress('10.0.0.1', '203.0.113.7', trusted)).toBe('203.0.113.7');
    expect(clientAddress('10.0.0.1', '198.51.100.1, 203.0.113.7, 10.0.0.2', trusted)).toBe('203.0.113.7');
    expect(clientAddress('10.0.0.1', '10.0.0.2', trusted)).toBe('10.0.0.2');
    expect(clientAddress('10.0.0.1', '', trusted)).toBe('10.0.0.1');
  });
});
