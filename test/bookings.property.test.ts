/**
 * Property test of the durable side, on the real Redis and a throwaway
 * Postgres database: random interleavings of bookings and checkouts, retries
 * with the same key, flushes by two flushers, a flusher crashing after it
 * read entries (its entries taken over by the other), redelivery of committed
 * entries, the lifecycle (confirm, fail, expiry at payBy, cancel, cancel of
 * some seats, check-in of all or some seats), and Redis losing the event
 * (rebuilt from Postgres) while entries read before the loss are delivered
 * late. Each lifecycle call is compared with a model of the booking (its
 * state, seats, cancelled seats and checked-in seats): the same outcome
 * (changed, unchanged, or the same refusal) and the same booking afterwards.
 *
 * After every step: a booking once committed stays in Postgres, in the
 * model's state; no seat is in two active bookings in any state (and
 * booked_seats is exactly the active bookings' seats); every seat of an
 * active booking is BOOKED in Redis; every history row is an edge of the
 * state graph, the rows of a booking chain from `none` to its state, and each
 * has its log entry; the event's log is numbered 1, 2, 3, …. At the end, with
 * everything flushed: Redis's booked seats equal Postgres's.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import fc from 'fast-check';
import pg from 'pg';
import type { Redis } from 'ioredis';
import { BookingFlusher } from '../core/bookings/flusher.js';
import { runBookingAction } from '../core/bookings/actions.js';
import { checkIn } from '../core/bookings/check-in.js';
import { cancelBooking } from '../core/bookings/lifecycle.js';
import { migrate } from '../core/bookings/migrate.js';
import { PaymentExpiry } from '../core/bookings/payment-expiry.js';
import { rebuildEvent } from '../core/bookings/rebuild.js';
import { ACTIVE_STATES, BOOKING_ACTIONS, type BookingAction, type BookingState } from '../core/bookings/states.js';
import { documentedGraph, isDocumentedEdge } from './support/booking-graph.js';
import { SeatState, type SeatStore } from '../core/store/index.js';
import { createTestDatabase } from './support/pg.js';
import { createTestStore, newRedis, type TestStore } from './support/redis.js';
import { testDatabaseUrl } from './support/env.js';

const RUNS = Math.max(5, Math.round(Number(process.env.PROPERTY_RUNS ?? 1000) / 10));
const SEATS = 12;
const RULES = { holdTtlMs: 600_000, maxHoldLifetimeMs: 600_000, maxSeatsPerToken: 4, maxSeatsPerHolder: 12 };

let db: Awaited<ReturnType<typeof createTestDatabase>>;
let pool: pg.Pool;
let ts: TestStore;
const clients: Redis[] = [];

beforeAll(async () => {
  db = await createTestDatabase(testDatabaseUrl());
  pool = new pg.Pool({ connectionString: db.url, max: 4 });
  await migrate(pool);
  ts = createTestStore();
});

afterAll(async () => {
  await ts?.cleanup();
  await Promise.all(clients.map((c) => c.quit().catch(() => undefined)));
  await pool?.end();
  await db?.drop();
});

/** A lifecycle call on a committed booking: `mask` picks seats of it (bit i: its i-th seat, current or cancelled); `stranger` adds one it never had. */
type LifecycleOp = 'confirm' | 'fail' | 'expire' | 'cancel' | 'cancelSeats' | 'checkIn' | 'checkInSeats';

type Step =
  | { op: 'book' | 'checkout'; holder: number; seats: number[] }
  | { op: 'retry'; which: number }
  | { op: 'flush'; by: 0 | 1 }
  | { op: 'crashAfterRead' }
  | { op: 'redeliver'; which: number }
  | { op: LifecycleOp; which: number; mask: number; stranger: boolean }
  | { op: 'loseRedis' };

const lifecycleArb = (op: LifecycleOp) => fc.record({ op: fc.constant(op), which: fc.nat(), mask: fc.nat(7), stranger: fc.boolean() });

