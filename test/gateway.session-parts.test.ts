/**
 * The parts of a connection's life that can be tested without a socket: the
 * buffer of frames sent before `hello`, the slow-consumer policy (pause,
 * resume, close, the process budget) and the catch-up bound of
 * subscriptions, driven with fake connections and a real Room.
 */
import { describe, expect, it } from 'vitest';
import { pino } from 'pino';
import { EarlyFrames } from '../gateway/early-frames.js';
import { Inflight } from '../gateway/inflight.js';
import { createMetrics } from '../gateway/metrics.js';
import { Room } from '../gateway/room.js';
import { SlowConsumers } from '../gateway/slow-consumers.js';
import { Subscriptions, type Subscriber, type Subscription } from '../gateway/subscriptions.js';
import type { Hub } from '../gateway/hub.js';
import type { ServerMessage } from '../core/protocol/index.js';

const logger = pino({ level: 'silent' });

function bytes(n: number): ArrayBuffer {
  return new Uint8Array(n).buffer;
}

describe('frames kept before hello', () => {
  it('keeps frames in order up to the frame and byte bounds, an oversize one by its length, and counts the rest', () => {
    const early = new EarlyFrames({ maxFrames: 4, maxBytes: 100, maxFrameBytes: 50 });
    early.keep(bytes(40), true);
    early.keep(bytes(200), true); // oversize: kept by length, holds no bytes
    early.keep(bytes(40), false);
    early.keep(bytes(40), true); // would pass 100 bytes: dropped
    early.keep(bytes(10), true);
    early.keep(bytes(1), true); // 5th frame: dropped
    expect(early.size).toBe(4);
    expect(early.heldBytes).toBe(90);
    const { frames, dropped } = early.take();
    expect(dropped).toBe(2);
    expect(frames.map((f) => ('oversize' in f ? `over:${f.oversize}` : `${f.message.byteLength}:${f.isBinary}`))).toEqual(['40:true', 'over:200', '40:false', '10:true']);
    expect(early.size).toBe(0);
    expect(early.take()).toEqual({ frames: [], dropped: 0 });
  });

  it('keeps a copy: the caller may reuse its buffer', () => {
    const early = new EarlyFrames({ maxFrames: 2, maxBytes: 100, maxFrameBytes: 50 });
    const buffer = new Uint8Array([1, 2, 3]);
    early.keep(buffer.buffer, true);
    buffer.fill(9);
    const [frame] = early.take().frames;
    expect([...new Uint8Array((frame as { message: ArrayBuffer }).message)]).toEqual([1, 2, 3]);
  });
});

class FakeConnection implements Subscriber {
  open = true;
  principal = { sub: 'x', scopes: new Set(['seats:read'] as const), expiresAt: null };
  subs = new Map<string, Subscription>();
  pausedAt: number | null = null;
  buffered = 0;
  sent: Uint8Array[] = [];
  replies: ServerMessage[] = [];
  topics = new Set<string>();
  closedWith: number | null = null;
  constructor(readonly id: number) {}
  send(frame: Uint8Array): boolean {
    if (!this.open) return false;
    this.sent.push(frame);
    this.buffered += frame.byteLength;
    return true;
  }
  reply(message: ServerMessage): void {
    this.replies.push(message);
  }
  cork(fn: () => void): void {
    fn();
  }
  subscribeTopic(topic: string): void {
    this.topics.add(topic);
  }
  unsubscribeTopic(topic: string): void {
    this.topics.delete(topic);
  }
  bufferedAmount(): number {
    return this.open ? this.buffered : 0;
  }
  end(code: number): void {
    this.closedWith = code;
    this.open = false;
  }
  drop(): void {
    this.closedWith = 1006;
    this.open = false;
  }
}

function recordingSubscriptions() {
  const calls: string[] = [];
  return {
    calls,
    pause(s: Subscriber) {
      calls.push(`pause ${s.id}`);
      s.pausedAt = 0;
    },
    resume(s: Subscriber) {
      calls.push(`resume ${s.id}`);
      s.pausedAt = null;
    },
  };
}

