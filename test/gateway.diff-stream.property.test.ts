/**
 * A random stream of seat operations against the real store, watched through
 * a real gateway: after every step, the client-side seat array built from
 * the snapshot and the diffs equals a fresh snapshot from Redis. Random
 * disconnects (clean or dropped) and resumes with epoch+seq are steps too.
 */
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { SeatView } from '../core/protocol/index.js';
import { createVenueEvent, startTestGateway, token, wipePrefix, deleteEventOnPurpose, type TestGateway } from './support/gateway.js';
import { TestClient } from './support/ws-client.js';

const SEATS = 120;
const RUNS = Math.max(10, Math.floor(Number(process.env.PROPERTY_RUNS ?? 1000) / 5));
let gw: TestGateway;
let runNo = 0;

beforeAll(async () => {
  gw = await startTestGateway({ TICK_MS: '5' });
});

afterAll(async () => {
  await gw.stop();
  await wipePrefix(gw.prefix);
});

const seat = fc.integer({ min: 0, max: SEATS - 1 });
const step = fc.oneof(
  fc.record({ op: fc.constant('hold' as const), holder: fc.integer({ min: 0, max: 2 }), seats: fc.uniqueArray(seat, { minLength: 1, maxLength: 4 }) }),
  fc.record({ op: fc.constant('release' as const), holder: fc.integer({ min: 0, max: 2 }) }),
  fc.record({ op: fc.constant('book' as const), holder: fc.integer({ min: 0, max: 2 }) }),
  fc.record({ op: fc.constant('block' as const), seats: fc.uniqueArray(seat, { minLength: 1, maxLength: 3 }) }),
  fc.record({ op: fc.constant('unblock' as const), seats: fc.uniqueArray(seat, { minLength: 1, maxLength: 3 }) }),
  fc.record({ op: fc.constant('reconnect' as const), drop: fc.boolean(), changesWhileAway: fc.integer({ min: 0, max: 3 }) }),
);

describe('diff stream', () => {
  it('the client-side seat array equals a fresh snapshot after every step', async () => {
    await fc.assert(
      fc.asyncProperty(fc.array(step, { minLength: 1, maxLength: 12 }), async (steps) => {
        const ev = `ds${runNo++}`;
        await createVenueEvent(gw.store, ev, SEATS);
        const tokens: (string | null)[] = [null, null, null];
        let client = await TestClient.connect(gw.wsUrl, { token: await token('watcher', 'seats:read') });
        await client.ok({ t: 'sub', ev });
        let view = client.views.get(ev)!;
        let free = 0;

        const apply = async (s: (typeof steps)[number]) => {
          const holder = `h${'holder' in s ? s.holder : 0}`;
          const i = 'holder' in s ? s.holder : 0;
          switch (s.op) {
            case 'hold': {
              const r = await gw.store.hold({ eventId: ev, holder, seats: s.seats, token: tokens[i] ?? undefined });
              if (r.ok) tokens[i] = r.token;
              break;
            }
            case 'release':
              if (tokens[i]) await gw.store.release({ eventId: ev, holder, token: tokens[i]! });
              tokens[i] = null;
              break;
            case 'book':
              if (tokens[i]) await gw.store.book({ eventId: ev, holder, token: tokens[i]!, key: `k${free++}` });
              tokens[i] = null;
              break;
            case 'block':
              await gw.store.block(ev, s.seats);
              break;
            case 'unblock':
              await gw.store.unblock(ev, s.seats);
              break;
          }
        };

        for (const s of steps) {
          if (s.op === 'reconnect') {
            const { epoch, seq } = view;
            const saved = view;
            await (s.drop ? client.terminate() : client.close());
            for (let k = 0; k < s.changesWhileAway; k++) await gw.store.block(ev, [(seq * 7 + k * 13) % SEATS]);
            client = await TestClient.connect(gw.wsUrl, { token: await token('watcher', 'seats:read') });
            client.views.set(ev, saved);
            await client.ok({ t: 'sub', ev, epoch, seq });
            view = client.views.get(ev)!;
          } else {
            await apply(s);
          }
          const fresh = (await gw.store.snapshot(ev))!;
          const reached = await client.until(ev, (v) => v.seq >= fresh.seq);
          expect(reached.seq).toBe(fresh.seq);
          expect(Buffer.from(reached.status).equals(fresh.status)).toBe(true);
          expect(reached).toBeInstanceOf(SeatView);
        }
        expect(client.gaps.size).toBe(0);
        await client.close();
        await deleteEventOnPurpose(gw, ev);
      }),
      { numRuns: RUNS },
    );
  }, 120_000);
});