const stepArb: fc.Arbitrary<Step> = fc.oneof(
  { weight: 4, arbitrary: fc.record({ op: fc.constant('book' as const), holder: fc.nat(3), seats: fc.uniqueArray(fc.nat(SEATS - 1), { minLength: 1, maxLength: 3 }) }) },
  { weight: 4, arbitrary: fc.record({ op: fc.constant('checkout' as const), holder: fc.nat(3), seats: fc.uniqueArray(fc.nat(SEATS - 1), { minLength: 1, maxLength: 3 }) }) },
  { weight: 2, arbitrary: fc.record({ op: fc.constant('retry' as const), which: fc.nat() }) },
  { weight: 5, arbitrary: fc.record({ op: fc.constant('flush' as const), by: fc.constantFrom(0 as const, 1 as const) }) },
  { weight: 1, arbitrary: fc.constant({ op: 'crashAfterRead' as const }) },
  { weight: 1, arbitrary: fc.record({ op: fc.constant('redeliver' as const), which: fc.nat() }) },
  { weight: 2, arbitrary: lifecycleArb('confirm') },
  { weight: 1, arbitrary: lifecycleArb('fail') },
  { weight: 1, arbitrary: lifecycleArb('expire') },
  { weight: 2, arbitrary: lifecycleArb('cancel') },
  { weight: 2, arbitrary: lifecycleArb('cancelSeats') },
  { weight: 1, arbitrary: lifecycleArb('checkIn') },
  { weight: 1, arbitrary: lifecycleArb('checkInSeats') },
  { weight: 1, arbitrary: fc.constant({ op: 'loseRedis' as const }) },
);

interface Made {
  id: string;
  key: string;
  holder: string;
  tok: string;
  seats: number[];
  made: 'book' | 'checkout';
}

/** The model of a committed booking. */
interface Modelled {
  state: BookingState;
  seats: number[];
  cancelled: number[];
  checkedIn: Set<number>;
}

type Expected = { outcome: 'changed' | 'unchanged' } | { outcome: 'refused'; code: string };

const ENDED_BY: Partial<Record<LifecycleOp, BookingState>> = { fail: 'failed', expire: 'expired', cancel: 'cancelled' };

/**
 * What the model says a lifecycle call does to a booking (and does it to the
 * model): the rules of docs/bookings.md, written independently of the code.
 */
function predict(m: Modelled, op: LifecycleOp, seats: number[] | undefined): Expected {
  const refused = (code: string): Expected => ({ outcome: 'refused', code });
  const active = (ACTIVE_STATES as readonly string[]).includes(m.state);
  switch (op) {
    case 'confirm':
      if (m.state === 'pending_payment') return (m.state = 'confirmed'), { outcome: 'changed' };
      return m.state === 'confirmed' || m.state === 'checked_in' ? { outcome: 'unchanged' } : refused('CONFLICT');
    case 'fail':
    case 'expire':
    case 'cancel': {
      const to = ENDED_BY[op]!;
      if (m.state === to) return { outcome: 'unchanged' };
      const allowed = op === 'cancel' ? m.state === 'pending_payment' || m.state === 'confirmed' : m.state === 'pending_payment';
      if (!allowed) return op === 'expire' ? { outcome: 'unchanged' } : refused('CONFLICT'); // the expiry leaves anything but pending_payment alone
      return (m.state = to), { outcome: 'changed' };
    }
    case 'cancelSeats': {
      const wanted = [...new Set(seats!)];
      if (wanted.some((s) => !m.seats.includes(s) && !m.cancelled.includes(s))) return refused('BAD_SEAT');
      if (m.state === 'cancelled') return { outcome: 'unchanged' };
      if (!active) return refused('CONFLICT');
      const effective = wanted.filter((s) => m.seats.includes(s));
      if (effective.length === 0) return { outcome: 'unchanged' };
      if (effective.some((s) => m.checkedIn.has(s))) return refused('CONFLICT');
      if (effective.length === m.seats.length) {
        if (m.state !== 'pending_payment' && m.state !== 'confirmed') return refused('CONFLICT');
        return (m.state = 'cancelled'), { outcome: 'changed' };
      }
      if (m.state === 'pending_payment') return refused('CONFLICT');
      m.seats = m.seats.filter((s) => !effective.includes(s));
      m.cancelled = [...m.cancelled, ...effective];
      return { outcome: 'changed' };
    }
    case 'checkIn':
    case 'checkInSeats': {
      if (m.state !== 'confirmed' && m.state !== 'checked_in') return refused('CONFLICT');
      const wanted = seats ? [...new Set(seats)] : m.seats;
      if (wanted.some((s) => m.cancelled.includes(s) && !m.seats.includes(s))) return refused('CONFLICT');
      if (wanted.some((s) => !m.seats.includes(s))) return refused('BAD_SEAT');
      const fresh = wanted.filter((s) => !m.checkedIn.has(s));
      if (fresh.length === 0) return { outcome: 'unchanged' };
      for (const s of fresh) m.checkedIn.add(s);
      m.state = 'checked_in';
      return { outcome: 'changed' };
    }
  }
}

