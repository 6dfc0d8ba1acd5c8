/**
 * Repairs a room makes by itself, against the real Redis: a gap in the
 * change log (entries trimmed while the node's feed was cut off), a feed
 * that stalls with nothing left to read, an event rebuilt under its room
 * (new epoch), and an event deleted under its room.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createVenueEvent, startTestGateway, token, wipePrefix, deleteEventOnPurpose, type TestGateway } from './support/gateway.js';
import { newRedis } from './support/redis.js';
import { TestClient } from './support/ws-client.js';

let gw: TestGateway;
/** a gateway whose room checks are too slow to get in first: only the feed's gap detection can repair */
let gapOnly: TestGateway;
const admin = newRedis();

beforeAll(async () => {
  gw = await startTestGateway({ ROOM_CHECK_MS: '100', TICK_MS: '0' });
  gapOnly = await startTestGateway({ ROOM_CHECK_MS: '60000', TICK_MS: '0' }, gw.prefix);
});

afterAll(async () => {
  await Promise.all([gw.stop(), gapOnly.stop()]);
  await wipePrefix(gw.prefix);
  await admin.quit();
});

async function metric(name: string, node = gw): Promise<number> {
  const line = (await node.node.metrics.registry.metrics()).split('\n').find((l) => l.startsWith(`${name} `));
  return line ? Number(line.split(' ')[1]) : 0;
}

/** Cuts the feed's connection; it comes back by itself after a short pause. */
async function cutFeed(node = gw): Promise<void> {
  let id = node.node.server.hub.feedClientId;
  for (let i = 0; id === null && i < 100; i++) {
    await new Promise((r) => setTimeout(r, 10));
    id = node.node.server.hub.feedClientId;
  }
  expect(id).not.toBeNull();
  await admin.client('KILL', 'ID', String(id));
}

async function watcher(ev: string, node = gw): Promise<TestClient> {
  const c = await TestClient.connect(node.wsUrl, { token: await token(`w-${ev}`, 'seats:read') });
  await c.ok({ t: 'sub', ev });
  return c;
}

describe('room repair', () => {
  it('entries trimmed from the log while the feed was away: the gap is detected and repaired, clients stay continuous', async () => {
    await createVenueEvent(gw.store, 'gap', 100);
    const c = await watcher('gap', gapOnly);
    const gapsBefore = await metric('seatmap_feed_gaps_total', gapOnly);
    await cutFeed(gapOnly);
    for (const s of [1, 2, 3]) await gw.store.hold({ eventId: 'gap', holder: 'x', seats: [s] });
    await admin.xtrim(gw.store.keys('gap').log, 'MAXLEN', 0);
    await gw.store.hold({ eventId: 'gap', holder: 'x', seats: [4] });
    await gw.store.block('gap', [9]);
    const fresh = (await gw.store.snapshot('gap'))!;
    const view = await c.until('gap', (v) => v.seq >= fresh.seq, 10_000);
    expect(Buffer.from(view.status).equals(fresh.status)).toBe(true);
    expect(c.gaps.size).toBe(0); // the repair reached the client as one continuous diff
    expect(await metric('seatmap_feed_gaps_total', gapOnly)).toBeGreaterThan(gapsBefore);
    await c.close();
  });

  it('a feed with nothing left to read while Redis moved on is resynced by the room check', async () => {
    await createVenueEvent(gw.store, 'stall', 100);
    const c = await watcher('stall');
    await cutFeed();
    await gw.store.hold({ eventId: 'stall', holder: 'y', seats: [5, 6] });
    await admin.xtrim(gw.store.keys('stall').log, 'MAXLEN', 0);
    const fresh = (await gw.store.snapshot('stall'))!;
    const view = await c.until('stall', (v) => v.seq >= fresh.seq, 10_000);
    expect(Buffer.from(view.status).equals(fresh.status)).toBe(true);
    expect(c.gaps.size).toBe(0);
    await c.close();
  });

  it('an event rebuilt under its room (new epoch) reaches clients as a snapshot of the new epoch', async () => {
    await createVenueEvent(gw.store, 'rebuilt', 100);
    const c = await watcher('rebuilt');
    const oldEpoch = c.views.get('rebuilt')!.epoch;
    const snapArrives = c.next((m) => m.t === 'snap' && m.epoch !== oldEpoch, 10_000);
    await gw.store.hold({ eventId: 'rebuilt', holder: 'z', seats: [1] });
    await deleteEventOnPurpose(gw, 'rebuilt');
    await createVenueEvent(gw.store, 'rebuilt', 100);
    await gw.store.block('rebuilt', [7]);
    const snap = await snapArrives;
    expect(snap).toMatchObject({ t: 'snap', ev: 'rebuilt' });
    const fresh = (await gw.store.snapshot('rebuilt'))!;
    const view = await c.until('rebuilt', (v) => v.epoch === fresh.epoch && v.seq >= fresh.seq);
    expect(Buffer.from(view.status).equals(fresh.status)).toBe(true);
    await c.close();
  });

  it('an event deleted under its room: subscribers get NO_EVENT and the subscription ends', async () => {
    await createVenueEvent(gw.store, 'doomed', 100);
    const c = await watcher('doomed');
    const errArrives = c.next((m) => m.t === 'err', 10_000);
    await deleteEventOnPurpose(gw, 'doomed');
    const err = await errArrives;
    expect(err).toMatchObject({ rid: null, ev: 'doomed', code: 'NO_EVENT' });
    // the connection lives on
    expect(await c.request({ t: 'ping' })).toMatchObject({ t: 'pong' });
    await c.close();
  });
});
