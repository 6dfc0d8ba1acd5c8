/**
 * The gateway process as users run it: two processes on one Redis create the
 * demo event once, log JSON, and stop cleanly on SIGTERM; a port in use is a
 * start-up error unless REUSE_PORT shares it on purpose.
 */
import { afterAll, describe, expect, it } from 'vitest';
import { createTestStore } from './support/redis.js';
import { newPrefix, spawnGateway, startTestGateway, wipePrefix } from './support/gateway.js';
import { freePort } from './support/net.js';

const t = createTestStore();
afterAll(() => t.cleanup());

describe('gateway process', () => {
  it('two processes create the demo event once, log JSON and exit 0 on SIGTERM', async () => {
    const env = { DEMO: '1', DEMO_SEATS: '500', DEMO_EVENT_ID: 'demo' };
    const nodes = await Promise.all([spawnGateway(t.prefix, env), spawnGateway(t.prefix, env)]);

    const meta = await t.store.meta('demo');
    expect(meta).toMatchObject({ seatCount: 500, seq: 0 });
    const created = nodes.flatMap((n) => n.lines).filter((l) => l.includes('demo event created'));
    expect(created).toHaveLength(1);
    for (const line of nodes.flatMap((n) => n.lines).filter((l) => l.startsWith('{'))) {
      expect(JSON.parse(line)).toHaveProperty('level');
    }
    // The layout document is stored beside the seat map, and served over HTTP.
    expect(await t.store.layout('demo')).toMatchObject({ version: 1, name: 'Demo Arena' });
    const view = await (await fetch(`${nodes[0]!.httpUrl}/events/demo`)).json();
    expect(view).toMatchObject({ id: 'demo', seatCount: 500 });
    const health = await fetch(`${nodes[1]!.httpUrl}/healthz`);
    expect(health.status).toBe(200);

    const codes = await Promise.all(nodes.map((n) => n.stop()));
    expect(codes).toEqual([0, 0]);
  }, 60_000);
});

describe('listening', () => {
  it('refuses a port another gateway holds, and shares it only when both ask with REUSE_PORT', async () => {
    const prefix = newPrefix();
    const port = String(await freePort());
    const first = await startTestGateway({ PORT: port, DEMO: '0' }, prefix);
    try {
      await expect(startTestGateway({ PORT: port, DEMO: '0' }, prefix)).rejects.toThrow(/cannot listen on 127\.0\.0\.1:\d+ \(in use\? set REUSE_PORT=1/);
      await expect(startTestGateway({ PORT: port, DEMO: '0', REUSE_PORT: '1' }, prefix)).rejects.toThrow(/cannot listen/);
      expect((await fetch(`${first.httpUrl}/healthz`)).status).toBe(200);
    } finally {
      await first.stop();
    }

    const shared = String(await freePort());
    const a = await startTestGateway({ PORT: shared, DEMO: '0', REUSE_PORT: '1' }, prefix);
    const b = await startTestGateway({ PORT: shared, DEMO: '0', REUSE_PORT: '1' }, prefix);
    try {
      expect(a.node.port).toBe(b.node.port);
      await a.stop(); // the port stays served by the other
      expect((await fetch(`${b.httpUrl}/healthz`)).status).toBe(200);
    } finally {
      await b.stop();
      await wipePrefix(prefix);
    }
  }, 60_000);
});
