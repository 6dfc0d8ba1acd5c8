/**
 * Model-based property test of selling seats against the real Redis: random
 * interleavings of named holds, best-available holds, swaps, partial and full
 * releases, extend with and without ms, expiry and admin blocks from several
 * holders, on small random venues under each orphan policy, with a virtual
 * clock. After every step: the result agrees with the reference model
 * (test/support/seat-model.ts with the orphan rule of
 * test/support/selection-model.ts), a refused call changed nothing, the
 * store's invariants hold (no seat with two holders, the log replays to the
 * state), and under `strict` no accepted hold, swap or partial release
 * stranded a seat. Best available is checked by what it must do, not by
 * which of the equally good seats it chose: its seats were free, adjacent in
 * one row when `together`, the model accepts them as a named hold, and
 * NO_BLOCK comes only when no block fits.
 */
import { afterAll, describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { SeatModel, type ModelResult } from './support/seat-model.js';
import { blockExists, largestRun, orphanRefusal, orphansOf, type ModelRow } from './support/selection-model.js';
import { checkInvariants, digest, readRawState, type RawState } from './support/store-state.js';
import { gridLayout } from './support/selection-layouts.js';
import { createTestStore } from './support/redis.js';
import { createEventFromLayout } from '../core/events.js';
import type { OrphanPolicy } from '../core/layout/index.js';
import type { OpResult } from '../core/store/index.js';

const RUNS = Number(process.env.PROPERTY_RUNS ?? 300);
const HOLDERS = ['ann', 'bob', 'cyd'];
const BOGUS_TOKEN = 'bogusToken000000';

const seatsArb = fc.uniqueArray(fc.nat(19), { minLength: 1, maxLength: 3 });
const tokenRef = fc.option(fc.nat(), { nil: undefined, freq: 8 });
const opArb = fc.oneof(
  { weight: 4, arbitrary: fc.record({ op: fc.constant('hold' as const), holder: fc.nat(2), newToken: fc.boolean(), token: tokenRef, seats: seatsArb }) },
  { weight: 5, arbitrary: fc.record({ op: fc.constant('best' as const), holder: fc.nat(2), newToken: fc.boolean(), token: tokenRef, n: fc.integer({ min: 1, max: 4 }), together: fc.boolean(), seed: fc.integer({ min: 1, max: 1_000_000 }) }) },
  { weight: 3, arbitrary: fc.record({ op: fc.constant('release' as const), token: tokenRef, all: fc.boolean(), pick: fc.nat() }) },
  { weight: 3, arbitrary: fc.record({ op: fc.constant('swap' as const), token: tokenRef, release: fc.nat(3), hold: seatsArb }) },
  { weight: 2, arbitrary: fc.record({ op: fc.constant('extend' as const), token: tokenRef, ms: fc.option(fc.oneof(fc.constant(0), fc.integer({ min: 1, max: 3000 })), { nil: undefined }) }) },
  { weight: 1, arbitrary: fc.record({ op: fc.constant('block' as const), seats: fc.uniqueArray(fc.nat(19), { minLength: 1, maxLength: 2 }) }) },
  { weight: 1, arbitrary: fc.record({ op: fc.constant('expire' as const) }) },
  { weight: 2, arbitrary: fc.record({ op: fc.constant('advance' as const), ms: fc.integer({ min: 0, max: 1500 }) }) },
);

const caseArb = fc.record({
  policy: fc.constantFrom<OrphanPolicy>('off', 'lenient', 'strict'),
  rows: fc.array(fc.integer({ min: 1, max: 7 }), { minLength: 2, maxLength: 4 }),
  /** the rows from this one on form a second section (none when past the last row) */
  split: fc.integer({ min: 1, max: 4 }),
  /** layout ranks that put the back rows first: rows out of rank order within a section (the walk over every row) */
  backFirst: fc.boolean(),
  maxSeatsPerToken: fc.integer({ min: 2, max: 4 }),
  extraPerHolder: fc.integer({ min: 0, max: 3 }),
  ops: fc.array(opArb, { minLength: 5, maxLength: 30 }),
});

const t = createTestStore();
const outcomes = new Map<string, number>();
afterAll(() => t.cleanup());

function expectSameResult(actual: OpResult<object>, expected: ModelResult, context: string) {
  if (!expected.ok) {
    expect(actual, context).toEqual(expected);
    return;
  }
  expect(actual.ok, `${context}: ${JSON.stringify(actual)}`).toBe(true);
  for (const [field, value] of Object.entries(expected)) expect((actual as Record<string, unknown>)[field], `${context}.${field}`).toEqual(value);
}

function expectSameState(raw: RawState, model: SeatModel, context: string) {
  expect(raw.status, context).toEqual(model.status);
  expect(raw.seq, context).toBe(model.seq);
  expect(raw.sweepScore, context).toBe(model.sweepIndex);
  expect(new Map([...raw.seatHolds].sort()), context).toEqual(new Map([...model.seatHolds].sort()));
  type Tok = { h: string; s: number[]; c: number; e: number };
  const tokens = (m: Map<string, Tok>) => new Map([...m].map(([k, v]): [string, Tok] => [k, { h: v.h, s: [...v.s].sort((a, b) => a - b), c: v.c, e: v.e }]).sort());
  expect(tokens(raw.tokens), context).toEqual(tokens(model.tokens));
  expect(new Map([...raw.holders].sort()), context).toEqual(new Map([...model.holders].sort()));
}

describe('selling seats, model-based', () => {
  let caseNo = 0;
  it(`agrees with the reference model over ${RUNS} random sequences`, async () => {
    await fc.assert(
      fc.asyncProperty(caseArb, async (c) => {
        let now = 1_700_000_000_000;
        const store = t.connect({ clock: () => now });
        const eventId = `selprop${++caseNo}`;
        const rules = { holdTtlMs: 1000, maxHoldLifetimeMs: 2500, maxSeatsPerToken: c.maxSeatsPerToken, maxSeatsPerHolder: c.maxSeatsPerToken + c.extraPerHolder };
        const sections = [c.rows.slice(0, c.split), c.rows.slice(c.split)].filter((rows) => rows.length > 0);
        const seatTotal = c.rows.reduce((a, b) => a + b, 0);
        const ranks = c.backFirst ? Object.fromEntries(Array.from({ length: seatTotal }, (_, i) => [i, seatTotal - i])) : undefined;
        const layout = gridLayout({ sections, orphanPolicy: c.policy, ...rules, ...(ranks && { ranks }) });
        const created = await createEventFromLayout(store, eventId, layout);
        expect(created.ok).toBe(true);
        const seatCount = c.rows.reduce((a, b) => a + b, 0);
        const rows: ModelRow[] = [];
        c.rows.reduce((start, count) => (rows.push({ start, count }), start + count), 0);
        const rowOf = (s: number) => rows.findIndex((r) => s >= r.start && s < r.start + r.count);
        const model = new SeatModel(seatCount, rules);
        model.selection = (fresh, freed) => orphanRefusal(c.policy, model.status, rows, fresh, freed);
        const known: string[] = [];
        const pick = (ref: number | undefined) => {
          if (ref === undefined || known.length === 0) return BOGUS_TOKEN;
          const live = known.filter((tok) => (model.tokens.get(tok)?.e ?? 0) > now);
          const pool = ref % 5 !== 0 && live.length > 0 ? live : known;
          return pool[ref % pool.length]!;
        };
        const holderOf = (token: string) => model.tokens.get(token)?.h ?? HOLDERS[0]!;
        const inRange = (seats: number[]) => seats.map((s) => s % seatCount);

        let before = await readRawState(store, eventId);
        try {
          for (const [step, op] of c.ops.entries()) {
            const context = `step ${step} ${JSON.stringify(op)} policy ${c.policy} rows ${JSON.stringify(c.rows)}`;
            const orphansBefore = orphansOf(model.status, rows);
            let actual: OpResult<object>;
            let expected: ModelResult | undefined;
            // a hold expires overdue tokens on its way, and expiry is exempt from the orphan rule
            let mayStrand = (op.op === 'hold' || op.op === 'best') && [...model.tokens.values()].some((tok) => tok.e <= now);
            switch (op.op) {
              case 'hold': {
                const holder = HOLDERS[op.holder]!;
                const token = op.newToken || known.length === 0 ? undefined : pick(op.token);
                const seats = [...new Set(inRange(op.seats))];
                const held = await store.hold({ eventId, holder, seats, ...(token ? { token } : {}) });
                actual = held;
                expected = model.hold(now, holder, token ?? (held.ok ? held.token : 'notCreated000000'), token === undefined, seats);
                if (held.ok && token === undefined) known.push(held.token);
                break;
              }
              case 'best': {
                const holder = HOLDERS[op.holder]!;
                const token = op.newToken || known.length === 0 ? undefined : pick(op.token);
                const best = await store.holdBest({ eventId, holder, n: op.n, together: op.together, seed: op.seed, ...(token ? { token } : {}) });
                actual = best;
                if (best.ok) {
                  expect(best.seats.length, context).toBe(op.n);
                  for (const s of best.seats) expect(model.status[s], `${context}: seat ${s} was free`).toBe(0);
                  const adjacent = best.seats.every((s, i) => i === 0 || (s === best.seats[i - 1]! + 1 && rowOf(s) === rowOf(best.seats[0]!)));
                  expect(best.together, context).toBe(adjacent);
                  if (op.together) expect(adjacent, context).toBe(true);
                  // the model takes the same seats as a named hold, with the same answer
                  const r = model.hold(now, holder, token ?? best.token, token === undefined, best.seats);
                  expect(r, context).toMatchObject({ ok: true, expiresAt: best.expiresAt, seq: best.seq });
                  if (token === undefined) known.push(best.token);
                } else if (best.code === 'NO_BLOCK') {
                  expect(blockExists(c.policy, model.status, rows, op.n), `${context}: NO_BLOCK with a block free`).toBe(false);
                  if (op.together) expect(best.largest, context).toBe(largestRun(model.status, rows));
                } else if (best.code === 'BAD_REQUEST') {
                  expect(op.n, context).toBeGreaterThan(rules.maxSeatsPerToken);
                } else if (best.code === 'HOLD_LIMIT') {
                  const tok = token ? model.tokens.get(token) : undefined;
                  const perHolder = (model.holders.get(holder) ?? 0) + op.n > rules.maxSeatsPerHolder;
                  expect((tok?.s.length ?? 0) + op.n > rules.maxSeatsPerToken || perHolder, context).toBe(true);
                } else {
                  // EXPIRED, NOT_HOLDER: the token checks, as for a named hold
                  expected = model.hold(now, holder, token ?? BOGUS_TOKEN, false, [0]);
                  expect(best, context).toEqual(expected);
                }
                break;
              }
              case 'release': {
                const token = pick(op.token);
                const tok = model.tokens.get(token);
                const seats = op.all || !tok || tok.s.length === 0 ? undefined : [tok.s[op.pick % tok.s.length]!];
                mayStrand = seats === undefined || seats.length === tok?.s.length; // releasing every seat is exempt
                actual = await store.release({ eventId, holder: holderOf(token), token, ...(seats ? { seats } : {}) });
                expected = model.release(now, holderOf(token), token, seats);
                break;
              }
              case 'swap': {
                const token = pick(op.token);
                const tok = model.tokens.get(token);
                const release = tok ? tok.s.slice(0, Math.min(op.release, tok.s.length)) : [];
                const hold = [...new Set(inRange(op.hold))].filter((s) => !release.includes(s));
                actual = await store.swap({ eventId, holder: holderOf(token), token, release, hold });
                expected = model.swap(now, holderOf(token), token, release, hold);
                break;
              }
              case 'extend': {
                const token = pick(op.token);
                const holder = holderOf(token);
                if (op.ms === undefined) {
                  actual = await store.extend({ eventId, holder, token });
                  expected = model.extend(now, holder, token);
                } else {
                  actual = await store.extend({ eventId, holder, token, ms: op.ms });
                  expected = model.extendMs(now, holder, token, op.ms);
                  mayStrand = true;
                }
                break;
              }
              case 'block':
                actual = await store.block(eventId, inRange(op.seats));
                expected = model.setStates(0, 3, 'UNAVAILABLE', inRange(op.seats));
                mayStrand = true;
                break;
              case 'expire':
                actual = await store.expire(eventId, 10);
                expected = model.expire(now, 10);
                mayStrand = true;
                break;
              case 'advance':
                now += op.ms;
                continue;
            }
            const outcome = `${op.op}:${actual.ok ? 'OK' : actual.code}`;
            outcomes.set(outcome, (outcomes.get(outcome) ?? 0) + 1);
            if (expected) expectSameResult(actual, expected, context);
            const after = await readRawState(store, eventId);
            if (!actual.ok) expect(digest(after), `${context} refused but changed state`).toBe(digest(before));
            checkInvariants(after);
            expectSameState(after, model, context);
            if (actual.ok && c.policy === 'strict' && !mayStrand) {
              const fresh = [...orphansOf(model.status, rows)].filter((s) => !orphansBefore.has(s));
              expect(fresh, `${context}: stranded under strict`).toEqual([]);
            }
            before = after;
          }
        } finally {
          await store.deleteEvent(eventId);
        }
      }),
      { numRuns: RUNS },
    );
  }, 600_000);

  it.runIf(RUNS >= 200)('reached the outcomes that matter', () => {
    for (const outcome of [
      'hold:OK', 'hold:ORPHAN_SEAT', 'hold:UNAVAILABLE', 'best:OK', 'best:NO_BLOCK', 'best:HOLD_LIMIT', 'best:BAD_REQUEST',
      'release:OK', 'release:ORPHAN_SEAT', 'swap:OK', 'swap:ORPHAN_SEAT', 'swap:HOLD_LIMIT', 'swap:UNAVAILABLE', 'extend:OK', 'extend:EXPIRED',
    ]) expect(outcomes.get(outcome) ?? 0, outcome).toBeGreaterThan(0);
  });
});
