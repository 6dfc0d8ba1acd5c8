/**
 * The waiting room's Redis side (core/store/waiting-room.ts) on a virtual
 * clock: joining before prequeueFrom, the pre-queue's random order and the
 * fifo after onSaleAt, admission under one node's lease (another node takes
 * over once it lapses, nobody's place lost), maxActive, endsAt, places.
 */
import { afterAll, describe, expect, it } from 'vitest';
import { WaitingRooms, type QueueSettings } from '../core/store/index.js';
import { createTestStore } from './support/redis.js';

let now = 5_000_000;
const t = createTestStore({ clock: () => now });
const rooms = new WaitingRooms(t.store, () => now);
afterAll(() => t.cleanup());

const rules = { holdTtlMs: 60_000, maxHoldLifetimeMs: 600_000, maxSeatsPerToken: 10, maxSeatsPerHolder: 10 };
const settings = (s: Partial<QueueSettings>): QueueSettings => ({
  onSaleAt: 0, prequeueFrom: 0, admitPerMinute: 60_000, maxActive: 0, admissionTtlMs: 10_000, order: 'fifo', closeWhenSoldOut: true, endsAt: 0, ...s,
});

describe('waiting room', () => {
  it('is closed before prequeueFrom; the pre-queue is in random order, later arrivals in arrival order behind it', async () => {
    await t.store.createEvent({ eventId: 'w1', seatCount: 50, rules });
    expect(await rooms.configure('w1', settings({ prequeueFrom: now + 1000, onSaleAt: now + 2000, order: 'random-then-fifo' }))).toEqual({ ok: true, created: true });
    expect(await rooms.join('w1', 'too-early')).toEqual({ ok: false, code: 'QUEUE_CLOSED' });
    now += 1000;
    const early = Array.from({ length: 40 }, (_, i) => `p${String(i).padStart(2, '0')}`);
    for (const sub of early) expect(await rooms.join('w1', sub)).toMatchObject({ ok: true, result: { state: 'prequeue', onSaleAt: now + 1000 } });
    now += 1000;
    const late = ['l0', 'l1', 'l2'];
    for (const [i, sub] of late.entries()) expect(await rooms.join('w1', sub)).toMatchObject({ ok: true, result: { state: 'waiting', ahead: 40 + i } });
    const line = await t.redis.zrange(t.store.keys('w1').waiting, 0, -1);
    expect(line.slice(40)).toEqual(late);
    const prequeue = line.slice(0, 40);
    expect([...prequeue].sort()).toEqual(early);
    // shuffled: far from the arrival order (the chance of fewer than 20 moved places is negligible)
    expect(prequeue.filter((sub, i) => sub !== early[i]).length).toBeGreaterThan(20);
    // joining again keeps the place
    const again = await rooms.join('w1', prequeue[5]!);
    expect(again).toMatchObject({ ok: true, result: { state: 'waiting', ahead: 5 } });
  });

  it('admits at the rate under one node\'s lease; another node takes over when it lapses, and nobody is lost', async () => {
    await t.store.createEvent({ eventId: 'w2', seatCount: 50, rules });
    await rooms.configure('w2', settings({ admitPerMinute: 600 })); // one per 100 ms
    for (let i = 0; i < 10; i++) await rooms.join('w2', `s${i}`);
    now += 300;
    expect(await rooms.advance('w2', 'node-a', 1000)).toMatchObject({ ok: true, result: { ran: true, admitted: 3, waiting: 7, active: 3 } });
    now += 300;
    expect(await rooms.advance('w2', 'node-b', 1000)).toEqual({ ok: true, result: { ran: false, reason: 'busy' } });
    // node-a dies; after its lease node-b admits, the pace capped at two seconds' worth
    now += 5000;
    expect(await rooms.advance('w2', 'node-b', 1000)).toMatchObject({ ok: true, result: { ran: true, admitted: 7, waiting: 0, active: 10 } });
    const places = await rooms.places('w2', ['s0', 's9', 'nobody']);
    expect(places!.places).toEqual([{ kind: 'admitted', until: now - 5300 + 10_000 }, { kind: 'admitted', until: now + 10_000 }, { kind: 'none' }]);
  });

  it('keeps at most maxActive admitted at once; the room ends at endsAt', async () => {
    await t.store.createEvent({ eventId: 'w3', seatCount: 50, rules });
    await rooms.configure('w3', settings({ maxActive: 2, admissionTtlMs: 1000, endsAt: now + 10_000 }));
    for (let i = 0; i < 5; i++) await rooms.join('w3', `m${i}`);
    now += 1000;
    expect(await rooms.advance('w3', 'n', 500)).toMatchObject({ ok: true, result: { admitted: 2, active: 2 } });
    now += 500;
    expect(await rooms.advance('w3', 'n', 500)).toMatchObject({ ok: true, result: { admitted: 0, active: 2 } });
    now += 600; // the first two admissions ended
    expect(await rooms.advance('w3', 'n', 500)).toMatchObject({ ok: true, result: { admitted: 2, active: 2, waiting: 1 } });
    now += 10_000;
    expect(await rooms.advance('w3', 'n', 500)).toMatchObject({ ok: true, result: { closed: 'ENDED', admitted: 0 } });
    expect(await rooms.join('w3', 'm4')).toMatchObject({ ok: true, result: { state: 'closed', reason: 'ENDED' } });
    expect(await t.store.hold({ eventId: 'w3', holder: 'm3', seats: [1] })).toEqual({ ok: false, code: 'QUEUE_CLOSED' });
    expect(await rooms.state('w3')).toMatchObject({ closed: 'ENDED', waiting: 1, admittedTotal: 4 });
    expect(await rooms.remove('w3')).toBe(true);
    expect(await rooms.join('w3', 'm4')).toEqual({ ok: true, result: { state: 'none' } });
    expect((await t.store.hold({ eventId: 'w3', holder: 'm3', seats: [1] })).ok).toBe(true);
  });

  it('an unknown event: NO_EVENT', async () => {
    expect(await rooms.configure('nope', settings({}))).toEqual({ ok: false, code: 'NO_EVENT' });
    expect(await rooms.join('nope', 'x')).toEqual({ ok: false, code: 'NO_EVENT' });
  });
});
