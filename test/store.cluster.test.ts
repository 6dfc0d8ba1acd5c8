/**
 * The seat store on a real Redis Cluster of 3 masters, started for this file:
 * events whose keys live on different masters, script preloading on every
 * master, the expiry sweeper across masters, and clients racing for seats.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Cluster, type Redis } from 'ioredis';
import calculateSlot from 'cluster-key-slot';
import { ExpirySweeper, SeatStore, loadScripts, type HoldRules } from '../core/store/internal.js';
import { onPath, startLocalCluster, type LocalCluster } from './support/redis-cluster.js';
import { checkInvariants, readRawState } from './support/store-state.js';

const haveRedis = onPath('redis-server') && onPath('redis-cli');
const title = haveRedis
  ? 'seat store on a 3-master Redis Cluster'
  : 'seat store on a 3-master Redis Cluster (skipped: redis-server and redis-cli must be on PATH to start a local cluster)';

const prefix = 'cluster-test:';
const rules: HoldRules = { holdTtlMs: 60_000, maxHoldLifetimeMs: 120_000, maxSeatsPerToken: 5, maxSeatsPerHolder: 5 };
const RACERS = 50;
const RACE_SEATS = 5;

let local: LocalCluster | undefined;
const clients: Cluster[] = [];
let cluster: Cluster;
let store: SeatStore;
/** slot ranges of each master, by port, as CLUSTER SLOTS reports them */
let slotOwners: { start: number; end: number; port: number }[];

function connect(): Cluster {
  const client = new Cluster([{ host: '127.0.0.1', port: local!.ports[0]! }], {
    enableAutoPipelining: true,
    redisOptions: { maxRetriesPerRequest: 3, connectTimeout: 5000 },
  });
  clients.push(client);
  return client;
}

/** Resolves once the client knows the slot map and has a live connection to every master. */
async function warm(client: Cluster): Promise<void> {
  if (client.status !== 'ready') await new Promise((resolve) => client.once('ready', resolve));
  await Promise.all(client.nodes('master').map((node) => node.ping()));
}

const slotOf = (eventId: string) => calculateSlot(store.keys(eventId).meta);

function masterPortOf(eventId: string): number {
  const slot = slotOf(eventId);
  const owner = slotOwners.find((o) => o.start <= slot && slot <= o.end);
  if (!owner) throw new Error(`no master owns slot ${slot}`);
  return owner.port;
}

function masterNode(port: number): Redis {
  const node = cluster.nodes('master').find((n) => n.options.port === port);
  if (!node) throw new Error(`no master on port ${port}`);
  return node;
}

/** `perMaster` event ids (with `base` in their names) for each master, so that events are spread over every master. */
function eventsOnEveryMaster(base: string, perMaster: number): string[] {
  const byPort = new Map<number, string[]>(local!.ports.map((p) => [p, []]));
  for (let i = 0; [...byPort.values()].some((ids) => ids.length < perMaster); i++) {
    if (i > 10_000) throw new Error('could not spread event ids over the masters');
    const eventId = `${base}-${i}`;
    const ids = byPort.get(masterPortOf(eventId))!;
    if (ids.length < perMaster) ids.push(eventId);
  }
  return [...byPort.values()].flat();
}

async function waitFor(check: () => Promise<boolean>, timeoutMs: number, what: string): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`${what}: not within ${timeoutMs} ms`);
    await new Promise((r) => setTimeout(r, 25));
  }
}

