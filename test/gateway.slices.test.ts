/**
 * A room published over several event-loop turns, through a real gateway
 * (uWS topics, Redis): with two watchers per slice, watchers joining,
 * leaving and resuming while bursts of operations are published all end
 * equal to a fresh snapshot from Redis, with no gap and no duplicate.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createVenueEvent, startTestGateway, token, wipePrefix, type TestGateway } from './support/gateway.js';
import { TestClient } from './support/ws-client.js';

const SEATS = 200;
let gw: TestGateway;

beforeAll(async () => {
  gw = await startTestGateway({ TICK_MS: '5', ROOM_SLICE_WATCHERS: '2' });
});

afterAll(async () => {
  await gw.stop();
  await wipePrefix(gw.prefix);
});

async function watcher(ev: string) {
  const client = await TestClient.connect(gw.wsUrl, { token: await token('watcher', 'seats:read') });
  await client.ok({ t: 'sub', ev });
  return { client };
}

describe('room slices', () => {
  it('watchers in several slices, joining, leaving and resuming during bursts, all end equal to Redis', async () => {
    const ev = 'slices1';
    await createVenueEvent(gw.store, ev, SEATS);
    const watchers = await Promise.all(Array.from({ length: 5 }, () => watcher(ev)));
    const burst = async (n: number, offset: number) => {
      const holds = await Promise.all(Array.from({ length: n }, (_, i) => gw.store.hold({ eventId: ev, holder: `h${i}`, seats: [(offset + i * 3) % SEATS] })));
      await Promise.all(holds.map((r, i) => (r.ok && i % 2 === 0 ? gw.store.release({ eventId: ev, holder: `h${i}`, token: r.token }) : null)));
    };
    let away: { client: TestClient; from: { epoch: number; seq: number } } | null = null;
    for (let round = 0; round < 8; round++) {
      const joining = round % 2 === 0 ? watcher(ev) : null; // joins while the burst is published
      await burst(30, round * 7);
      if (joining) watchers.push(await joining);
      if (round === 3) {
        // one leaves mid-stream and comes back later with its position
        const { client } = watchers.shift()!;
        await client.ok({ t: 'unsub', ev });
        const view = client.views.get(ev)!;
        away = { client, from: { epoch: view.epoch, seq: view.seq } };
      }
      if (round === 6 && away) {
        await away.client.ok({ t: 'sub', ev, ...away.from });
        watchers.push({ client: away.client });
      }
    }
    const snap = (await gw.store.snapshot(ev))!;
    for (const w of watchers) {
      const view = await w.client.until(ev, (v) => v.seq === snap.seq);
      expect([...view.status]).toEqual([...snap.status]);
      expect(w.client.gaps.get(ev) ?? 0).toBe(0);
      expect(w.client.duplicates.get(ev) ?? 0).toBe(0);
    }
    expect(watchers.length).toBeGreaterThan(4); // more than two slices
    const metrics = await (await fetch(`${gw.httpUrl}/metrics`)).text();
    expect(Number(/^seatmap_room_publish_seconds_count (\d+)/m.exec(metrics)![1])).toBeGreaterThan(0);
    await Promise.all(watchers.map((w) => w.client.close()));
  });
});