/** The log entry type each history action writes. */
const LOG_TYPE_OF: Record<BookingAction, string> = {
  book: 'booking.confirmed',
  checkout: 'booking.pending_payment',
  confirm: 'booking.confirmed',
  fail: 'booking.failed',
  expire: 'booking.expired',
  cancel: 'booking.cancelled',
  cancel_seats: 'booking.seats_cancelled',
  check_in: 'booking.checked_in',
};

let runNo = 0;

async function flushWithRetry(f: BookingFlusher): Promise<void> {
  // a round that meets a vanished stream (Redis lost the event) throws once and sets up again
  for (let attempt = 0; attempt < 3; attempt++) {
    try {
      await f.flushOnce();
      return;
    } catch (err) {
      if (!(err instanceof Error && /NOGROUP|no longer exists/.test(err.message))) throw err;
    }
  }
}

async function redisBooked(store: SeatStore, eventId: string): Promise<number[]> {
  const snap = (await store.snapshot(eventId))!;
  const out: number[] = [];
  snap.status.forEach((s, seat) => s === SeatState.BOOKED && out.push(seat));
  return out;
}

async function pgState(eventId: string) {
  const bookings = (await pool.query<{ id: string; state: string; seats: number[] }>('SELECT id::text AS id, state, seats FROM bookings WHERE event_id = $1', [eventId])).rows;
  const booked = (await pool.query<{ seat: number }>('SELECT seat FROM booked_seats WHERE event_id = $1 ORDER BY seat', [eventId])).rows.map((r) => r.seat);
  return { bookings, booked };
}

/** Every history row of the event's bookings, by booking, in order. */
async function histories(eventId: string): Promise<Map<string, { from: string; to: string; action: BookingAction }[]>> {
  const rows = await pool.query<{ id: string; from_state: string; to_state: string; action: BookingAction }>(
    'SELECT b.id::text AS id, h.from_state, h.to_state, h.action FROM booking_history h JOIN bookings b ON b.id = h.booking_id WHERE b.event_id = $1 ORDER BY h.id',
    [eventId],
  );
  const out = new Map<string, { from: string; to: string; action: BookingAction }[]>();
  for (const r of rows.rows) {
    const list = out.get(r.id) ?? [];
    list.push({ from: r.from_state, to: r.to_state, action: r.action });
    out.set(r.id, list);
  }
  return out;
}

/** The seats a lifecycle step names: `mask` over the booking's seats (current, then cancelled), and one it never had. */
function pickSeats(m: Modelled, mask: number, stranger: boolean): number[] {
  const all = [...m.seats, ...m.cancelled];
  let picked = all.filter((_, i) => (mask >> i) & 1);
  if (picked.length === 0) picked = [all[0]!];
  if (stranger) picked.push([...Array(SEATS).keys()].find((s) => !all.includes(s))!);
  return picked;
}

