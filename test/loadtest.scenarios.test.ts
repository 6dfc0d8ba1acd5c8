/**
 * Every load scenario, briefly, through the Node runner (child processes, the
 * same scenario modules the k6 scripts run) against a real gateway: the
 * thresholds pass, the numbers show the scenario did its job, and the run
 * leaves no seat held behind it.
 */
import { randomBytes } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { SeatState, WaitingRooms } from '../core/store/index.js';
import { runLoad, type LoadReport, type ScenarioName } from '../loadtest/node/runner.js';
import { TEST_JWT_SECRET, createVenueEvent, startTestGateway, wipePrefix, type TestGateway } from './support/gateway.js';

let gateway: TestGateway;

beforeAll(async () => {
  gateway = await startTestGateway();
});

afterAll(async () => {
  await gateway?.stop();
  if (gateway) await wipePrefix(gateway.prefix);
});

/** Runs a scenario on a fresh event (bookings are kept in Postgres by event id, so ids never repeat). */
async function run(scenario: ScenarioName, seats: number, env: Record<string, string>, prepare?: (ev: string) => Promise<void>): Promise<{ report: LoadReport; ev: string }> {
  const ev = `lt-${scenario}-${randomBytes(4).toString('hex')}`;
  await createVenueEvent(gateway.store, ev, seats);
  await prepare?.(ev);
  const report = await runLoad({ scenario, processes: 2, env: { URL: gateway.wsUrl, EV: ev, JWT_SECRET: TEST_JWT_SECRET, ...env } });
  const failed = report.thresholds.filter((t) => !t.ok);
  expect(failed, JSON.stringify({ failed, counters: report.counters, rates: report.rates })).toEqual([]);
  expect(report.passed).toBe(true);
  // the clients released every hold they still had when the run ended
  const snapshot = (await gateway.store.snapshot(ev))!;
  const held = snapshot.status.reduce((n, s) => n + (s === SeatState.HELD ? 1 : 0), 0);
  expect(held, `seats left held after ${scenario} (released at the end: ${report.counters.holds_released_at_end ?? 0})`).toBe(0);
  return { report, ev };
}

/** Booked seats the clients were told about: none twice, and each is booked in the store. */
async function checkBookings(report: LoadReport, ev: string): Promise<number> {
  const booked = (report.notes.booked ?? []).flat() as number[];
  expect(new Set(booked).size).toBe(booked.length);
  const snapshot = (await gateway.store.snapshot(ev))!;
  for (const seat of booked) expect(snapshot.status[seat], `seat ${seat}`).toBe(2);
  const bookedInStore = snapshot.status.reduce((n, s) => n + (s === 2 ? 1 : 0), 0);
  expect(bookedInStore).toBe(booked.length);
  return booked.length;
}

describe('load scenarios against a gateway', () => {
  it('browse: every watcher connects and sees a gap-free diff stream', async () => {
    const { report } = await run('browse', 1000, { CLIENTS: '40', DURATION: '5s', RAMP: '2s' });
    expect(report.trends.ws_connect_time!.count).toBe(40);
    expect(report.counters.diffs).toBeGreaterThan(40);
    expect(report.counters.diff_gaps).toBe(0);
    expect(report.counters.diff_duplicates).toBe(0);
    expect(report.trends.seat_update_delay!.count).toBeGreaterThan(0);
  }, 60_000);

  it('onsale: buyers hold, book and release in the hot section, with conflicts and no seat sold twice', async () => {
    const { report, ev } = await run('onsale', 1000, { CLIENTS: '40', DURATION: '6s', SPIKE: '1s', HOT_SEATS: '60', THINK_MIN: '100ms', THINK_MAX: '400ms' });
    expect(report.counters['ops{op:hold}']).toBeGreaterThan(40);
    expect(report.counters['ops{op:release}']).toBeGreaterThan(0);
    expect(report.rates['op_conflicts{op:hold}']!.passes).toBeGreaterThan(0);
    expect(await checkBookings(report, ev)).toBeGreaterThan(0);
  }, 60_000);

  it('kiosk: kiosks sell best-available pairs without a single conflict, book them, and no seat is booked twice', async () => {
    const { report, ev } = await run('kiosk', 1000, { CLIENTS: '8', DURATION: '4s' });
    // the server picks and holds in one step: kiosks never collide on a seat
    expect(report.rates['op_conflicts{op:hold}']!.passes).toBe(0);
    expect(report.counters.seats_held_best).toBeGreaterThanOrEqual(report.counters.seats_booked!);
    expect(await checkBookings(report, ev)).toBe(report.counters.seats_booked);
    expect(report.counters.seats_booked).toBeGreaterThan(20);
  }, 60_000);

  it('queue: buyers go through the waiting room, queue skippers are refused, and no seat is sold twice', async () => {
    const rooms = new WaitingRooms(gateway.store);
    const { report, ev } = await run('queue', 1000, { CLIENTS: '30', DURATION: '8s', SPIKE: '1s', SKIP_SHARE: '0.3' }, async (id) => {
      const room = await rooms.configure(id, { onSaleAt: Date.now() + 500, prequeueFrom: 0, admitPerMinute: 1200, maxActive: 0, admissionTtlMs: 60_000, order: 'random-then-fifo', closeWhenSoldOut: true, endsAt: 0 });
      expect(room.ok).toBe(true);
    });
    expect(report.counters.queue_admitted).toBe(30);
    expect(report.trends.queue_wait!.count).toBe(30);
    expect(report.rates.skip_refused!.passes).toBeGreaterThan(0);
    expect(report.rates.skip_refused!.passes).toBe(report.rates.skip_refused!.total);
    expect(await checkBookings(report, ev)).toBeGreaterThan(0);
  }, 60_000);

  it('reconnect: dropped watchers resume by a small diff and miss nothing', async () => {
    const { report } = await run('reconnect', 1000, { CLIENTS: '40', DURATION: '7s', WAVE_EVERY: '2s', REJOIN: '500ms' });
    expect(report.counters.resumed_by_diff).toBeGreaterThan(10);
    expect(report.counters.resumed_by_snap ?? 0).toBe(0);
    expect(report.counters.diff_gaps).toBe(0);
  }, 60_000);
});
