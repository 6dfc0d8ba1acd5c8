/**
 * The hub without Redis: rooms loaded from an in-memory source, fed by a
 * feed the test drives, checked on demand with a fake clock. Each repair of
 * docs/gateway.md "Keeping rooms right" is staged and its outcome checked:
 * what is published, what the room holds afterwards, what is read.
 */
import { describe, expect, it } from 'vitest';
import { pino } from 'pino';
import { SeatView, decodeServerMessage, type DiffMessage, type ServerMessage } from '../core/protocol/index.js';
import { Hub } from '../gateway/hub.js';
import type { Room } from '../gateway/room.js';
import { createMetrics } from '../gateway/metrics.js';
import { ManualFeed, MemoryRoomSource } from './support/memory-room-source.js';

function setup(lingerMs = 1000, sliceWatchers?: number) {
  const source = new MemoryRoomSource();
  let feed!: ManualFeed;
  const published: { topic: string; message: ServerMessage }[] = [];
  const gone: string[] = [];
  let now = 0;
  const hub = new Hub({
    source,
    feed: (onEntries) => (feed = new ManualFeed(onEntries)),
    publisher: { publish: (topic, frame) => published.push({ topic, message: decodeServerMessage(frame) }), numSubscribers: () => 1 },
    metrics: createMetrics({ defaultMetrics: false }),
    logger: pino({ level: 'silent' }),
    tickMs: 0,
    sliceWatchers,
    resumeWindow: 1000,
    lingerMs,
    checkMs: 1000,
    onEventGone: (ev) => gone.push(ev),
    now: () => now,
  });
  // a subscriber joins the room and takes a place in its watcher slices, as gateway/subscriptions.ts does
  const join = async (ev: string): Promise<Room | null> => {
    const room = await hub.join(ev);
    if (room) hub.placeWatcher(ev);
    return room;
  };
  return { source, feed, hub, join, published, gone, advance: (ms: number) => (now += ms) };
}

const settled = () => new Promise((r) => setImmediate(r));

