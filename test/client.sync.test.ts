/**
 * The client SDK keeping its copy of an event's seats against a real
 * gateway: snapshot + diffs, gap repair (a diff dropped on purpose), a
 * rebuilt event (new epoch), counts per category, and its own hold tokens.
 * Every copy is checked against the store's snapshot.
 */
import WebSocket from 'ws';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { SeatMapClient, type ClientEvents, type SeatMapClientOptions } from '../core/client/index.js';
import type { ServerMessage } from '../core/protocol/index.js';
import { createVenueEvent, startTestGateway, token, wipePrefix, deleteEventOnPurpose, type TestGateway } from './support/gateway.js';

let gw: TestGateway;
const clients: SeatMapClient[] = [];

async function connect(sub: string, options: Partial<SeatMapClientOptions> = {}): Promise<SeatMapClient> {
  const client = new SeatMapClient({ url: gw.wsUrl, token: await token(sub), WebSocket, ...options });
  clients.push(client);
  await client.connect();
  return client;
}

/** Resolves when `predicate` holds (checked every 10 ms); rejects after `timeoutMs`. */
async function until(predicate: () => boolean, what: string, timeoutMs = 5000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!predicate()) {
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
}

/** The client's copy equals the store's state: same epoch, seq and every seat. */
async function expectInSync(client: SeatMapClient, ev: string): Promise<void> {
  const truth = await gw.store.snapshot(ev);
  await until(() => client.position(ev)?.seq === truth!.seq, `${ev} at seq ${truth!.seq}`);
  expect(client.position(ev)).toEqual({ epoch: truth!.epoch, seq: truth!.seq });
  expect(Buffer.from(client.seats(ev)!).equals(truth!.status)).toBe(true);
}

beforeAll(async () => {
  gw = await startTestGateway({ TICK_MS: '10', ROOM_CHECK_MS: '200' });
  await createVenueEvent(gw.store, 'sync', 300);
  await createVenueEvent(gw.store, 'gap', 300);
  await createVenueEvent(gw.store, 'rebuilt', 200);
  await createVenueEvent(gw.store, 'counts', 400);
  await createVenueEvent(gw.store, 'holds', 200);
  await createVenueEvent(gw.store, 'best', 200);
  await createVenueEvent(gw.store, 'brief', 100, { holdTtlMs: 800, maxHoldLifetimeMs: 800 });
});

afterAll(async () => {
  for (const c of clients) c.close();
  await gw.stop();
  await wipePrefix(gw.prefix);
});

