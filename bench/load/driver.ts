/**
 * The operation driver of the fan-out figures: holds at a fixed rate, each
 * seat released again `holdMs` later, through the gateway (protocol v1) or
 * the Socket.IO baseline. Records when each hold was sent, by the seq its
 * reply carries, to time its arrival at the watchers.
 */
import { io } from 'socket.io-client';
import WebSocket from 'ws';
import { decode, encode } from '../../loadtest/k6/vendor/protocol.js';

export interface DriveResult {
  holds: number;
  refused: number;
  /** [seq, sentAt] of every successful hold */
  sent: [number, number][];
  /** [seq, seat] of every hold and release whose reply carried its seq (the gateway's do) */
  changes: [number, number][];
  /** when the first hold was due (wall clock, ms) and how long the holds took to send */
  startedAt: number;
  seconds: number;
}

interface Ops {
  hold(seat: number): Promise<{ ok: boolean; tok?: string; seq?: number }>;
  release(seat: number, tok: string): Promise<{ seq?: number } | unknown>;
  close(): void;
}

const now = () => performance.timeOrigin + performance.now();

export async function gatewayOps(url: string, token: string, ev: string): Promise<Ops> {
  const { request, close } = await gatewayRequests(url, token);
  return {
    async hold(seat) {
      const r = await request({ t: 'hold', ev, seats: [seat] });
      return r.t === 'ok' ? { ok: true, tok: r.tok as string, seq: r.seq as number } : { ok: false };
    },
    release: async (seat, tok) => {
      const r = await request({ t: 'release', ev, tok, seats: [seat] });
      return r.t === 'ok' ? { seq: r.seq as number } : {};
    },
    close,
  };
}

/** One protocol v1 connection (after its hello): any request, answered by rid. */
export async function gatewayRequests(url: string, token: string): Promise<{ request(body: Record<string, unknown>): Promise<Record<string, unknown>>; close(): void }> {
  const ws = new WebSocket(url, ['seatmap.v1'], { headers: { authorization: `Bearer ${token}` }, perMessageDeflate: false });
  const pending = new Map<number, { resolve: (m: Record<string, unknown>) => void; reject: (err: Error) => void }>();
  let rid = 0;
  await new Promise<void>((resolve, reject) => {
    ws.once('error', reject);
    ws.on('message', (data: Buffer) => {
      const m = decode(data) as Record<string, unknown>;
      if (m.t === 'hello') resolve();
      const waiter = pending.get(m.rid as number);
      if (waiter) {
        pending.delete(m.rid as number);
        waiter.resolve(m);
      }
    });
  });
  // a lost connection fails the figure with its close code instead of leaving its requests waiting forever
  let closed: Error | null = null;
  ws.on('close', (code: number, reason: Buffer) => {
    closed = new Error(`the driver's connection closed (${code} ${reason.toString()}) with ${pending.size} requests unanswered`);
    for (const waiter of pending.values()) waiter.reject(closed);
    pending.clear();
  });
  const request = (body: Record<string, unknown>) =>
    new Promise<Record<string, unknown>>((resolve, reject) => {
      if (closed) return reject(closed);
      const id = ++rid;
      pending.set(id, { resolve, reject });
      ws.send(encode({ ...body, rid: id } as never));
    });
  return { request, close: () => ws.close() };
}

export async function socketIoOps(url: string, ev: string): Promise<Ops> {
  const socket = io(url, { transports: ['websocket'], forceNew: true, reconnection: false });
  await new Promise<void>((resolve, reject) => {
    socket.once('connect', () => resolve());
    socket.once('connect_error', reject);
  });
  return {
    hold: (seat) => socket.timeout(30_000).emitWithAck('hold', ev, [seat]).catch(() => ({ ok: false })),
    release: (seat, tok) => socket.timeout(30_000).emitWithAck('release', ev, tok, [seat]).catch(() => undefined),
    close: () => socket.close(),
  };
}

/** Holds `rate` seats a second for `seconds`, cycling through seats [0, seats), each released after `holdMs`. */
export async function drive(ops: Ops, options: { rate: number; seconds: number; seats: number; holdMs: number }): Promise<DriveResult> {
  const sent: [number, number][] = [];
  const changes: [number, number][] = [];
  const inFlight: Promise<unknown>[] = [];
  let refused = 0;
  const total = Math.round(options.rate * options.seconds);
  const started = now();
  for (let i = 0; i < total; i++) {
    const due = started + (i * 1000) / options.rate;
    const wait = due - now();
    if (wait > 1) await new Promise((r) => setTimeout(r, wait));
    const seat = i % options.seats;
    const sentAt = now();
    inFlight.push(
      ops.hold(seat).then(async (r) => {
        if (!r.ok) return void refused++;
        sent.push([r.seq!, sentAt]);
        changes.push([r.seq!, seat]);
        await new Promise((res) => setTimeout(res, options.holdMs));
        const released = (await ops.release(seat, r.tok!)) as { seq?: number } | undefined;
        if (typeof released?.seq === 'number') changes.push([released.seq, seat]);
      }),
    );
  }
  const seconds = (now() - started) / 1000;
  await Promise.all(inFlight);
  return { holds: total, refused, sent: sent.sort((a, b) => a[0] - b[0]), changes: changes.sort((a, b) => a[0] - b[0]), startedAt: started, seconds };
}

/**
 * What a coalesced stream owes one watcher: for each diff it received (its
 * `to` seqs, in order), the seats whose state the diff's changes left
 * different. Every change here is a hold or its release of one seat, so a
 * seat changed an even number of times within one diff is back where it was
 * (a hold and its release that fell into the same diff cancel).
 */
export function coalescedOwed(changes: readonly [number, number][], diffEnds: readonly number[]): number {
  let owed = 0;
  let j = 0;
  for (const to of diffEnds) {
    const changed = new Set<number>();
    for (; j < changes.length && changes[j]![0] <= to; j++) {
      const seat = changes[j]![1];
      if (!changed.delete(seat)) changed.add(seat);
    }
    owed += changed.size;
  }
  return owed;
}

/** Hold-to-diff delays: for each sampled watcher and hold, when the watcher's view first reached the hold's seq. */
export function holdToDiffDelays(sent: readonly [number, number][], arrivals: readonly number[][]): number[] {
  const delays: number[] = [];
  for (const a of arrivals) {
    let j = 0;
    for (const [seq, sentAt] of sent) {
      while (j < a.length && a[j]! < seq) j += 2;
      if (j >= a.length) break;
      delays.push(a[j + 1]! - sentAt);
    }
  }
  return delays;
}