async function runSteps(steps: Step[]): Promise<void> {
  const eventId = `prop${runNo++}`;
  const store = ts.store;
  expect((await store.createEvent({ eventId, seatCount: SEATS, rules: RULES, layout: { name: eventId } })).ok).toBe(true);
  const committed = new Set<string>();
  const model = new Map<string, Modelled>();
  const made: Made[] = [];
  const onCommitted = (list: { id: string; eventId: string; seats: number[]; state: 'confirmed' | 'pending_payment' }[]) => {
    for (const b of list) {
      if (b.eventId !== eventId) continue;
      committed.add(b.id);
      if (!model.has(b.id)) model.set(b.id, { state: b.state, seats: [...b.seats], cancelled: [], checkedIn: new Set() });
    }
  };
  const makeFlusher = (consumer: string) => {
    const redis = newRedis();
    clients.push(redis);
    return new BookingFlusher({ redis, pool, prefix: ts.prefix, consumer, claimIdleMs: 0, refreshMs: 0, onCommitted });
  };
  const flushers = [makeFlusher(`${eventId}-a`), makeFlusher(`${eventId}-b`)];
  const expirer = new PaymentExpiry({ pool, store, intervalMs: 0 });
  // a running flusher records a new event in Postgres at once (what a rebuild reads)
  await flushers[1]!.flushOnce();
  // outbox entries as read before Redis lost the event, delivered again afterwards
  let beforeLoss: string[][] = [];

  for (const step of steps) {
    const outbox = store.keys(eventId).outbox;
    switch (step.op) {
      case 'book':
      case 'checkout': {
        const holder = `h${step.holder}`;
        const held = await store.hold({ eventId, holder, seats: step.seats });
        if (!held.ok) break;
        const key = `k${made.length}`;
        const booked = step.op === 'book' ? await store.book({ eventId, holder, token: held.token, key }) : await store.checkout({ eventId, holder, token: held.token, key });
        expect(booked.ok).toBe(true);
        if (booked.ok) made.push({ id: booked.bookingId, key, holder, tok: held.token, seats: booked.seats, made: step.op });
        break;
      }
      case 'retry': {
        const m = made[step.which % Math.max(1, made.length)];
        if (!m) break;
        const again = await store.book({ eventId, holder: m.holder, token: m.tok, key: m.key });
        // the same booking, or — when Redis lost it before it was committed — nothing at all
        if (again.ok) expect(again.bookingId).toBe(m.id);
        else expect(committed.has(m.id)).toBe(false);
        break;
      }
      case 'flush':
        await flushWithRetry(flushers[step.by]!);
        break;
      case 'crashAfterRead': {
        // flusher 0 reads entries and dies before committing; a new incarnation takes its name
        await store.redis.xgroup('CREATE', outbox, 'flusher', '0', 'MKSTREAM').catch(() => undefined);
        await store.redis.xreadgroup('GROUP', 'flusher', `${eventId}-a`, 'COUNT', 2, 'STREAMS', outbox, '>');
        flushers[0] = makeFlusher(`${eventId}-a2`);
        break;
      }
      case 'redeliver': {
        // a crash after COMMIT, before XACK: a committed booking's entry is delivered again
        const m = made.filter((x) => committed.has(x.id))[step.which % Math.max(1, committed.size)];
        if (!m) break;
        const epoch = (await store.meta(eventId))!.epoch;
        const state = m.made === 'checkout' ? ['state', 'pending_payment', 'payBy', Date.now() + 900_000] : [];
        await store.redis.xadd(outbox, '*', 'id', m.id, 'key', m.key, 'holder', m.holder, 'token', m.tok, 'seats', JSON.stringify(m.seats), 'seq', 1, 'epoch', epoch, 'at', Date.now(), ...state);
        break;
      }
      case 'confirm':
      case 'fail':
      case 'expire':
      case 'cancel':
      case 'cancelSeats':
      case 'checkIn':
      case 'checkInSeats': {
        // the lifecycle acts on committed bookings: commit what there is when none is yet
        if (committed.size === 0) await flushWithRetry(flushers[1]!);
        const m = made.filter((x) => committed.has(x.id))[step.which % Math.max(1, committed.size)];
        if (!m) break;
        const modelled = model.get(m.id)!;
        const seats = step.op === 'cancelSeats' || step.op === 'checkInSeats' ? pickSeats(modelled, step.mask, step.stranger) : undefined;
        const expected = predict(modelled, step.op, seats);
        let actual: Expected;
        if (step.op === 'expire') {
          await pool.query("UPDATE bookings SET pay_by = now() - interval '1 second' WHERE id = $1", [m.id]);
          actual = { outcome: (await expirer.expireDue()) > 0 ? 'changed' : 'unchanged' };
        } else {
          const r =
            step.op === 'checkIn' || step.op === 'checkInSeats'
              ? await checkIn(pool, { booking: m.id, eventId, seats, gate: 'g1', by: 'door' })
              : step.op === 'cancel' || step.op === 'cancelSeats'
                ? await cancelBooking(pool, store, eventId, m.id, { by: 'prop', seats })
                : await runBookingAction(pool, store, { booking: m.id }, { action: step.op, by: 'provider' });
          actual = r.ok ? { outcome: r.changed ? 'changed' : 'unchanged' } : { outcome: 'refused', code: r.code };
          if (r.ok) expect('freed' in r ? r.freed : 0, 'Redis answered').not.toBeNull();
        }
        expect(actual, `${step.op} ${JSON.stringify(seats)} of a ${m.made} booking`).toEqual(expected);
        break;
      }
      case 'loseRedis': {
        beforeLoss = ((await store.redis.xrange(outbox, '-', '+')) as [string, string[]][]).map(([, fields]) => fields);
        await store.deleteEvent(eventId);
        const rebuilt = await rebuildEvent(pool, store, eventId);
        expect(rebuilt.status).toBe('rebuilt');
        // a flusher that read these before the loss delivers them now: bookings of the old epoch
        for (const fields of beforeLoss) await store.redis.xadd(store.keys(eventId).outbox, '*', ...fields);
        break;
      }
    }
    await checkAfterStep(eventId, committed, model);
  }

  // everything flushed: Redis and Postgres agree exactly
  for (let i = 0; i < 5 && (await store.redis.xlen(store.keys(eventId).outbox)) > 0; i++) {
    await new Promise((r) => setTimeout(r, 60)); // takeovers run at most every 50 ms
    await flushWithRetry(flushers[1]!);
  }
  expect(await store.redis.xlen(store.keys(eventId).outbox)).toBe(0);
  await checkAfterStep(eventId, committed, model);
  expect(await redisBooked(store, eventId)).toEqual((await pgState(eventId)).booked);
  expect((await pool.query('SELECT count(*)::int AS n FROM seat_releases WHERE event_id = $1', [eventId])).rows).toEqual([{ n: 0 }]);
  // out of the registry, so that the next runs' flushers do not read this event
  await store.deleteEvent(eventId);
}