describe('seat copy', () => {
  it('follows snapshot and diffs, and reports every changed seat', async () => {
    const watcher = await connect('watcher');
    const actor = await connect('actor');
    const changed: number[] = [];
    watcher.on('seats', ({ ev, changes }) => ev === 'sync' && changed.push(...changes.filter((c) => c.state === 1).map((c) => c.seat)));
    watcher.watch('sync');
    await until(() => watcher.seats('sync') !== null, 'the snapshot');
    expect(watcher.seats('sync')).toHaveLength(300);

    await actor.hold('sync', [5, 6, 7]);
    await actor.hold('sync', [100]);
    await until(() => changed.length === 4, 'four held seats');
    expect(changed.sort((a, b) => a - b)).toEqual([5, 6, 7, 100]);
    await expectInSync(watcher, 'sync');
    expect(watcher.stats.gaps).toBe(0);
  });

  it('repairs a gap: a dropped diff is noticed at the next one, resumed with epoch+seq, and the copy ends equal to the store', async () => {
    let dropNextDiff = false;
    let dropped: Extract<ServerMessage, { t: 'diff' }> | null = null;
    const sentSubs: { epoch?: number; seq?: number }[] = [];
    const client = await connect('gap-watcher', {
      frameFilter: (m) => {
        if (m.t === 'diff' && m.ev === 'gap' && dropNextDiff) {
          dropNextDiff = false;
          dropped = m;
          return false;
        }
        return true;
      },
    });
    const resyncs: ClientEvents['resync'][] = [];
    client.on('resync', (r) => resyncs.push(r));
    const request = client.request.bind(client);
    client.request = (body, timeoutMs) => {
      if (body.t === 'sub') sentSubs.push({ ...(body.epoch !== undefined && { epoch: body.epoch, seq: body.seq! }) });
      return request(body, timeoutMs);
    };
    client.watch('gap');
    await until(() => client.seats('gap') !== null, 'the snapshot');
    const before = client.position('gap')!;

    dropNextDiff = true;
    await gw.store.hold({ eventId: 'gap', holder: 'someone', seats: [10, 11] });
    await until(() => dropped !== null, 'the dropped diff');
    expect(client.seats('gap')![10]).toBe(0); // the copy never saw it
    await gw.store.hold({ eventId: 'gap', holder: 'someone', seats: [20] });

    await until(() => client.seats('gap')![10] === 1 && client.seats('gap')![20] === 1, 'both holds');
    expect(client.stats.gaps).toBeGreaterThanOrEqual(1);
    expect(resyncs[0]).toMatchObject({ ev: 'gap', reason: 'gap', epoch: before.epoch, seq: before.seq });
    // the repair resumed from where the copy was, not from scratch
    expect(sentSubs.at(-1)).toEqual({ epoch: before.epoch, seq: before.seq });
    await expectInSync(client, 'gap');
  });

  it('follows a rebuilt event to its new epoch, also when the new snapshot is lost', async () => {
    let dropSnapshots = false;
    let droppedSnapshot = false;
    const client = await connect('epoch-watcher', {
      frameFilter: (m) => {
        if (!(dropSnapshots && m.t === 'snap' && m.ev === 'rebuilt')) return true;
        droppedSnapshot = true;
        return false;
      },
    });
    const resyncs: ClientEvents['resync'][] = [];
    client.on('resync', (r) => resyncs.push(r));
    client.watch('rebuilt');
    await until(() => client.seats('rebuilt') !== null, 'the snapshot');
    const oldEpoch = client.position('rebuilt')!.epoch;

    // the unsolicited snap of the new epoch is dropped: the first diff of the new epoch must give it away
    dropSnapshots = true;
    await deleteEventOnPurpose(gw, 'rebuilt');
    await createVenueEvent(gw.store, 'rebuilt', 200);
    const newEpoch = (await gw.store.meta('rebuilt'))!.epoch;
    expect(newEpoch).not.toBe(oldEpoch);
    // the gateway's room takes the new epoch in and sends its snapshot, which never reaches the copy
    await until(() => droppedSnapshot, 'the snapshot of the new epoch');
    dropSnapshots = false;
    await gw.store.hold({ eventId: 'rebuilt', holder: 'someone', seats: [1] });

    await until(() => client.position('rebuilt')?.epoch === newEpoch && client.seats('rebuilt')![1] === 1, 'the new epoch');
    expect(resyncs.some((r) => r.reason === 'epoch' && r.epoch === oldEpoch)).toBe(true);
    await expectInSync(client, 'rebuilt');
  });

  it('counts seats per state in total and per category, equal to GET /events/:id/availability', async () => {
    const client = await connect('counter');
    const layout = (await (await fetch(`${gw.httpUrl}/events/counts`)).json()) as { seats: { category: number[] }; categories: unknown[] };
    client.watch('counts', { seatCategory: layout.seats.category, categoryCount: layout.categories.length });
    await until(() => client.seats('counts') !== null, 'the snapshot');
    await client.hold('counts', [0, 1, 2, 399]);
    await gw.store.hold({ eventId: 'counts', holder: 'other', seats: [200, 201] });
    await expectInSync(client, 'counts');

    const availability = (await (await fetch(`${gw.httpUrl}/events/counts/availability`)).json()) as {
      seq: number;
      totals: Record<string, number>;
      categories: Record<string, number>[];
    };
    expect(availability.seq).toBe(client.position('counts')!.seq);
    const counts = client.counts('counts')!;
    expect(counts.total).toEqual({ free: 394, held: 6, booked: 0, blocked: 0, reserved: 0 });
    expect(counts.total).toEqual(availability.totals);
    expect(counts.byCategory).toHaveLength(layout.categories.length);
    counts.byCategory.forEach((c, i) => expect(c).toEqual({ free: availability.categories[i]!.free, held: availability.categories[i]!.held, booked: 0, blocked: 0, reserved: 0 }));
  });
});