describe('hub', () => {
  it('loads a room once for concurrent joiners, with history for resumes, and publishes what the feed delivers', async () => {
    const { source, feed, hub, join, published } = setup();
    source.create('e', 10);
    source.apply('e', [1, 1]);
    source.apply('e', [2, 1]);
    const [a, b] = await Promise.all([join('e'), join('e')]);
    expect(a).toBe(b);
    expect(source.calls.snapshot).toBe(1);
    expect(a!.seq).toBe(2);
    expect(a!.ringStart()).toBe(0); // both log entries seed the resume ring
    source.apply('e', [3, 2]);
    feed.deliver(source, 'e');
    expect(published.map((p) => p.message)).toEqual([{ t: 'diff', ev: 'e', epoch: 1, from: 2, to: 3, ch: [3, 2] }]);
    expect(await join('missing')).toBeNull();
    expect(hub.roomCount).toBe(1);
  });

  it('a gap in the feed resyncs the room from a snapshot: one diff with exactly the seats that differ', async () => {
    const { source, feed, hub, join, published } = setup();
    source.create('e', 10);
    const room = (await join('e'))!;
    source.apply('e', [1, 1]);
    source.apply('e', [2, 1]);
    source.apply('e', [1, 0, 3, 2]);
    feed.deliver(source, 'e', (entry) => entry.seq !== 1); // entry 1 lost
    await settled();
    expect(room.seq).toBe(3);
    expect([...room.status]).toEqual([...source.events.get('e')!.status]);
    expect(published.map((p) => p.message)).toEqual([{ t: 'diff', ev: 'e', epoch: 1, from: 0, to: 3, ch: [2, 1, 3, 2] }]);
    expect(feed.refreshes).toBe(1);
  });

  it('a new epoch seen by the check publishes the snapshot of the new epoch', async () => {
    const { source, hub, join, published } = setup();
    source.create('e', 5);
    const room = (await join('e'))!;
    source.create('e', 5, 2); // rebuilt: new epoch, seq 0
    source.apply('e', [4, 2]);
    await hub.check();
    await settled();
    expect(room.epoch).toBe(2);
    const snap = published.at(-1)!.message as { t: string; epoch: number; seq: number; st: Uint8Array };
    expect(snap).toMatchObject({ t: 'snap', ev: 'e', epoch: 2, seq: 1 });
    expect([...snap.st]).toEqual([0, 0, 0, 0, 2]);
  });

  it('a feed that makes no progress while the store moves on is resynced after two checks, not one', async () => {
    const { source, hub, join } = setup();
    source.create('e', 5);
    const room = (await join('e'))!;
    source.apply('e', [0, 1]);
    await hub.check(); // first sight of seq 1: the feed may simply be on its way
    await settled();
    expect(room.seq).toBe(0);
    await hub.check(); // still not received: stalled
    await settled();
    expect(room.seq).toBe(1);
    expect(room.status[0]).toBe(1);
  });

  it('an event missing three checks in a row is gone: NO_EVENT is published and the room dropped; a rebuild in between is not', async () => {
    const { source, hub, join, published, gone } = setup();
    source.create('e', 5);
    await join('e');
    source.delete('e');
    await hub.check();
    await hub.check();
    source.create('e', 5, 7); // back within the window, as a rebuild is
    await hub.check();
    await settled();
    expect(gone).toEqual([]);
    expect(hub.room('e')!.epoch).toBe(7);
    source.delete('e');
    for (let i = 0; i < 3; i++) await hub.check();
    expect(gone).toEqual(['e']);
    expect(published.at(-1)!.message).toMatchObject({ t: 'err', rid: null, ev: 'e', code: 'NO_EVENT' });
    expect(hub.room('e')).toBeUndefined();
  });

  it('an empty room lingers for the linger time, then is dropped and unwatched; a joiner in between keeps it', async () => {
    const { source, feed, hub, join, advance } = setup(1000);
    source.create('e', 5);
    await join('e');
    hub.leave('e');
    advance(999);
    await hub.check();
    expect(hub.roomCount).toBe(1);
    await join('e'); // back: no longer empty
    advance(5000);
    await hub.check();
    expect(hub.roomCount).toBe(1);
    hub.leave('e');
    advance(1000);
    await hub.check();
    expect(hub.roomCount).toBe(0);
    expect(feed.targets.has('e')).toBe(false);
  });

  it('a room whose publish spans several turns publishes nothing more meanwhile, then one merged diff with exactly what changed', async () => {
    const { source, feed, hub, join, published } = setup(1000, 2);
    const SEATS = 40;
    source.create('e', SEATS);
    const room = (await join('e'))!;
    for (let i = 1; i < 6; i++) hub.placeWatcher('e'); // 6 watchers: 3 slices of 2
    source.apply('e', [0, 1]);
    feed.deliver(source, 'e');
    // the first slice now, the other two on the next turns
    expect(published.map((p) => p.topic)).toEqual(['ev:e']);
    expect(room.publishing).toEqual({ from: 0, to: 1 });
    // a burst while the publish is under way: every seat held, then most of them changed again
    for (let seat = 1; seat < SEATS; seat++) {
      source.apply('e', [seat, 1]);
      feed.deliver(source, 'e');
      if (seat % 3 !== 0) {
        source.apply('e', [seat - 1, seat % 2 === 0 ? 0 : 2]);
        feed.deliver(source, 'e');
      }
    }
    expect(published).toHaveLength(1);
    expect(room.received).toBe(source.events.get('e')!.seq);
    for (let turn = 0; turn < 10; turn++) await settled();
    const frames = published.map((p) => `${p.topic} ${(p.message as DiffMessage).from}-${(p.message as DiffMessage).to}`);
    const last = source.events.get('e')!.seq;
    expect(frames).toEqual(['ev:e 0-1', 'ev:e#1 0-1', 'ev:e#2 0-1', `ev:e 1-${last}`, `ev:e#1 1-${last}`, `ev:e#2 1-${last}`]);
    // the merged diff: each seat changed after seq 1 once, at its final state, and nothing else
    const merged = published[3]!.message as DiffMessage;
    const touched = new Set(source.events.get('e')!.log.filter((entry) => entry.seq > 1).flatMap((entry) => entry.changes.filter((_, i) => i % 2 === 0)));
    const final = source.events.get('e')!.status;
    const pairs = (ch: readonly number[]) => Array.from({ length: ch.length / 2 }, (_, i) => `${ch[2 * i]}:${ch[2 * i + 1]}`).sort();
    expect(pairs(merged.ch)).toEqual(pairs([...touched].flatMap((seat) => [seat, final[seat]!])));
    // a watcher following the two diffs ends at the store's state
    const follower = new SeatView();
    follower.applySnap({ epoch: 1, seq: 0, st: new Uint8Array(SEATS) });
    for (const p of published.filter((x) => x.topic === 'ev:e#2')) expect(follower.applyDiff(p.message as DiffMessage)).toBe('applied');
    expect([...follower.status]).toEqual([...final]);
    expect(room.publishing).toBeNull();
    expect(room.seq).toBe(last);
  });
});
