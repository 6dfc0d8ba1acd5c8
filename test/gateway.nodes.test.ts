/**
 * Several gateway processes on one Redis, as deployed: changes made through
 * one node reach the clients of the other, a client resumes on another node
 * than the one it left, and SIGTERM shuts a node down gracefully (in-flight
 * operations answered, clients closed with 1012, exit code 0). The same
 * suite runs on one Redis and on a 3-master Redis Cluster
 * (test/support/targets.ts); the connection limit does not touch Redis and
 * is tested once.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createVenueEvent, newPrefix, spawnGateway, token, wipePrefix, startTestGateway, type SpawnedGateway } from './support/gateway.js';
import { redisTargets, targetStore } from './support/targets.js';
import type { SeatStore } from '../core/store/index.js';
import { TestClient } from './support/ws-client.js';
import type { ServerMessage } from '../core/protocol/index.js';

describe.each(redisTargets())('on $name', (target) => {
  const prefix = newPrefix();
  let store: SeatStore;
  let closeStore: () => Promise<void>;
  let nodes: SpawnedGateway[] = [];

  beforeAll(async () => {
    ({ store, close: closeStore } = targetStore(target, prefix));
    await createVenueEvent(store, 'multi', 1000);
    await createVenueEvent(store, 'drain', 1000, { maxSeatsPerToken: 1000, maxSeatsPerHolder: 1000 });
    nodes = await Promise.all([spawnGateway(prefix, { ...target.env(), TICK_MS: '10' }), spawnGateway(prefix, { ...target.env(), TICK_MS: '10' })]);
  }, 60_000);

  afterAll(async () => {
    await Promise.all(nodes.map((n) => n.stop()));
    if (!target.cluster) await wipePrefix(prefix);
    await closeStore();
  });

  describe('two gateway processes on one Redis', () => {
    it('a change made through either node reaches the clients of both', async () => {
      const [a, b] = nodes as [SpawnedGateway, SpawnedGateway];
      const onA = await TestClient.connect(a.wsUrl, { token: await token('ann') });
      const onB = await TestClient.connect(b.wsUrl, { token: await token('ben') });
      await onA.ok({ t: 'sub', ev: 'multi' });
      await onB.ok({ t: 'sub', ev: 'multi' });

      const heldA = await onA.ok({ t: 'hold', ev: 'multi', seats: [1, 2] });
      const heldB = await onB.ok({ t: 'hold', ev: 'multi', seats: [3] });
      const last = Math.max(heldA.seq as number, heldB.seq as number);
      const [viewA, viewB] = await Promise.all([onA.until('multi', (v) => v.seq >= last), onB.until('multi', (v) => v.seq >= last)]);
      expect([...viewA.status.slice(0, 5)]).toEqual([0, 1, 1, 1, 0]);
      expect(Buffer.from(viewA.status).equals(Buffer.from(viewB.status))).toBe(true);
      expect(onA.gaps.size + onB.gaps.size).toBe(0);
      await Promise.all([onA.close(), onB.close()]);
    });

    it('a client leaves node A, misses changes, and resumes on node B with exactly the fresh state', async () => {
      const [a, b] = nodes as [SpawnedGateway, SpawnedGateway];
      const client = await TestClient.connect(a.wsUrl, { token: await token('cat') });
      const sub = await client.ok({ t: 'sub', ev: 'multi' });
      const view = client.views.get('multi')!;
      await client.until('multi', (v) => v.seq >= (sub.seq as number));
      await client.terminate();

      const writer = await TestClient.connect(b.wsUrl, { token: await token('dan') });
      let lastSeq = 0;
      for (let i = 0; i < 10; i++) {
        const held = await writer.ok({ t: 'hold', ev: 'multi', seats: [100 + i] });
        if (i % 2 === 0) lastSeq = (await writer.ok({ t: 'release', ev: 'multi', tok: held.tok as string })).seq as number;
        else lastSeq = held.seq as number;
      }

      const back = await TestClient.connect(b.wsUrl, { token: await token('cat') });
      back.views.set('multi', view);
      await back.ok({ t: 'sub', ev: 'multi', epoch: view.epoch, seq: view.seq });
      const resumed = await back.until('multi', (v) => v.seq >= lastSeq);
      const fresh = (await store.snapshot('multi'))!;
      expect(resumed.seq).toBe(fresh.seq);
      expect(Buffer.from(resumed.status).equals(fresh.status)).toBe(true);
      // node B served the resume from its memory as a diff, not a snapshot
      expect(back.messages.filter((m) => m.t === 'snap')).toHaveLength(0);
      expect(back.gaps.size).toBe(0);
      await Promise.all([back.close(), writer.close()]);
    });
  });

  describe('graceful shutdown', () => {
    it('SIGTERM during a stream of holds: every operation that ran was answered, clients get 1012, exit code 0', async () => {
      const node = await spawnGateway(prefix, { ...target.env(), OPS_PER_SECOND: '100000', OPS_BURST: '100000' });
      const client = await TestClient.connect(node.wsUrl, { token: await token('eve') });
      await client.ok({ t: 'sub', ev: 'drain' });
      const replies: ServerMessage[] = [];
      const pending: Promise<void>[] = [];
      for (let seat = 0; seat < 400; seat++) {
        pending.push(client.request({ t: 'hold', ev: 'drain', seats: [seat] }, 20_000).then((r) => void replies.push(r), () => undefined));
        if (seat === 200) node.child.kill('SIGTERM');
      }
      const closed = await client.closed;
      expect(closed.code).toBe(1012);
      expect(await node.stop()).toBe(0);
      await Promise.allSettled(pending);

      // Redis holds exactly the seats whose holds were answered ok: nothing ran unanswered
      const okSeats = replies.filter((r) => r.t === 'ok').length;
      expect(okSeats).toBeGreaterThan(0);
      const snap = (await store.snapshot('drain'))!;
      const held = [...snap.status].filter((s) => s === 1).length;
      expect(held).toBe(okSeats);
      expect(node.lines.some((l) => l.includes('"msg":"stopped"'))).toBe(true);
    }, 60_000);

    it.skipIf(target.cluster)('refuses upgrades past the connection limit with HTTP 503', async () => {
      const gw = await startTestGateway({ MAX_CONNECTIONS: '2' }, prefix);
      try {
        const c1 = await TestClient.connect(gw.wsUrl, { token: await token('c1') });
        const c2 = await TestClient.connect(gw.wsUrl, { token: await token('c2') });
        const refused = await TestClient.connect(gw.wsUrl, { token: await token('c3') }).catch((e: Error) => e);
        expect(String(refused)).toMatch(/503/);
        await c1.close();
        await new Promise((r) => setTimeout(r, 50));
        const c3 = await TestClient.connect(gw.wsUrl, { token: await token('c3') });
        await Promise.all([c2.close(), c3.close()]);
      } finally {
        await gw.stop();
      }
    });
  });
});
