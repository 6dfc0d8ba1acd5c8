/**
 * Model-based property test against the real Redis: random interleavings of
 * hold / release / extend / expire / book / block / unblock (one by one and
 * in bulk) and the box office's direct book of free seats from several
 * holders and tokens, with the event's waiting room put on and taken off,
 * joined and advanced in between (holds then pass the gate only when
 * admitted: NOT_ADMITTED, QUEUE_CLOSED), under a virtual clock. After every step the results and
 * the whole state must equal the reference model's, the invariants must hold,
 * and a refused call must have changed nothing.
 */
import { afterAll, describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { SeatModel, type ModelResult } from './support/seat-model.js';
import { checkInvariants, digest, readRawState, type RawState } from './support/store-state.js';
import { createTestStore } from './support/redis.js';
import { ExpirySweeper, WaitingRooms, type HoldRules, type OpResult } from '../core/store/index.js';
import { QueueModel } from './support/queue-model.js';

const RUNS = Number(process.env.PROPERTY_RUNS ?? 1000);
const HOLDERS = ['ann', 'bob', 'cyd', 'dee'];
const BOGUS_TOKEN = 'bogusToken000000';

// Mostly valid seat lists on a few hot seats (contention); sometimes empty, repeated or out of range.
const seatList = fc.oneof(
  { weight: 9, arbitrary: fc.uniqueArray(fc.nat(9), { minLength: 1, maxLength: 3 }) },
  { weight: 1, arbitrary: fc.array(fc.integer({ min: -1, max: 13 }), { minLength: 0, maxLength: 5 }) },
);
const tokenRef = fc.option(fc.nat(), { nil: undefined, freq: 6 }); // undefined = the bogus token
const opArb = fc.oneof(
  { weight: 6, arbitrary: fc.record({ op: fc.constant('hold' as const), holder: fc.nat(3), newToken: fc.boolean(), token: tokenRef, seats: seatList }) },
  { weight: 3, arbitrary: fc.record({ op: fc.constant('release' as const), ownHolder: fc.boolean(), holder: fc.nat(3), token: tokenRef, seats: fc.option(seatList, { nil: undefined }) }) },
  { weight: 2, arbitrary: fc.record({ op: fc.constant('extend' as const), ownHolder: fc.boolean(), holder: fc.nat(3), token: tokenRef }) },
  { weight: 2, arbitrary: fc.record({ op: fc.constant('book' as const), ownHolder: fc.boolean(), holder: fc.nat(3), token: tokenRef, key: fc.constantFrom('k1', 'k2', 'k3', 'k4') }) },
  // the box office: keys shared with book, so a key of one used by the other is seen too
  { weight: 2, arbitrary: fc.record({ op: fc.constant('bookFree' as const), holder: fc.nat(3), seats: seatList, key: fc.constantFrom('k1', 'k2', 'f1', 'f2', 'f3') }) },
  { weight: 1, arbitrary: fc.record({ op: fc.constant('blockBulk' as const), seats: seatList }) },
  { weight: 1, arbitrary: fc.record({ op: fc.constant('unblockBulk' as const), seats: seatList }) },
  { weight: 1, arbitrary: fc.record({ op: fc.constant('block' as const), seats: seatList }) },
  { weight: 1, arbitrary: fc.record({ op: fc.constant('unblock' as const), seats: seatList }) },
  { weight: 2, arbitrary: fc.record({ op: fc.constant('expire' as const), limit: fc.integer({ min: 1, max: 4 }) }) },
  { weight: 1, arbitrary: fc.record({ op: fc.constant('sweep' as const), tokensPerEvent: fc.integer({ min: 1, max: 3 }) }) },
  { weight: 2, arbitrary: fc.record({ op: fc.constant('advance' as const), ms: fc.integer({ min: 0, max: 500 }) }) },
  {
    weight: 2,
    arbitrary: fc.record({
      op: fc.constant('queueOn' as const),
      // exact binary fractions per ms (1, 0.5, 0.25, 0.125): the stored credit is never rounded
      admitPerMinute: fc.constantFrom(60_000, 30_000, 15_000, 7_500),
      maxActive: fc.nat(2),
      admissionTtlMs: fc.integer({ min: 1000, max: 3000 }),
      closeWhenSoldOut: fc.boolean(),
    }),
  },
  { weight: 1, arbitrary: fc.record({ op: fc.constant('queueOff' as const) }) },
  // every free seat blocked: the event is sold out, and a waiting room that closes when sold out closes
  { weight: 2, arbitrary: fc.record({ op: fc.constant('blockFree' as const) }) },
  { weight: 2, arbitrary: fc.record({ op: fc.constant('join' as const), holder: fc.nat(3) }) },
  { weight: 3, arbitrary: fc.record({ op: fc.constant('admit' as const) }) },
);
type Op = typeof opArb extends fc.Arbitrary<infer T> ? T : never;

const caseArb = fc.record({
  seatCount: fc.integer({ min: 10, max: 14 }),
  rules: fc.record({
    holdTtlMs: fc.integer({ min: 300, max: 2000 }),
    extraLifetimeMs: fc.integer({ min: 0, max: 3000 }),
    maxSeatsPerToken: fc.integer({ min: 1, max: 4 }),
    extraPerHolder: fc.integer({ min: 0, max: 3 }),
  }),
  ops: fc.array(opArb, { minLength: 5, maxLength: 40 }),
});

const t = createTestStore();
const outcomes = new Map<string, number>();
afterAll(() => t.cleanup());

/** Compares a store result with the model's, field by field where the model knows the value. */
function expectSameResult(actual: OpResult<object>, expected: ModelResult, context: string) {
  if (!expected.ok) {
    expect(actual, context).toEqual(expected);
    return;
  }
  expect(actual.ok, `${context}: ${JSON.stringify(actual)}`).toBe(true);
  for (const [field, value] of Object.entries(expected)) {
    expect((actual as Record<string, unknown>)[field], `${context}.${field}`).toEqual(value);
  }
}

function expectSameState(raw: RawState, model: SeatModel) {
  expect(raw.status).toEqual(model.status);
  expect(raw.seq).toBe(model.seq);
  expect(raw.sweepScore).toBe(model.sweepIndex);
  expect(new Map([...raw.seatHolds].sort())).toEqual(new Map([...model.seatHolds].sort()));
  type Tok = { h: string; s: number[]; c: number; e: number };
  const tokens = (m: Map<string, Tok>) =>
    new Map([...m].map(([k, v]): [string, Tok] => [k, { h: v.h, s: [...v.s].sort((a, b) => a - b), c: v.c, e: v.e }]).sort());
  expect(tokens(raw.tokens)).toEqual(tokens(model.tokens));
  expect(new Map([...raw.holders].sort())).toEqual(new Map([...model.holders].sort()));
  const bookings = [...raw.bookings].map(([k, b]): [string, object] => [k, { tok: b.tok, h: b.h, s: b.s, seq: b.seq }]);
  expect(new Map(bookings.sort())).toEqual(new Map([...model.bookings].sort()));
  // Each log entry's net effect equals the model's for that step.
  const net = raw.log.map((e) => {
    const m = new Map<number, number>();
    for (let i = 0; i < e.changes.length; i += 2) m.set(e.changes[i]!, e.changes[i + 1]!);
    return new Map([...m].sort());
  });
  expect(net).toEqual(model.log.map((m) => new Map([...m].sort())));
}

describe('seat store, model-based', () => {
  let caseNo = 0;
  it(`agrees with the reference model over ${RUNS} random operation sequences`, async () => {
    await fc.assert(
      fc.asyncProperty(caseArb, async ({ seatCount, rules: r, ops }) => {
        const rules: HoldRules = {
          holdTtlMs: r.holdTtlMs,
          maxHoldLifetimeMs: r.holdTtlMs + r.extraLifetimeMs,
          maxSeatsPerToken: r.maxSeatsPerToken,
          maxSeatsPerHolder: r.maxSeatsPerToken + r.extraPerHolder,
        };
        let now = 1_700_000_000_000;
        const store = t.connect({ clock: () => now });
        const eventId = `prop${++caseNo}`;
        const created = await store.createEvent({ eventId, seatCount, rules });
        expect(created.ok).toBe(true);
        const model = new SeatModel(seatCount, rules);
        const queue = new QueueModel();
        const rooms = new WaitingRooms(store, () => now);
        const known: string[] = []; // tokens the store has handed out, in order
        // Mostly a live token, sometimes any token ever handed out (booked, released, expired), rarely a bogus one.
        const pick = (ref: number | undefined) => {
          if (ref === undefined || known.length === 0) return BOGUS_TOKEN;
          const live = known.filter((tok) => (model.tokens.get(tok)?.e ?? 0) > now);
          const pool = ref % 4 !== 0 && live.length > 0 ? live : known;
          return pool[ref % pool.length]!;
        };
        const holderOf = (token: string, ownHolder: boolean, holder: number) =>
          ownHolder && model.tokens.has(token) ? model.tokens.get(token)!.h : HOLDERS[holder]!;

        let before = await readRawState(store, eventId);
        try {
          for (const [step, op] of ops.entries()) {
            const context = `step ${step} ${JSON.stringify(op)}`;
            let actual: OpResult<object>;
            let expected: ModelResult;
            switch (op.op) {
              case 'hold': {
                const holder = HOLDERS[op.holder]!;
                const token = op.newToken || known.length === 0 ? undefined : pick(op.token);
                const held = await store.hold({ eventId, holder, seats: op.seats, ...(token ? { token } : {}) });
                actual = held;
                const used = token ?? (held.ok ? held.token : 'notCreated000000');
                // the store refuses an empty seat list before any script runs; the gate is the script's first step
                const gated = op.seats.length > 0 ? queue.gate(now, holder) : null;
                expected = gated ? { ok: false, code: gated } : model.hold(now, holder, used, token === undefined, op.seats);
                if (actual.ok && token === undefined) known.push(used);
                break;
              }
              case 'release': {
                const token = pick(op.token);
                const holder = holderOf(token, op.ownHolder, op.holder);
                actual = await store.release({ eventId, holder, token, ...(op.seats ? { seats: op.seats } : {}) });
                expected = model.release(now, holder, token, op.seats);
                break;
              }
              case 'extend': {
                const token = pick(op.token);
                const holder = holderOf(token, op.ownHolder, op.holder);
                actual = await store.extend({ eventId, holder, token });
                expected = model.extend(now, holder, token);
                break;
              }
              case 'book': {
                const token = pick(op.token);
                const holder = holderOf(token, op.ownHolder, op.holder);
                actual = await store.book({ eventId, holder, token, key: op.key });
                expected = model.book(now, holder, token, op.key);
                break;
              }
              case 'bookFree': {
                const holder = HOLDERS[op.holder]!;
                actual = await store.bookFree({ eventId, holder, seats: op.seats, key: op.key });
                expected = model.bookFree(holder, op.seats, op.key);
                break;
              }
              case 'blockBulk':
                actual = await store.setStatesBulk('block', eventId, op.seats);
                expected = model.setStatesBulk(0, 3, op.seats);
                break;
              case 'unblockBulk':
                actual = await store.setStatesBulk('unblock', eventId, op.seats);
                expected = model.setStatesBulk(3, 0, op.seats);
                break;
              case 'block':
                actual = await store.block(eventId, op.seats);
                expected = model.setStates(0, 3, 'UNAVAILABLE', op.seats);
                break;
              case 'unblock':
                actual = await store.unblock(eventId, op.seats);
                expected = model.setStates(3, 0, 'CONFLICT', op.seats);
                break;
              case 'expire':
                actual = await store.expire(eventId, op.limit);
                expected = model.expire(now, op.limit);
                break;
              case 'sweep': {
                const stats = await new ExpirySweeper(store, { tokensPerEvent: op.tokensPerEvent }).sweepOnce();
                actual = { ok: true, ...stats };
                expected = { ok: true, ...model.sweep(now, op.tokensPerEvent) };
                break;
              }
              case 'advance':
                now += op.ms;
                continue;
              case 'queueOn': {
                const { admitPerMinute, maxActive, admissionTtlMs, closeWhenSoldOut } = op;
                actual = await rooms.configure(eventId, { onSaleAt: 0, prequeueFrom: 0, admitPerMinute, maxActive, admissionTtlMs, order: 'fifo', closeWhenSoldOut, endsAt: 0 });
                const created = !queue.on;
                queue.configure(now, { admitPerMinute, maxActive, admissionTtlMs, closeWhenSoldOut });
                expected = { ok: true, created };
                break;
              }
              case 'blockFree': {
                const free = model.status.flatMap((state, seat) => (state === 0 ? [seat] : []));
                if (free.length === 0) continue;
                actual = await store.block(eventId, free);
                expected = model.setStates(0, 3, 'UNAVAILABLE', free);
                break;
              }
              case 'queueOff':
                await rooms.remove(eventId);
                queue.remove();
                actual = expected = { ok: true };
                break;
              case 'join': {
                const joined = await rooms.join(eventId, HOLDERS[op.holder]!);
                actual = joined.ok ? { ok: true, ...joined.result } : joined;
                expected = { ok: true, ...queue.join(now, HOLDERS[op.holder]!) };
                break;
              }
              case 'admit': {
                const stepped = await rooms.advance(eventId, 'the-node', 1000);
                const modelled = queue.advance(now, model.status);
                actual = stepped.ok ? { ok: true, ...stepped.result } : stepped;
                expected = modelled ? { ok: true, ran: true, ...modelled } : { ok: true, ran: false, reason: 'none' };
                break;
              }
            }
            outcomes.set(`${op.op}:${actual.ok ? "OK" : actual.code}`, (outcomes.get(`${op.op}:${actual.ok ? "OK" : actual.code}`) ?? 0) + 1);
            expectSameResult(actual, expected, context);
            const after = await readRawState(store, eventId);
            if (!actual.ok) expect(digest(after), `${context} refused but changed state`).toBe(digest(before));
            checkInvariants(after);
            expectSameState(after, model);
            before = after;
          }
        } finally {
          await store.deleteEvent(eventId);
        }
      }),
      { numRuns: RUNS },
    );
  }, 600_000);

  it.runIf(RUNS >= 500)('reached every outcome of every operation', () => {
    const expectedOutcomes = [
      'hold:OK', 'hold:BAD_REQUEST', 'hold:BAD_SEAT', 'hold:EXPIRED', 'hold:NOT_HOLDER', 'hold:UNAVAILABLE', 'hold:HOLD_LIMIT',
      'release:OK', 'release:BAD_SEAT', 'release:EXPIRED', 'release:NOT_HOLDER',
      'extend:OK', 'extend:EXPIRED', 'extend:NOT_HOLDER',
      'book:OK', 'book:BAD_REQUEST', 'book:CONFLICT', 'book:EXPIRED', 'book:NOT_HOLDER',
      'bookFree:OK', 'bookFree:BAD_REQUEST', 'bookFree:BAD_SEAT', 'bookFree:UNAVAILABLE', 'bookFree:CONFLICT',
      'blockBulk:OK', 'blockBulk:BAD_SEAT', 'blockBulk:BAD_REQUEST', 'unblockBulk:OK',
      'block:OK', 'block:BAD_SEAT', 'block:UNAVAILABLE', 'unblock:OK', 'unblock:CONFLICT', 'expire:OK', 'sweep:OK',
      'hold:NOT_ADMITTED', 'hold:QUEUE_CLOSED', 'queueOn:OK', 'queueOff:OK', 'join:OK', 'admit:OK',
    ];
    for (const outcome of expectedOutcomes) expect(outcomes.get(outcome) ?? 0, outcome).toBeGreaterThan(0);
  });
});

export type { Op };
