/**
 * Properties of a room's watcher slices (gateway/room-broadcast.ts), against
 * a model, whatever the order of joins, leaves, publishes and event-loop
 * turns: a watcher receives every frame published after it joined, each
 * once and in order, and nothing from before; when it leaves, reached() says
 * truly whether it has the latest frame; no slice holds more watchers than
 * its size; a publish reaches every slice within as many turns as there are
 * slices.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { RoomBroadcast } from '../gateway/room-broadcast.js';

const RUNS = Number(process.env.PROPERTY_RUNS ?? 300);

const step = fc.oneof(
  fc.constant({ kind: 'join' as const }),
  fc.record({ kind: fc.constant('leave' as const), pick: fc.nat() }),
  fc.constant({ kind: 'send' as const }),
  fc.constant({ kind: 'turn' as const }),
  fc.constant({ kind: 'finish' as const }),
);

interface Watcher {
  topic: string;
  /** frames published before it joined */
  joinedAfter: number;
  got: number[];
}

describe('room broadcast slices', () => {
  it('every watcher gets each frame published while it watches exactly once, in order; reached() is true to what it got', () => {
    fc.assert(
      fc.property(fc.integer({ min: 1, max: 4 }), fc.array(step, { minLength: 1, maxLength: 80 }), (size, steps) => {
        const deferred: (() => void)[] = [];
        const watchers: Watcher[] = [];
        const frameNo = (frame: Uint8Array) => frame[0]! + 256 * frame[1]!;
        const broadcast = new RoomBroadcast({
          topic: 't',
          sliceWatchers: size,
          defer: (fn) => void deferred.push(fn),
          publisher: {
            publish: (topic, frame) => {
              for (const w of watchers) if (w.topic === topic) w.got.push(frameNo(frame));
            },
          },
        });
        let published = 0;
        const run = (n: number) => {
          for (let i = 0; i < n && deferred.length > 0; i++) deferred.shift()!();
        };
        for (const s of steps) {
          if (s.kind === 'join') {
            watchers.push({ topic: broadcast.place(), joinedAfter: published, got: [] });
          } else if (s.kind === 'leave' && watchers.length > 0) {
            const [w] = watchers.splice(s.pick % watchers.length, 1);
            const hasLatest = w!.got.at(-1) === published || (w!.got.length === 0 && w!.joinedAfter === published);
            expect(broadcast.reached(w!.topic)).toBe(hasLatest);
            broadcast.remove(w!.topic);
          } else if (s.kind === 'send') {
            published++;
            const pending = broadcast.send(new Uint8Array([published % 256, Math.floor(published / 256)]));
            // the rest of the slices a turn at a time, when there is a rest
            expect(broadcast.busy).toBe(pending !== undefined);
          } else if (s.kind === 'turn') {
            run(1);
          } else {
            broadcast.finish();
          }
          const occupancy = new Map<string, number>();
          for (const w of watchers) occupancy.set(w.topic, (occupancy.get(w.topic) ?? 0) + 1);
          for (const n of occupancy.values()) expect(n).toBeLessThanOrEqual(size);
          expect(broadcast.watchers).toBe(watchers.length);
          for (const w of watchers) {
            const expected = Array.from({ length: w.got.length }, (_, i) => w.joinedAfter + 1 + i);
            expect(w.got).toEqual(expected);
            expect(w.got.at(-1) ?? w.joinedAfter).toBeGreaterThanOrEqual(published - 1);
          }
        }
        // the publish under way needs at most a turn per slice (stale steps of replaced publishes do nothing)
        run(deferred.length + broadcast.sliceCount);
        expect(broadcast.busy).toBe(false);
        for (const w of watchers) expect(w.got.at(-1) ?? w.joinedAfter).toBe(published);
      }),
      { numRuns: RUNS },
    );
  });

  it('a room within one slice is published at once, with no later turn', () => {
    const sent: string[] = [];
    const broadcast = new RoomBroadcast({ topic: 'ev:x', sliceWatchers: 3, publisher: { publish: (topic) => void sent.push(topic) }, defer: () => expect.unreachable() });
    for (let i = 0; i < 3; i++) expect(broadcast.place()).toBe('ev:x');
    expect(broadcast.send(new Uint8Array(1))).toBeUndefined();
    expect(sent).toEqual(['ev:x']);
    expect(broadcast.place()).toBe('ev:x#1'); // the fourth opens a second slice
  });
});
