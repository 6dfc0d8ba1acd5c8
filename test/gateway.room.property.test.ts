/**
 * Properties of a room, in memory (no Redis): whatever the change stream and
 * however it is cut into ticks,
 * - a client that follows the published frames has exactly the reference
 *   state after every frame, and never sees a gap;
 * - a client at ANY seq the resume window covers (including seqs in the
 *   middle of a coalesced diff, as a client coming from another node has)
 *   reaches the room's state with the one catch-up frame it is given;
 * - a resync from a snapshot (same epoch) brings followers to the snapshot.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { SeatView, decodeServerMessage, type DiffMessage, type SnapMessage } from '../core/protocol/index.js';
import type { ChangeEntry } from '../core/store/index.js';
import { Room } from '../gateway/room.js';

const SEATS = 24;
const RUNS = Number(process.env.PROPERTY_RUNS ?? 500);

const entryChanges = fc.array(fc.tuple(fc.integer({ min: 0, max: SEATS - 1 }), fc.integer({ min: 0, max: 3 })), { minLength: 1, maxLength: 4 });
const stream = fc.array(fc.record({ changes: entryChanges, flushAfter: fc.boolean(), batch: fc.integer({ min: 1, max: 3 }) }), { minLength: 1, maxLength: 40 });

function setup(resumeWindow: number, initial: Uint8Array) {
  const frames: (SnapMessage | DiffMessage)[] = [];
  const room = new Room({
    eventId: 'ev',
    tickMs: 1_000_000, // flushes only when the test says so
    resumeWindow,
    publish: (frame) => void frames.push(decodeServerMessage(frame) as SnapMessage | DiffMessage),
    now: () => 0,
  });
  room.load({ epoch: 7, seq: 0, status: Buffer.from(initial) });
  return { room, frames };
}

describe('room', () => {
  it('followers and resuming clients always reach the reference state', () => {
    fc.assert(
      fc.property(stream, fc.integer({ min: 1, max: 60 }), fc.uint8Array({ minLength: SEATS, maxLength: SEATS, max: 3 }), (steps, resumeWindow, initial) => {
        const { room, frames } = setup(resumeWindow, initial);
        // reference states by seq
        const states: Uint8Array[] = [Uint8Array.from(initial)];
        const follower = new SeatView();
        follower.applySnap({ epoch: 7, seq: 0, st: initial });
        let seq = 0;
        let queued: ChangeEntry[] = [];
        for (const step of steps) {
          seq++;
          const ch = step.changes.flat();
          const next = Uint8Array.from(states[seq - 1]!);
          for (const [seat, state] of step.changes) next[seat] = state;
          states.push(next);
          queued.push({ seq, op: 'hold', changes: ch, at: 0 });
          if (queued.length >= step.batch) {
            expect(room.receive(queued)).toBe('ok');
            queued = [];
          }
          if (step.flushAfter && queued.length === 0) room.flush();
          // the follower applies every frame published so far
          while (frames.length > 0) {
            const frame = frames.shift()!;
            expect(frame.t).toBe('diff');
            expect(follower.applyDiff(frame as DiffMessage)).toBe('applied');
            expect(follower.status).toEqual(states[follower.seq]);
          }
        }
        room.receive(queued);
        room.flush();
        for (const frame of frames.splice(0)) expect(follower.applyDiff(frame as DiffMessage)).toBe('applied');
        expect(follower.seq).toBe(seq);
        expect(follower.status).toEqual(states[seq]);
        expect(room.status).toEqual(states[seq]);

        // every seq from 0 to now: the catch-up frame brings a client there to the room's state
        for (let s = 0; s <= seq; s++) {
          const client = new SeatView();
          client.applySnap({ epoch: 7, seq: s, st: states[s]! });
          const catchUp = room.catchUp(7, s);
          if (catchUp.kind === 'current') {
            expect(s).toBe(seq);
            continue;
          }
          const message = decodeServerMessage(catchUp.frame) as SnapMessage | DiffMessage;
          if (message.t === 'snap') {
            // only when the window no longer covers s
            expect(s).toBeLessThan(room.ringStart() ?? Infinity);
            client.applySnap(message);
          } else {
            expect(message.from).toBe(s);
            expect(client.applyDiff(message)).toBe('applied');
          }
          expect(client.seq).toBe(seq);
          expect(client.status).toEqual(states[seq]);
        }
        // another epoch always gets the snapshot
        expect(room.catchUp(8, 0).kind).toBe('snap');
      }),
      { numRuns: RUNS },
    );
  });

  it('a resync with the same epoch publishes one diff that brings followers to the snapshot', () => {
    fc.assert(
      fc.property(
        fc.uint8Array({ minLength: SEATS, maxLength: SEATS, max: 3 }),
        fc.uint8Array({ minLength: SEATS, maxLength: SEATS, max: 3 }),
        fc.integer({ min: 1, max: 50 }),
        (before, after, jump) => {
          const { room, frames } = setup(100, before);
          const follower = new SeatView();
          follower.applySnap({ epoch: 7, seq: 0, st: before });
          room.resync({ epoch: 7, seq: jump, status: Buffer.from(after) });
          expect(frames).toHaveLength(1);
          expect(follower.applyDiff(frames[0] as DiffMessage)).toBe('applied');
          expect(follower.status).toEqual(after);
          expect(follower.seq).toBe(jump);
          // resumes from before the resync get a snapshot: the resync diff is not a full record
          expect(room.catchUp(7, 0).kind).toBe('snap');
        },
      ),
      { numRuns: RUNS },
    );
  });

  it('a resync with a new epoch publishes the snapshot', () => {
    const { room, frames } = setup(100, new Uint8Array(SEATS));
    const status = Buffer.alloc(SEATS, 2);
    room.resync({ epoch: 9, seq: 3, status });
    expect(frames).toHaveLength(1);
    expect(frames[0]).toMatchObject({ t: 'snap', epoch: 9, seq: 3 });
    expect(Buffer.from((frames[0] as SnapMessage).st).equals(status)).toBe(true);
  });

  it('a gap in the change log is reported and nothing is applied', () => {
    const { room } = setup(100, new Uint8Array(SEATS));
    expect(room.receive([{ seq: 1, op: 'hold', changes: [1, 1], at: 0 }])).toBe('ok');
    expect(room.receive([{ seq: 3, op: 'hold', changes: [2, 1], at: 0 }])).toBe('gap');
    expect(room.received).toBe(1);
    // re-delivered entries are skipped
    expect(room.receive([{ seq: 1, op: 'hold', changes: [1, 1], at: 0 }, { seq: 2, op: 'hold', changes: [5, 2], at: 0 }])).toBe('ok');
    room.flush();
    expect(room.seq).toBe(2);
    expect([room.status[1], room.status[5]]).toEqual([1, 2]);
  });
});
