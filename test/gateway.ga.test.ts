/**
 * General-admission places over the WebSocket protocol: hold and release
 * with `ga`, and refusals naming the areas and the places left.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createEventFromLayout } from '../core/events.js';
import { startTestGateway, token, wipePrefix, type TestGateway } from './support/gateway.js';
import { TestClient } from './support/ws-client.js';

let gw: TestGateway;
const clients: TestClient[] = [];

const layout = {
  version: 1,
  name: 'GA',
  categories: [{ id: 'std', label: 'Standard', price: 5000 }],
  settings: { maxSeatsPerToken: 10, maxSeatsPerHolder: 10 },
  sections: [
    { id: 'A', label: 'A', category: 'std', rows: [{ label: '1', seats: Array.from({ length: 10 }, (_, k) => ({ label: String(k + 1), x: k, y: 0 })) }] },
    { id: 'PIT', label: 'Pit', kind: 'ga', category: 'std', capacity: 6, shape: { x: 0, y: 5, width: 10, height: 5 } },
  ],
};

beforeAll(async () => {
  gw = await startTestGateway();
  expect((await createEventFromLayout(gw.store, 'ga-ws', layout)).ok).toBe(true);
  for (const who of ['alice', 'bob']) clients.push(await TestClient.connect(gw.wsUrl, { token: await token(who) }));
}, 60_000);

afterAll(async () => {
  for (const c of clients) c.ws.terminate();
  await gw?.stop();
  if (gw) await wipePrefix(gw.prefix);
});

describe('ga over the protocol', () => {
  it('holds places with a seat, refuses past capacity with areas and left, releases places', async () => {
    const [alice, bob] = clients as [TestClient, TestClient];
    const held = await alice.request({ t: 'hold', ev: 'ga-ws', seats: [2], ga: [[0, 4]] });
    expect(held).toMatchObject({ t: 'ok' });
    const refused = await bob.request({ t: 'hold', ev: 'ga-ws', seats: [3], ga: [[0, 3]] });
    expect(refused).toMatchObject({ t: 'err', code: 'UNAVAILABLE', reason: 'ga', areas: [0], left: [2] });
    expect(String((refused as unknown as { msg: string }).msg)).toMatch(/area 0 has 2 places left/);
    expect(await bob.request({ t: 'hold', ev: 'ga-ws', seats: [], ga: [[0, 2]] })).toMatchObject({ t: 'ok' });

    const tok = (held as unknown as { tok: string }).tok;
    expect(await alice.request({ t: 'release', ev: 'ga-ws', tok, ga: [[0, 5]] })).toMatchObject({ t: 'err', code: 'NOT_HOLDER', reason: 'ga', areas: [0] });
    expect(await alice.request({ t: 'release', ev: 'ga-ws', tok, ga: [[0, 1]] })).toMatchObject({ t: 'ok', n: 1 });
    expect(await gw.store.areaCounters('ga-ws')).toEqual([{ capacity: 6, held: 5, booked: 0, blocked: 0 }]);
    expect(await bob.request({ t: 'hold', ev: 'ga-ws', seats: [], ga: [[1, 1]] })).toMatchObject({ t: 'err', code: 'BAD_REQUEST', reason: 'ga' });
  });

  it('a watcher gets the areas\' counters in snap and each change of them in a diff', async () => {
    expect((await createEventFromLayout(gw.store, 'ga-watch', layout)).ok).toBe(true);
    const watcher = await TestClient.connect(gw.wsUrl, { token: await token('watcher') });
    clients.push(watcher);
    const snap = watcher.next((m) => m.t === 'snap' && m.ev === 'ga-watch');
    await watcher.request({ t: 'sub', ev: 'ga-watch' });
    expect(await snap).toMatchObject({ t: 'snap', ga: [0, 6, 0, 0] });

    const diff = watcher.next((m) => m.t === 'diff' && m.ev === 'ga-watch' && Array.isArray(m.ga));
    const [alice] = clients as [TestClient];
    const held = await alice.request({ t: 'hold', ev: 'ga-watch', seats: [], ga: [[0, 2]] });
    expect(held).toMatchObject({ t: 'ok' });
    expect(await diff).toMatchObject({ t: 'diff', ch: [], ga: [0, 4, 2, 0] });
    const booked = watcher.next((m) => m.t === 'diff' && m.ev === 'ga-watch' && Array.isArray(m.ga));
    expect((await alice.request({ t: 'book', ev: 'ga-watch', tok: (held as unknown as { tok: string }).tok, key: 'ga-watch-1' })).t).toBe('ok');
    expect(await booked).toMatchObject({ t: 'diff', ga: [0, 4, 0, 2] });
  });
});
