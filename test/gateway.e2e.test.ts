import { afterAll, beforeAll, expect, it } from 'vitest';
import { startTestGateway, token, createVenueEvent, wipePrefix, type TestGateway } from './support/gateway.js';
import { TestClient } from './support/ws-client.js';
let gw: TestGateway;
beforeAll(async () => { gw = await startTestGateway(); await createVenueEvent(gw.store, 'e1', 200); });
afterAll(async () => { await gw.stop(); await wipePrefix(gw.prefix); });
it('smoke', async () => {
  const a = await TestClient.connect(gw.wsUrl, { token: await token('alice') });
  const b = await TestClient.connect(gw.wsUrl, { token: await token('bob') });
  console.log(a.hello);
  console.log(await a.request({ t: 'sub', ev: 'e1' }));
  console.log(await b.request({ t: 'sub', ev: 'e1' }));
  const held = await a.ok({ t: 'hold', ev: 'e1', seats: [1, 2] });
  console.log(held);
  const v = await b.until('e1', (v) => v.seq >= (held.seq as number));
  console.log(v.seq, v.status[1], v.status[2], b.messages.map(m => m.t));
  expect(v.status[1]).toBe(1);
  await a.close(); await b.close();
});
