/**
 * The gateway process as users run it: two processes on one Redis create the
 * demo event once, log JSON, and stop cleanly on SIGTERM; a port in use is a
 * start-up error unless REUSE_PORT shares it on purpose; WORKERS=2 runs two
 * processes on one port that elect one for the background work.
 */
import { get } from 'node:http';
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

/** GET on a connection of its own (so the kernel may hand it to either process on the port). */
function getOnce(url: string): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    get(url, { agent: false }, (res) => {
      let body = '';
      res.on('data', (chunk: Buffer) => (body += chunk.toString()));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body }));
    }).on('error', reject);
  });
}

const alive = (pid: number) => {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
};

describe('workers', () => {
  it('WORKERS=2: two processes serve one port, one of them runs the background work, all metrics on METRICS_PORT; SIGTERM ends both, exit 0', async () => {
    const prefix = newPrefix();
    const metricsPort = await freePort();
    const gw = await spawnGateway(prefix, { WORKERS: '2', METRICS_PORT: String(metricsPort) });
    try {
      const deadline = Date.now() + 30_000;
      while (!gw.lines.some((l) => l.includes('gateway workers ready')) && Date.now() < deadline) await new Promise((r) => setTimeout(r, 100));
      const json = gw.lines.filter((l) => l.startsWith('{')).map((l) => JSON.parse(l) as Record<string, unknown>);
      const ready = json.filter((l) => l.msg === 'gateway node ready');
      expect(ready.map((l) => l.worker).sort()).toEqual([1, 2]);
      expect(new Set(ready.map((l) => l.port))).toEqual(new Set([gw.port]));
      const pids = ready.map((l) => Number(l.pid));
      expect(new Set(pids).size).toBe(2);

      // connections land on both: each answers /metrics with its own worker label
      const seen = new Set<string>();
      for (let i = 0; i < 200 && seen.size < 2; i++) {
        const { status, body } = await getOnce(`${gw.httpUrl}/metrics`);
        expect(status).toBe(200);
        const labels = new Set([...body.matchAll(/^seatmap_connections\{worker="(\d+)"\}/gm)].map((m) => m[1]!));
        expect(labels.size).toBe(1);
        seen.add([...labels][0]!);
      }
      expect([...seen].sort()).toEqual(['1', '2']);
      const all = await getOnce(`http://127.0.0.1:${metricsPort}/metrics`);
      expect(all.status).toBe(200);
      expect(all.body).toMatch(/^seatmap_connections\{worker="1"\} 0$/m);
      expect(all.body).toMatch(/^seatmap_connections\{worker="2"\} 0$/m);

      // one lease holder: the flusher, the sweeper and the lifecycle timers run in one process
      const deadlineLease = Date.now() + 10_000;
      while (!gw.lines.some((l) => l.includes('background lease taken')) && Date.now() < deadlineLease) await new Promise((r) => setTimeout(r, 100));
      expect(gw.lines.filter((l) => l.includes('background lease taken'))).toHaveLength(1);
    } finally {
      const pids = gw.lines
        .filter((l) => l.includes('gateway node ready'))
        .map((l) => Number((JSON.parse(l) as { pid: number }).pid));
      expect(await gw.stop()).toBe(0);
      for (const pid of pids) expect(alive(pid)).toBe(false);
      expect(gw.lines.filter((l) => l.includes('"msg":"stopped"'))).toHaveLength(2);
      await wipePrefix(prefix);
    }
  }, 60_000);
});