describe('own holds', () => {
  it('tracks its hold tokens through hold, adding seats, release, extend and book', async () => {
    const client = await connect('holder');
    client.watch('holds');
    await until(() => client.seats('holds') !== null, 'the snapshot');

    const first = await client.hold('holds', [3, 4]);
    expect(first.tok).toEqual(expect.any(String));
    expect(first.expiresAt).toBeGreaterThan(Date.now());
    expect(client.holds('holds')).toEqual([{ ev: 'holds', tok: first.tok, seats: [3, 4], expiresAt: first.expiresAt }]);
    expect(client.holdToken('holds')).toBe(first.tok);

    await client.hold('holds', [5], { tok: first.tok });
    expect([...client.mySeats('holds')].sort()).toEqual([3, 4, 5]);

    const released = await client.release('holds', first.tok, [4]);
    expect(released.released).toBe(1);
    expect(client.holds('holds')[0]!.seats).toEqual([3, 5]);

    const extended = await client.extend('holds', first.tok);
    expect(extended.expiresAt).toBeGreaterThanOrEqual(first.expiresAt);
    expect(client.holds('holds')[0]!.expiresAt).toBe(extended.expiresAt);

    const booked = await client.book('holds', first.tok, { key: 'order-holds-1' });
    expect(booked).toMatchObject({ seats: [3, 5], replayed: false, key: 'order-holds-1' });
    expect(client.holds('holds')).toEqual([]);
    await until(() => client.seats('holds')![3] === 2 && client.seats('holds')![5] === 2, 'booked seats');
    await expectInSync(client, 'holds');

    // the same key returns the same booking
    const again = await client.book('holds', first.tok, { key: 'order-holds-1' });
    expect(again).toMatchObject({ id: booked.id, replayed: true });
  });

  it('tracks best-available holds, swaps and extend with ms, and carries NO_BLOCK\'s largest', async () => {
    const client = await connect('kiosk');
    client.watch('best');
    await until(() => client.seats('best') !== null, 'the snapshot');
    const best = await client.holdBest('best', { n: 3 });
    expect(best).toMatchObject({ tok: expect.any(String), together: true });
    expect(best.seats).toHaveLength(3);
    expect([...client.mySeats('best')].sort((a, b) => a - b)).toEqual(best.seats);

    const free = [...client.seats('best')!].findIndex((state, seat) => state === 0 && !best.seats.includes(seat));
    await client.swap('best', best.tok, { release: [best.seats[0]!], hold: [free] });
    expect([...client.mySeats('best')].sort((a, b) => a - b)).toEqual([...best.seats.slice(1), free].sort((a, b) => a - b));

    const shorter = await client.extend('best', best.tok, { ms: 5_000 });
    expect(shorter.expiresAt).toBeLessThan(best.expiresAt);
    expect(client.holds('best')[0]!.expiresAt).toBe(shorter.expiresAt);
    await client.extend('best', best.tok, { ms: 0 });
    expect(client.holds('best')).toEqual([]);
    await expectInSync(client, 'best');

    const none = await client.holdBest('best', { n: 2, sections: ['no-such-section'] }).catch((err: unknown) => err);
    expect(none).toMatchObject({ code: 'BAD_REQUEST', details: { reason: 'sections' } });
  });

  it('rejects refused operations with the server code and the seats concerned', async () => {
    const client = await connect('refused');
    const other = await connect('refused-other');
    await other.hold('holds', [50]);
    const refusal = await client.hold('holds', [50, 51]).catch((err: unknown) => err);
    expect(refusal).toMatchObject({ name: 'RequestError', code: 'UNAVAILABLE', seats: [50] });
    const expired = await client.extend('holds', 'no-such-token-000').catch((err: unknown) => err);
    expect(expired).toMatchObject({ code: 'EXPIRED' });
  });

  it('reports a hold that expires, and frees its seats in the copy', async () => {
    const client = await connect('brief-holder');
    client.watch('brief');
    await until(() => client.seats('brief') !== null, 'the snapshot');
    const expired = new Promise<ClientEvents['hold-expired']>((resolve) => client.once('hold-expired', resolve));
    const hold = await client.hold('brief', [7, 8]);
    expect(hold.expiresAt - Date.now()).toBeLessThanOrEqual(800);

    expect(await expired).toMatchObject({ ev: 'brief', tok: hold.tok, seats: [7, 8] });
    expect(client.holds('brief')).toEqual([]);
    // the server's sweeper frees them too, and the diff brings that to the copy
    await until(() => client.seats('brief')![7] === 0 && client.seats('brief')![8] === 0, 'freed seats', 5000);
  });

  it('drops a hold the seat stream shows ended, even when its own clock says it is still valid', async () => {
    // a client clock ten minutes slow would keep the hold for ten more minutes on its own
    const client = await connect('slow-clock', { now: () => Date.now() - 600_000 });
    client.watch('brief');
    await until(() => client.seats('brief') !== null, 'the snapshot');
    let expiredEvents = 0;
    client.on('hold-expired', () => expiredEvents++);
    await client.hold('brief', [30]);
    expect([...client.mySeats('brief')]).toEqual([30]);
    await until(() => client.mySeats('brief').size === 0, 'the hold to end', 5000);
    expect(client.seats('brief')![30]).toBe(0);
    expect(expiredEvents).toBe(0); // not by the timer: by the stream
  });
});