describe.skipIf(!haveRedis)(title, () => {
  beforeAll(async () => {
    local = await startLocalCluster({ masters: 3 });
    cluster = connect();
    await warm(cluster);
    store = new SeatStore({ redis: cluster, prefix });
    const slots = await cluster.cluster('SLOTS');
    slotOwners = slots.map(([start, end, master]) => ({ start, end, port: master![1] }));
  }, 60_000);

  afterAll(async () => {
    await Promise.all(clients.map((c) => c.quit().catch(() => c.disconnect())));
    await local?.stop();
  }, 30_000);

  it('the cluster has 3 masters splitting the 16384 slots, and the client sees all of them', async () => {
    expect(new Set(slotOwners.map((o) => o.port))).toEqual(new Set(local!.ports));
    expect(slotOwners.reduce((n, o) => n + o.end - o.start + 1, 0)).toBe(16384);
    expect(cluster.nodes('master').map((n) => n.options.port).sort()).toEqual([...local!.ports].sort());
  });

  const shas = [...loadScripts().values()].map((s) => s.sha);
  const masters = () => local!.ports.map(masterNode);

  it('scripts run on masters that forgot them (EVALSHA falls back to EVAL, also in auto-pipelined batches)', async () => {
    const events = eventsOnEveryMaster('noscript', 2);
    await Promise.all(masters().map((node) => node.script('FLUSH')));
    const created = await Promise.all(events.map((eventId) => store.createEvent({ eventId, seatCount: 4, rules })));
    expect(created.every((r) => r.ok)).toBe(true);
    await Promise.all(masters().map((node) => node.script('FLUSH')));
    const held = await Promise.all(events.flatMap((eventId) => [0, 1, 2, 3].map((seat) => store.hold({ eventId, holder: `h${seat}`, seats: [seat] }))));
    expect(held.every((r) => r.ok)).toBe(true);
    for (const eventId of events) checkInvariants(await readRawState(store, eventId));
  });

  it('preload loads every script on every master', async () => {
    await Promise.all(masters().map((node) => node.script('FLUSH')));
    for (const node of masters()) expect(await node.script('EXISTS', ...shas)).toEqual(shas.map(() => 0));

    // A fresh client, before it is ready: preload must wait for the slot map rather than load nowhere.
    const fresh = new SeatStore({ redis: connect(), prefix });
    await fresh.scripts.preload();
    for (const node of masters()) {
      expect(await node.script('EXISTS', ...shas), `scripts on master ${node.options.port}`).toEqual(shas.map(() => 1));
    }
  });

  it('every operation works, with the right results, on events whose keys live on different masters', async () => {
    const events = eventsOnEveryMaster('life', 2);
    expect(new Set(events.map(masterPortOf)).size).toBe(3);
    expect(new Set(events.map(slotOf)).size).toBe(events.length);
    for (const eventId of events) {
      // every key of an event is in the event's slot
      expect(new Set(Object.values(store.keys(eventId)).map((k) => calculateSlot(k)))).toEqual(new Set([slotOf(eventId)]));
    }

    // All events at once: the calls interleave over the three masters.
    await Promise.all(
      events.map(async (eventId, i) => {
        const epoch = 1_000 + i;
        expect(await store.createEvent({ eventId, seatCount: 20, rules, layout: { name: eventId }, epoch })).toEqual({ ok: true, epoch });
        expect(await store.createEvent({ eventId, seatCount: 20, rules })).toEqual({ ok: false, code: 'CONFLICT' });
        // The keys are on the master that owns the event's slot.
        const owner = masterNode(masterPortOf(eventId));
        expect(await owner.exists(store.keys(eventId).meta, store.keys(eventId).status)).toBe(2);
        expect(await owner.cluster('COUNTKEYSINSLOT', slotOf(eventId))).toBeGreaterThan(0);

        const ann = await store.hold({ eventId, holder: 'ann', seats: [0, 1, 2] });
        if (!ann.ok) throw new Error(`hold refused: ${ann.code}`);
        expect(ann.seq).toBe(1);
        expect(await store.hold({ eventId, holder: 'bob', seats: [2, 3] })).toEqual({ ok: false, code: 'UNAVAILABLE', seats: [2] });
        expect(await store.release({ eventId, holder: 'ann', token: ann.token, seats: [2] })).toEqual({ ok: true, seq: 2, released: 1 });
        const extended = await store.extend({ eventId, holder: 'ann', token: ann.token });
        expect(extended).toMatchObject({ ok: true, seq: 2 });
        if (extended.ok) expect(extended.expiresAt).toBeGreaterThanOrEqual(ann.expiresAt);

        const booked = await store.book({ eventId, holder: 'ann', token: ann.token, key: `order-${eventId}` });
        expect(booked).toMatchObject({ ok: true, seq: 3, seats: [0, 1], replayed: false });
        const retry = await store.book({ eventId, holder: 'ann', token: ann.token, key: `order-${eventId}` });
        expect(retry).toEqual({ ...booked, replayed: true });

        expect(await store.block(eventId, [5, 6])).toEqual({ ok: true, seq: 4 });
        expect(await store.block(eventId, [0])).toEqual({ ok: false, code: 'UNAVAILABLE', seats: [0] });
        expect(await store.unblock(eventId, [6])).toEqual({ ok: true, seq: 5 });

        const snap = await store.snapshot(eventId);
        const expected = Buffer.alloc(20);
        expected[0] = 2;
        expected[1] = 2;
        expected[5] = 3;
        expect(snap).toEqual({ epoch, seq: 5, status: expected });

        const all = await store.changesSince(eventId, 0);
        expect(all).toMatchObject({ epoch, seq: 5, covered: true });
        expect(all!.entries.map((e) => [e.seq, e.op])).toEqual([[1, 'hold'], [2, 'release'], [3, 'book'], [4, 'block'], [5, 'unblock']]);
        expect(all!.entries[2]!.changes).toEqual([0, 2, 1, 2]);
        const recent = await store.changesSince(eventId, 3);
        expect(recent!.entries.map((e) => e.seq)).toEqual([4, 5]);

        expect(await store.meta(eventId)).toMatchObject({ eventId, seatCount: 20, epoch, seq: 5, rules });
        expect(await store.layout(eventId)).toEqual({ name: eventId });

        // readRawState reads the event's keys with single-key commands in parallel, which a Cluster routes.
        const state = await readRawState(store, eventId);
        checkInvariants(state);
        expect(state.status).toEqual([...expected]);
        expect(state.bookings.size).toBe(1);
        expect(state.outbox).toHaveLength(1);
      }),
    );
    // The event registry (a global key, in a slot of its own) lists every event.
    expect((await cluster.smembers(store.global.events)).filter((id) => events.includes(id)).sort()).toEqual([...events].sort());
  });

  it('the expiry sweeper frees expired holds of events on every master', async () => {
    const events = eventsOnEveryMaster('sweep', 2);
    const short = { ...rules, holdTtlMs: 300, maxHoldLifetimeMs: 1200 };
    await Promise.all(events.map((eventId) => store.createEvent({ eventId, seatCount: 10, rules: short })));
    const holds = await Promise.all(events.map((eventId, i) => store.hold({ eventId, holder: `h${i}`, seats: [1, 2, 3] })));
    for (const h of holds) expect(h.ok).toBe(true);
    for (const eventId of events) expect(await cluster.zscore(store.global.sweepIndex, eventId)).not.toBeNull();

    const swept = new Set<string>();
    let seatsFreed = 0;
    const errors: unknown[] = [];
    const sweeper = new ExpirySweeper(store, {
      intervalMs: 50,
      onSweep: (s) => (seatsFreed += s.seatsFreed),
      onError: (e) => errors.push(e),
    });
    sweeper.start();
    try {
      await waitFor(
        async () => {
          for (const eventId of events) {
            if (swept.has(eventId)) continue;
            const snap = await store.snapshot(eventId);
            if (snap!.status.every((b) => b === 0)) swept.add(eventId);
          }
          return swept.size === events.length;
        },
        4000,
        'every expired hold freed',
      );
    } finally {
      await sweeper.stop();
    }
    expect(errors).toEqual([]);
    expect(seatsFreed).toBe(events.length * 3);
    for (const eventId of events) {
      const { entries } = (await store.changesSince(eventId, 0))!;
      expect(entries.map((e) => e.op)).toEqual(['hold', 'expire']);
      expect(entries[1]!.changes).toEqual([1, 0, 2, 0, 3, 0]);
      const state = await readRawState(store, eventId);
      checkInvariants(state);
      expect(state.tokens.size).toBe(0);
      // Nothing is left to expire: the event left the sweep index.
      expect(await cluster.zscore(store.global.sweepIndex, eventId)).toBeNull();
    }
  });

  it(`${RACERS} clients, each with its own Cluster connection, race for ${RACE_SEATS} seats on an event on each master`, async () => {
    const events = eventsOnEveryMaster('race', 1);
    await Promise.all(events.map((eventId) => store.createEvent({ eventId, seatCount: RACE_SEATS, rules })));
    const racers = Array.from({ length: RACERS }, () => new SeatStore({ redis: connect(), prefix }));
    // Every connection is open before the race, so that it is not a connect race.
    await Promise.all(racers.map((r) => warm(r.redis as Cluster)));

    // Racer i wants seat i % 5 of every event: 10 contenders per seat, on three masters at once.
    const results = await Promise.all(
      racers.flatMap((racer, i) => events.map((eventId) => racer.hold({ eventId, holder: `racer${i}`, seats: [i % RACE_SEATS] }))),
    );

    for (const [e, eventId] of events.entries()) {
      const winners = new Map<number, number>();
      for (let i = 0; i < RACERS; i++) {
        const r = results[i * events.length + e]!;
        const seat = i % RACE_SEATS;
        if (r.ok) {
          expect(winners.has(seat), `${eventId}: seat ${seat} won twice`).toBe(false);
          winners.set(seat, i);
        } else {
          expect(r).toEqual({ ok: false, code: 'UNAVAILABLE', seats: [seat] });
        }
      }
      expect([...winners.keys()].sort()).toEqual([0, 1, 2, 3, 4]);
      const state = await readRawState(store, eventId);
      checkInvariants(state);
      expect(state.status).toEqual([1, 1, 1, 1, 1]);
      expect(state.seq).toBe(RACE_SEATS);
      for (const [seat, i] of winners) expect(state.tokens.get(state.seatHolds.get(seat)!)?.h).toBe(`racer${i}`);
    }
    expect(results.filter((r) => !r.ok)).toHaveLength((RACERS - RACE_SEATS) * events.length);
  });

  it('deleteEvent removes every key of events on every master', async () => {
    const events = eventsOnEveryMaster('gone', 1);
    await Promise.all(events.map((eventId) => store.createEvent({ eventId, seatCount: 4, rules })));
    await Promise.all(events.map((eventId) => store.hold({ eventId, holder: 'x', seats: [0] })));
    await Promise.all(events.map((eventId) => store.deleteEvent(eventId)));
    for (const eventId of events) {
      expect(await masterNode(masterPortOf(eventId)).exists(...Object.values(store.keys(eventId)))).toBe(0);
      expect(await store.meta(eventId)).toBeNull();
      expect(await cluster.sismember(store.global.events, eventId)).toBe(0);
      expect(await cluster.zscore(store.global.sweepIndex, eventId)).toBeNull();
    }
  });
});
