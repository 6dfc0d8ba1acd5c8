/**
 * Property test with real concurrency: several clients, each on its own Redis
 * connection, fire random operations at one event at the same time (real
 * Redis clock, short holds, a sweeper running). Whatever the interleaving,
 * the invariants hold afterwards and every accepted change is exactly one
 * change-log entry.
 */
import { afterAll, describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { ExpirySweeper, type SeatStore } from '../core/store/index.js';
import { createTestStore } from './support/redis.js';
import { checkInvariants, readRawState } from './support/store-state.js';

const RUNS = Math.max(50, Math.floor(Number(process.env.PROPERTY_RUNS ?? 1000) / 10));
const CLIENTS = 4;
const SEATS = 8;

const opArb = fc.oneof(
  fc.record({ op: fc.constant('hold' as const), seats: fc.uniqueArray(fc.nat(SEATS - 1), { minLength: 1, maxLength: 3 }), reuse: fc.boolean() }),
  fc.record({ op: fc.constant('release' as const), all: fc.boolean() }),
  fc.record({ op: fc.constant('extend' as const) }),
  fc.record({ op: fc.constant('book' as const), key: fc.constantFrom('a', 'b', 'c') }),
  fc.record({ op: fc.constant('block' as const), seat: fc.nat(SEATS - 1) }),
  fc.record({ op: fc.constant('unblock' as const), seat: fc.nat(SEATS - 1) }),
  fc.record({ op: fc.constant('expire' as const) }),
  fc.record({ op: fc.constant('pause' as const), ms: fc.integer({ min: 0, max: 40 }) }),
);

const t = createTestStore();
const clients: SeatStore[] = Array.from({ length: CLIENTS }, () => t.connect());
afterAll(() => t.cleanup());

describe('seat store under real concurrency', () => {
  let caseNo = 0;
  it(`keeps every invariant over ${RUNS} concurrent random schedules`, async () => {
    await fc.assert(
      fc.asyncProperty(fc.array(fc.array(opArb, { minLength: 3, maxLength: 15 }), { minLength: CLIENTS, maxLength: CLIENTS }), async (plans) => {
        const eventId = `conc${++caseNo}`;
        await t.store.createEvent({ eventId, seatCount: SEATS, rules: { holdTtlMs: 60, maxHoldLifetimeMs: 150, maxSeatsPerToken: 3, maxSeatsPerHolder: 4 } });
        const sweeper = new ExpirySweeper(t.store, { intervalMs: 10 });
        sweeper.start();
        const acceptedSeqs: number[] = [];
        try {
          await Promise.all(
            plans.map(async (plan, c) => {
              const store = clients[c]!;
              const holder = `client${c}`;
              let token: string | undefined;
              let lastSeats: number[] = [];
              for (const op of plan) {
                let seq: number | undefined;
                switch (op.op) {
                  case 'hold': {
                    const r = await store.hold({ eventId, holder, seats: op.seats, ...(op.reuse && token ? { token } : {}) });
                    if (r.ok) {
                      token = r.token;
                      lastSeats = op.seats;
                    }
                    else expect(['UNAVAILABLE', 'HOLD_LIMIT', 'EXPIRED']).toContain(r.code);
                    break;
                  }
                  case 'release':
                    if (token) await store.release({ eventId, holder, token, ...(op.all ? {} : { seats: lastSeats.slice(0, 1) }) });
                    break;
                  case 'extend':
                    if (token) await store.extend({ eventId, holder, token });
                    break;
                  case 'book':
                    if (token) {
                      const r = await store.book({ eventId, holder, token, key: `${holder}-${op.key}` });
                      if (r.ok && !r.replayed) seq = r.seq;
                    }
                    break;
                  case 'block': {
                    const r = await store.block(eventId, [op.seat]);
                    if (r.ok) seq = r.seq;
                    break;
                  }
                  case 'unblock': {
                    const r = await store.unblock(eventId, [op.seat]);
                    if (r.ok) seq = r.seq;
                    break;
                  }
                  case 'expire':
                    await store.expire(eventId);
                    break;
                  case 'pause':
                    await new Promise((r) => setTimeout(r, op.ms));
                    break;
                }
                if (seq !== undefined) acceptedSeqs.push(seq);
              }
            }),
          );
        } finally {
          await sweeper.stop();
        }
        const state = await readRawState(t.store, eventId);
        checkInvariants(state);
        // Every accepted book/block/unblock owns a distinct log entry of its own kind.
        expect(new Set(acceptedSeqs).size).toBe(acceptedSeqs.length);
        for (const seq of acceptedSeqs) expect(state.log.some((e) => e.seq === seq)).toBe(true);
        await t.store.deleteEvent(eventId);
      }),
      { numRuns: RUNS },
    );
  }, 600_000);
});
