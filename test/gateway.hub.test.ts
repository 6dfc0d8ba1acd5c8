/**
 * The hub without Redis: rooms loaded from an in-memory source, fed by a
 * feed the test drives, checked on demand with a fake clock. Each repair of
 * docs/gateway.md "Keeping rooms right" is staged and its outcome checked:
 * what is published, what the room holds afterwards, what is read.
 */
import { describe, expect, it } from 'vitest';
import { pino } from 'pino';
import { decodeServerMessage, type ServerMessage } from '../core/protocol/index.js';
import { Hub } from '../gateway/hub.js';
import { createMetrics } from '../gateway/metrics.js';
import { ManualFeed, MemoryRoomSource } from './support/memory-room-source.js';

function setup(lingerMs = 1000) {
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
    resumeWindow: 1000,
    lingerMs,
    checkMs: 1000,
    onEventGone: (ev) => gone.push(ev),
    now: () => now,
  });
  return { source, feed, hub, published, gone, advance: (ms: number) => (now += ms) };
}

const settled = () => new Promise((r) => setImmediate(r));

describe('hub', () => {
  it('loads a room once for concurrent joiners, with history for resumes, and publishes what the feed delivers', async () => {
    const { source, feed, hub, published } = setup();
    source.create('e', 10);
    source.apply('e', [1, 1]);
    source.apply('e', [2, 1]);
    const [a, b] = await Promise.all([hub.join('e'), hub.join('e')]);
    expect(a).toBe(b);
    expect(source.calls.snapshot).toBe(1);
    expect(a!.seq).toBe(2);
    expect(a!.ringStart()).toBe(0); // both log entries seed the resume ring
    source.apply('e', [3, 2]);
    feed.deliver(source, 'e');
    expect(published.map((p) => p.message)).toEqual([{ t: 'diff', ev: 'e', epoch: 1, from: 2, to: 3, ch: [3, 2] }]);
    expect(await hub.join('missing')).toBeNull();
    expect(hub.roomCount).toBe(1);
  });

  it('a gap in the feed resyncs the room from a snapshot: one diff with exactly the seats that differ', async () => {
    const { source, feed, hub, published } = setup();
    source.create('e', 10);
    const room = (await hub.join('e'))!;
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
    const { source, hub, published } = setup();
    source.create('e', 5);
    const room = (await hub.join('e'))!;
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
    const { source, hub } = setup();
    source.create('e', 5);
    const room = (await hub.join('e'))!;
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
    const { source, hub, published, gone } = setup();
    source.create('e', 5);
    await hub.join('e');
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
    const { source, feed, hub, advance } = setup(1000);
    source.create('e', 5);
    await hub.join('e');
    hub.leave('e');
    advance(999);
    await hub.check();
    expect(hub.roomCount).toBe(1);
    await hub.join('e'); // back: no longer empty
    advance(5000);
    await hub.check();
    expect(hub.roomCount).toBe(1);
    hub.leave('e');
    advance(1000);
    await hub.check();
    expect(hub.roomCount).toBe(0);
    expect(feed.targets.has('e')).toBe(false);
  });
});
