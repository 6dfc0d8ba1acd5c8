/**
 * The gateway process as users run it: two processes on one Redis create the
 * demo event once, log JSON, and stop cleanly on SIGTERM.
 */
import { afterAll, describe, expect, it } from 'vitest';
import { createTestStore } from './support/redis.js';
import { spawnGateway } from './support/gateway.js';

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