describe('slow-consumer policy', () => {
  const limits = { slowConsumerBytes: 1000, slowConsumerGraceMs: 5000, outboundBudgetBytes: 1_000_000 };

  it('pauses past the limit, resumes at a quarter of it, closes a connection still behind after the grace period', () => {
    let now = 10_000;
    const a = new FakeConnection(1);
    const subscriptions = recordingSubscriptions();
    const policy = new SlowConsumers({ connections: [a], subscriptions, limits, metrics: createMetrics({ defaultMetrics: false }), logger, now: () => now });

    a.buffered = 1000;
    expect(policy.check().paused).toEqual([]); // at the limit, not past it
    a.buffered = 1001;
    expect(policy.check().paused).toEqual([a]);
    a.pausedAt = now;
    a.buffered = 400; // above a quarter: stays paused
    now += 1000;
    expect(policy.check()).toMatchObject({ resumed: [], closedSlow: [] });
    a.buffered = 250;
    expect(policy.check().resumed).toEqual([a]);
    expect(subscriptions.calls).toEqual(['pause 1', 'resume 1']);

    a.buffered = 5000;
    policy.check();
    a.pausedAt = now;
    now += 5001;
    expect(policy.check().closedSlow).toEqual([a]);
    expect(a.closedWith).toBe(4008);
  });

  it('drain resumes a paused connection at once when it is down to a quarter', () => {
    const a = new FakeConnection(1);
    const subscriptions = recordingSubscriptions();
    const policy = new SlowConsumers({ connections: [a], subscriptions, limits, metrics: createMetrics({ defaultMetrics: false }), logger });
    a.pausedAt = 1;
    a.buffered = 251;
    policy.drained(a);
    expect(subscriptions.calls).toEqual([]);
    a.buffered = 250;
    policy.drained(a);
    expect(subscriptions.calls).toEqual(['resume 1']);
  });

  it('past the process budget closes the heaviest connections first until the total is under 90% of it', () => {
    const budget = { ...limits, slowConsumerBytes: 10_000_000, outboundBudgetBytes: 1000 };
    const conns = [300, 500, 100, 400, 50].map((b, i) => Object.assign(new FakeConnection(i), { buffered: b }));
    const metrics = createMetrics({ defaultMetrics: false });
    const policy = new SlowConsumers({ connections: conns, subscriptions: recordingSubscriptions(), limits: budget, metrics, logger });
    const outcome = policy.check();
    expect(outcome.buffered).toBe(1350);
    // 1350 → close 500 (850 ≤ 900): one is enough
    expect(outcome.closedOverBudget.map((c) => c.id)).toEqual([1]);
    expect(conns[1]!.closedWith).toBe(4008); // little unsent data: the close frame can follow it
    expect(conns.filter((c) => c.open)).toHaveLength(4);
    conns[2]!.buffered = 700; // 300 + 700 + 400 + 50 = 1450 → close 700 (750), done
    expect(policy.check().closedOverBudget.map((c) => c.id)).toEqual([2]);
    expect(policy.check().closedOverBudget).toEqual([]);
  });
});

describe('catch-up bound', () => {
  function setup(catchUpQueueBytes: number) {
    const room = new Room({ eventId: 'e', tickMs: 0, resumeWindow: 1000, publish: () => undefined });
    room.load({ epoch: 1, seq: 5, status: Buffer.alloc(2000) });
    const fakeHub = {
      room: () => room,
      leave: () => undefined,
      join: async () => room,
      placeWatcher: () => 'ev:e',
      removeWatcher: () => undefined,
      watcherPosition: () => ({ epoch: room.epoch, seq: room.seq }),
    } as unknown as Hub;
    const subscriptions = new Subscriptions({
      hub: fakeHub,
      metrics: createMetrics({ defaultMetrics: false }),
      logger,
      inflight: new Inflight(),
      maxSubscriptions: 16,
      catchUpQueueBytes,
    });
    return { room, subscriptions };
  }

  it('a snapshot asked for again and again by a connection that does not read is queued once; it is owed once drained', async () => {
    const { subscriptions } = setup(5000);
    const c = new FakeConnection(1);
    for (let rid = 1; rid <= 50; rid++) await subscriptions.subscribe(c, { t: 'sub', rid, ev: 'e' });
    const snapshots = c.sent.length;
    // ~2 kB snapshots: two fit under 5,000 bytes of unsent data, the third pauses the connection
    expect(snapshots).toBe(2);
    expect(c.pausedAt).not.toBeNull();
    expect(c.topics.size).toBe(0);
    expect(c.replies.filter((r) => r.t === 'ok')).toHaveLength(50);
    expect(c.subs.get('e')!.owed).toEqual({ from: undefined });

    c.buffered = 0; // drained
    subscriptions.resume(c);
    expect(c.sent.length).toBe(snapshots + 1);
    expect(c.pausedAt).toBeNull();
    expect(c.topics.has('ev:e')).toBe(true);
  });

  it('a connection with nothing unsent always gets its catch-up, however large', async () => {
    const { subscriptions } = setup(100);
    const c = new FakeConnection(1);
    await subscriptions.subscribe(c, { t: 'sub', rid: 1, ev: 'e' });
    expect(c.sent).toHaveLength(1);
    expect(c.pausedAt).toBeNull();
    expect(c.topics.has('ev:e')).toBe(true);
    expect(subscriptions.count).toBe(1);
    expect(subscriptions.watchers('e').has(c)).toBe(true);
    subscriptions.closed(c);
    expect(subscriptions.count).toBe(0);
    expect(subscriptions.watchers('e').size).toBe(0);
  });
});

