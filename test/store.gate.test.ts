/**
 * The on-sale gate inside the scripts (core/store/lua/includes/gate.lua), on
 * a virtual clock: the holder's token bucket (burst, refill, retryMs, one
 * bucket per holder and event, shared by hold, release and extend), and
 * admission while the event has a waiting room (NOT_ADMITTED, QUEUE_CLOSED,
 * an ended admission, the box office exempt). A refusal changes nothing.
 */
import { afterAll, describe, expect, it } from 'vitest';
import { createTestStore } from './support/redis.js';
import { readRawState } from './support/store-state.js';

let now = 1_000_000;
const t = createTestStore({ clock: () => now, holderRate: { perSecond: 2, burst: 3 } });
afterAll(() => t.cleanup());

const rules = { holdTtlMs: 60_000, maxHoldLifetimeMs: 600_000, maxSeatsPerToken: 50, maxSeatsPerHolder: 100 };

describe("the holder's token bucket", () => {
  it('allows the burst, then refuses with retryMs until it refills; other holders and events have their own', async () => {
    await t.store.createEvent({ eventId: 'b1', seatCount: 100, rules });
    await t.store.createEvent({ eventId: 'b2', seatCount: 100, rules });
    const first = await t.store.hold({ eventId: 'b1', holder: 'ann', seats: [1] });
    if (!first.ok) throw new Error(first.code);
    expect((await t.store.extend({ eventId: 'b1', holder: 'ann', token: first.token })).ok).toBe(true);
    expect((await t.store.release({ eventId: 'b1', holder: 'ann', token: first.token, seats: [1] })).ok).toBe(true);
    const before = await readRawState(t.store, 'b1');
    const limited = await t.store.hold({ eventId: 'b1', holder: 'ann', seats: [2] });
    expect(limited).toEqual({ ok: false, code: 'RATE_LIMITED', retryMs: 500 });
    expect(await readRawState(t.store, 'b1')).toEqual(before);
    expect(await t.store.extend({ eventId: 'b1', holder: 'ann', token: first.token })).toMatchObject({ ok: false, code: 'RATE_LIMITED' });
    expect((await t.store.hold({ eventId: 'b1', holder: 'bob', seats: [2] })).ok).toBe(true);
    expect((await t.store.hold({ eventId: 'b2', holder: 'ann', seats: [2] })).ok).toBe(true);
    now += 499;
    expect(await t.store.hold({ eventId: 'b1', holder: 'ann', seats: [3] })).toMatchObject({ ok: false, retryMs: 1 });
    now += 1;
    expect((await t.store.hold({ eventId: 'b1', holder: 'ann', seats: [3] })).ok).toBe(true);
    // never more than the burst after a long pause
    now += 60_000;
    const after = [];
    for (let i = 0; i < 4; i++) after.push((await t.store.hold({ eventId: 'b1', holder: 'ann', seats: [10 + i] })).ok);
    expect(after).toEqual([true, true, true, false]);
    // the bucket key expires once every bucket would be full again
    const ttl = await t.redis.pttl(t.store.keys('b1').rate);
    expect(ttl).toBeGreaterThan(0);
    expect(ttl).toBeLessThanOrEqual(1500 + 1000);
  });

  it('the box office is exempt', async () => {
    await t.store.createEvent({ eventId: 'b3', seatCount: 100, rules });
    for (let i = 0; i < 6; i++) expect((await t.store.hold({ eventId: 'b3', holder: 'desk', seats: [i], exempt: true })).ok).toBe(true);
  });
});

describe('admission while the event has a waiting room', () => {
  it('NOT_ADMITTED, QUEUE_CLOSED, admitted until the admission ends; holds made before stay', async () => {
    now += 10_000;
    await t.store.createEvent({ eventId: 'q1', seatCount: 100, rules });
    const keys = t.store.keys('q1');
    expect((await t.store.hold({ eventId: 'q1', holder: 'early', seats: [0] })).ok).toBe(true);
    await t.redis.hset(keys.queue, 'on', '1');
    const before = await readRawState(t.store, 'q1');
    expect(await t.store.hold({ eventId: 'q1', holder: 'cat', seats: [1] })).toEqual({ ok: false, code: 'NOT_ADMITTED' });
    expect(await readRawState(t.store, 'q1')).toEqual(before);
    await t.redis.zadd(keys.admitted, now + 1000, 'cat');
    const held = await t.store.hold({ eventId: 'q1', holder: 'cat', seats: [1] });
    expect(held.ok).toBe(true);
    // sold out: the admitted may still hold, nobody else
    await t.redis.hset(keys.queue, 'closed', 'SOLD_OUT');
    expect(await t.store.hold({ eventId: 'q1', holder: 'dan', seats: [2] })).toEqual({ ok: false, code: 'QUEUE_CLOSED' });
    now += 400;
    expect((await t.store.hold({ eventId: 'q1', holder: 'cat', seats: [2] })).ok).toBe(true);
    // ended: nobody
    await t.redis.hset(keys.queue, 'closed', 'ENDED');
    now += 400;
    expect(await t.store.hold({ eventId: 'q1', holder: 'cat', seats: [3] })).toEqual({ ok: false, code: 'QUEUE_CLOSED' });
    await t.redis.hdel(keys.queue, 'closed');
    // the admission ends: no new holds, the existing one can still be extended
    now += 400;
    expect(await t.store.hold({ eventId: 'q1', holder: 'cat', seats: [3] })).toEqual({ ok: false, code: 'NOT_ADMITTED' });
    if (!held.ok) throw new Error('unreachable');
    expect((await t.store.extend({ eventId: 'q1', holder: 'cat', token: held.token })).ok).toBe(true);
    // the box office passes
    expect((await t.store.hold({ eventId: 'q1', holder: 'desk', seats: [4], exempt: true })).ok).toBe(true);
  });
});

describe('every hold-like script asks the gate', () => {
  it('best available and swap are NOT_ADMITTED too while the room is on; release and extend are not gated by admission', async () => {
    now += 10_000;
    await t.store.createEvent({ eventId: 'q2', seatCount: 100, rules });
    const held = await t.store.hold({ eventId: 'q2', holder: 'eve', seats: [1] });
    if (!held.ok) throw new Error(held.code);
    await t.redis.hset(t.store.keys('q2').queue, 'on', '1');
    expect(await t.store.holdBest({ eventId: 'q2', holder: 'eve', n: 2 })).toEqual({ ok: false, code: 'NOT_ADMITTED' });
    expect(await t.store.swap({ eventId: 'q2', holder: 'eve', token: held.token, release: [1], hold: [2] })).toEqual({ ok: false, code: 'NOT_ADMITTED' });
    expect((await t.store.extend({ eventId: 'q2', holder: 'eve', token: held.token })).ok).toBe(true);
    expect((await t.store.release({ eventId: 'q2', holder: 'eve', token: held.token })).ok).toBe(true);
  });
});
