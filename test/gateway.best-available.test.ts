/**
 * Best available under contention, through the gateway: 300 clients on
 * separate WebSocket connections ask at once for a pair in one 300-seat
 * section (15 rows of 20). Exactly 150 must succeed, no seat twice, every pair
 * adjacent in one row; the others get NO_BLOCK with largest 0 or 1; and no
 * single seat is left stranded, under `strict` and under `lenient`.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ErrMessage, OkMessage } from '../core/protocol/index.js';
import { createEventFromLayout } from '../core/events.js';
import { startTestGateway, token, wipePrefix, type TestGateway } from './support/gateway.js';
import { gridLayout } from './support/selection-layouts.js';
import { orphansOf, type ModelRow } from './support/selection-model.js';
import { TestClient } from './support/ws-client.js';

const CLIENTS = 300;
const ROWS = Array.from({ length: 15 }, () => 20);
let gw: TestGateway;
const clients: TestClient[] = [];

beforeAll(async () => {
  gw = await startTestGateway();
  for (const policy of ['strict', 'lenient'] as const) {
    const created = await createEventFromLayout(gw.store, `pairs-${policy}`, gridLayout({ sections: [ROWS], orphanPolicy: policy }));
    expect(created.ok).toBe(true);
  }
  for (let i = 0; i < CLIENTS; i += 50) {
    const batch = await Promise.all(
      Array.from({ length: Math.min(50, CLIENTS - i) }, async (_, k) => TestClient.connect(gw.wsUrl, { token: await token(`buyer${i + k}`) })),
    );
    clients.push(...batch);
  }
}, 60_000);

afterAll(async () => {
  for (const c of clients) c.ws.terminate();
  await gw?.stop();
  if (gw) await wipePrefix(gw.prefix);
});

describe('300 clients, one 300-seat section, best-available pairs at once', () => {
  it.each(['strict', 'lenient'] as const)('under %s: exactly 150 pairs, adjacent, disjoint; the rest NO_BLOCK with largest 0 or 1', async (policy) => {
    const ev = `pairs-${policy}`;
    const replies = await Promise.all(clients.map((c) => c.request({ t: 'hold', ev, best: { n: 2 } })));
    const ok = replies.filter((r): r is OkMessage => r.t === 'ok');
    const refused = replies.filter((r): r is ErrMessage => r.t === 'err');
    expect(ok.length).toBe(150);
    expect(refused.length).toBe(150);
    for (const r of refused) {
      expect(r.code).toBe('NO_BLOCK');
      expect([0, 1]).toContain(r.largest);
    }
    const seen = new Set<number>();
    for (const r of ok) {
      const seats = r.seats as number[];
      expect(seats.length).toBe(2);
      expect(r.together).toBe(true);
      expect(seats[1]).toBe(seats[0]! + 1);
      expect(Math.floor(seats[0]! / 20)).toBe(Math.floor(seats[1]! / 20)); // one row
      for (const s of seats) {
        expect(seen.has(s), `seat ${s} twice`).toBe(false);
        seen.add(s);
      }
    }
    const status = [...(await gw.store.snapshot(ev))!.status];
    expect(status.filter((s) => s === 1).length).toBe(300);
    const rows: ModelRow[] = ROWS.map((count, r) => ({ start: r * 20, count }));
    expect([...orphansOf(status, rows)]).toEqual([]);
  }, 60_000);
});
