/**
 * Requests for events Redis does not have: the gate in front of the rebuild
 * from Postgres (gateway/recovery-gate.ts). Unit-tested with a counting
 * lookup and a fake clock, then end to end: anonymous viewers subscribing to
 * made-up events make the gateway ask Postgres nothing, a token holder's
 * repeated asks are answered from memory, and a lost event a viewer watched
 * still comes back.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createMetrics } from '../gateway/metrics.js';
import { RecoveryGate } from '../gateway/recovery-gate.js';
import { createVenueEvent, queryGatewayDb, startTestGateway, token, wipePrefix, type TestGateway } from './support/gateway.js';
import { TestClient } from './support/ws-client.js';

describe('recovery gate', () => {
  function gate(known: Set<string>) {
    let now = 0;
    const asked: string[] = [];
    const g = new RecoveryGate({
      ensure: async (id) => {
        asked.push(id);
        return known.has(id);
      },
      metrics: createMetrics({ defaultMetrics: false }),
      unknownTtlMs: 5000,
      now: () => now,
    });
    return { g, asked, advance: (ms: number) => (now += ms) };
  }
  const alice = { sub: 'alice' };
  const anonymous = { sub: null };

  it('asks once per unknown event within the TTL, again after it', async () => {
    const { g, asked, advance } = gate(new Set());
    for (let i = 0; i < 50; i++) expect(await g.recover('nope', alice)).toBe(false);
    expect(asked).toEqual(['nope']);
    advance(5001);
    await g.recover('nope', alice);
    expect(asked).toEqual(['nope', 'nope']);
  });

  it('never asks for an anonymous viewer about an event this node has not seen; does for one it has', async () => {
    const { g, asked } = gate(new Set(['real']));
    for (let i = 0; i < 100; i++) expect(await g.recover(`made-up-${i}`, anonymous)).toBe(false);
    expect(await g.recover('real', anonymous)).toBe(false);
    expect(asked).toEqual([]);
    g.remember('real');
    expect(await g.recover('real', anonymous)).toBe(true);
    expect(asked).toEqual(['real']);
  });

  it('forgets a remembered event Postgres turns out not to know, so an anonymous viewer asks at most once for it', async () => {
    const { g, asked, advance } = gate(new Set());
    g.remember('ghost');
    expect(await g.recover('ghost', anonymous)).toBe(false);
    advance(10_000);
    expect(await g.recover('ghost', anonymous)).toBe(false);
    expect(asked).toEqual(['ghost']);
  });
});

describe('subscriptions to events Redis does not have', () => {
  let gw: TestGateway;
  beforeAll(async () => {
    // no lingering rooms: a room dropped with its last subscriber, so a lost event is really looked up again
    gw = await startTestGateway({ REBUILD_CHECK_MS: '0', ROOM_LINGER_MS: '0', OPS_PER_SECOND: '1000', OPS_BURST: '1000' });
  }, 60_000);
  afterAll(async () => {
    await gw.stop();
    await wipePrefix(gw.prefix);
  });

  async function lookups(): Promise<Record<string, number>> {
    const text = await gw.node.metrics.registry.metrics();
    const out: Record<string, number> = {};
    for (const m of text.matchAll(/^seatmap_event_lookups_total\{result="(\w+)"\} (\d+)/gm)) out[m[1]!] = Number(m[2]);
    return out;
  }

  it('anonymous viewers subscribing to 200 made-up events make the gateway ask Postgres nothing', async () => {
    const viewer = await TestClient.connect(gw.wsUrl);
    for (let i = 0; i < 200; i++) expect(await viewer.request({ t: 'sub', ev: `made-up-${i}` })).toMatchObject({ t: 'err', code: 'NO_EVENT' });
    const counts = await lookups();
    expect(counts.anonymous_not_asked).toBe(200);
    expect(counts.unknown ?? 0).toBe(0);
    await viewer.close();
  });

  it("a token holder's repeated subscriptions to an unknown event ask Postgres once", async () => {
    const before = (await lookups()).unknown ?? 0;
    const client = await TestClient.connect(gw.wsUrl, { token: await token('alice') });
    for (let i = 0; i < 30; i++) expect(await client.request({ t: 'sub', ev: 'not-there' })).toMatchObject({ t: 'err', code: 'NO_EVENT' });
    const counts = await lookups();
    expect((counts.unknown ?? 0) - before).toBe(1);
    expect(counts.unknown_cached).toBeGreaterThanOrEqual(29);
    await client.close();
  });

  it('an event an anonymous viewer watched, lost by Redis, is rebuilt from Postgres when the viewer comes back', async () => {
    await createVenueEvent(gw.store, 'watched', 200);
    const viewer = await TestClient.connect(gw.wsUrl);
    await viewer.ok({ t: 'sub', ev: 'watched' });
    // wait until the flusher has recorded the event in Postgres (it records every registry event)
    const deadline = Date.now() + 10_000;
    const recorded = async () => (await queryGatewayDb(gw.prefix, 'SELECT 1 FROM events WHERE id = $1 AND layout IS NOT NULL', ['watched'])).length > 0;
    while (!(await recorded()) && Date.now() < deadline) await new Promise((r) => setTimeout(r, 100));
    expect(await recorded()).toBe(true);
    await viewer.ok({ t: 'unsub', ev: 'watched' });
    await gw.store.deleteEvent('watched'); // what a Redis that lost the event looks like
    const again = await TestClient.connect(gw.wsUrl);
    const ok = await again.ok({ t: 'sub', ev: 'watched' });
    expect(ok.ev).toBe('watched');
    expect((await lookups()).present).toBeGreaterThanOrEqual(1);
    await viewer.close();
    await again.close();
  });
});