/** The invariants that hold after every step. */
async function checkAfterStep(eventId: string, committed: Set<string>, model: Map<string, Modelled>): Promise<void> {
  const store = ts.store;
  const bookings = (
    await pool.query<{ id: string; state: BookingState; seats: number[]; cancelled_seats: number[] }>(
      'SELECT id::text AS id, state, seats, cancelled_seats FROM bookings WHERE event_id = $1',
      [eventId],
    )
  ).rows;
  const booked = (await pool.query<{ seat: number }>('SELECT seat FROM booked_seats WHERE event_id = $1 ORDER BY seat', [eventId])).rows.map((r) => r.seat);
  const inPg = new Map(bookings.map((b) => [b.id, b]));
  const checkIns = (await pool.query<{ id: string; seat: number }>('SELECT booking_id::text AS id, seat FROM seat_checkins WHERE event_id = $1', [eventId])).rows;
  // a committed booking stays, exactly as the model has it
  for (const id of committed) {
    const row = inPg.get(id);
    expect(row, `committed booking ${id} is still in Postgres`).toBeDefined();
    const m = model.get(id)!;
    expect({ state: row!.state, seats: [...row!.seats].sort(), cancelled: [...row!.cancelled_seats].sort() }, `booking ${id}`).toEqual({
      state: m.state,
      seats: [...m.seats].sort(),
      cancelled: [...m.cancelled].sort(),
    });
    expect(checkIns.filter((c) => c.id === id).map((c) => c.seat).sort()).toEqual([...m.checkedIn].sort());
  }
  // no seat in two active bookings, in any active state; booked_seats is exactly their seats
  const activeSeats = bookings.filter((b) => (ACTIVE_STATES as readonly string[]).includes(b.state)).flatMap((b) => b.seats);
  expect(new Set(activeSeats).size, 'a seat in two active bookings').toBe(activeSeats.length);
  expect([...activeSeats].sort((a, b) => a - b)).toEqual(booked);
  // the log's count of seats taken (what event.soldout is decided on) follows every change
  const head = (await pool.query<{ taken: number }>('SELECT taken FROM event_log_heads WHERE event_id = $1', [eventId])).rows[0];
  expect(head?.taken ?? 0, 'seats taken, as the log head counts them').toBe(booked.length);
  const inRedis = new Set(await redisBooked(store, eventId));
  for (const seat of booked) expect(inRedis.has(seat), `seat ${seat} of an active booking is BOOKED in Redis`).toBe(true);
  // no transition outside the graph is ever stored, and each has its log entry
  const logRows = (await pool.query<{ booking_id: string | null; type: string; seq: string }>('SELECT booking_id::text AS booking_id, type, seq FROM event_log WHERE event_id = $1 ORDER BY seq', [eventId])).rows;
  for (const [id, rows] of await histories(eventId)) {
    let state = 'none';
    for (const h of rows) {
      expect(h.from, `history of ${id} chains`).toBe(state);
      expect(isDocumentedEdge(GRAPH, h.from, h.action, h.to), `${h.from} -${h.action}-> ${h.to} is an edge of the documented graph`).toBe(true);
      state = h.to;
    }
    expect(state, `the history of ${id} ends in its state`).toBe(inPg.get(id)!.state);
    expect(logRows.filter((l) => l.booking_id === id).map((l) => l.type)).toEqual(rows.map((h) => LOG_TYPE_OF[h.action]));
  }
  expect(logRows.map((l) => Number(l.seq))).toEqual(logRows.map((_, i) => i + 1));
}

/** The graph docs/bookings.md documents; the code's (states.ts) must be the same. */
const GRAPH = documentedGraph();

describe('the booking state graph', () => {
  it('is the one docs/bookings.md documents', () => {
    expect(GRAPH.length).toBe(Object.keys(BOOKING_ACTIONS).length);
    for (const doc of GRAPH) {
      const rule = BOOKING_ACTIONS[doc.action as BookingAction];
      expect(rule, doc.action).toBeDefined();
      expect({ from: [...rule.from].sort(), to: rule.to }, doc.action).toEqual({ from: [...doc.from].sort(), to: doc.to });
    }
  });
});

describe('durable bookings under random interleavings', () => {
  it('never lose a committed booking, never book a seat twice, follow the state graph, and end with Redis and Postgres agreeing', { timeout: 600_000 }, async () => {
    await fc.assert(fc.asyncProperty(fc.array(stepArb, { minLength: 1, maxLength: 30 }), runSteps), { numRuns: RUNS });
  });
});
