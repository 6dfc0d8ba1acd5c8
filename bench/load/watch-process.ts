/**
 * A benchmark load process (forked by bench/load/fleet.ts): holds a share of
 * the watchers, of the gateway (protocol v1, the load tests' LoadClient) or
 * of the Socket.IO baseline, and answers the commands in ./protocol.ts.
 */
import { io, type Socket } from 'socket.io-client';
import { LoadClient } from '../../loadtest/lib/client.js';
import { MetricSink } from '../../loadtest/node/metrics.js';
import { nodePlatform } from '../../loadtest/node/platform.js';
import { stateSum, type Command, type OpenCommand, type Reply, type ViewState, type WatchReport } from './protocol.js';

interface Watcher {
  close(): void;
  /** records the frame counters the client adds up between recordings (it records at most once a second) */
  recordCounts(): void;
  resume(done: () => void): void;
  view(): ViewState;
  arrivals: number[] | null;
}

const sink = new MetricSink();
let watchers: Watcher[] = [];
let socketio = { updates: 0, frames: 0, gaps: 0 };
let reconnects = 0;
let retriedOpens = 0;
let open: OpenCommand | undefined;

const counter = (name: string) => sink.data.counters[name] ?? 0;
const now = () => performance.timeOrigin + performance.now();

/** Full-jitter exponential backoff, as protocol.md asks of clients that lost their connection (base 500 ms, cap 30 s). */
const backoffMs = (attempt: number) => Math.random() * Math.min(30_000, 500 * 2 ** attempt);
/** connects a watcher tries before it counts as failed (a burst past the listen backlog drops a rare handshake) */
const OPEN_ATTEMPTS = 4;

function openGatewayWatcher(c: OpenCommand, sampled: boolean, done: (ok: boolean) => void): Watcher {
  const arrivals: number[] | null = sampled ? [] : null;
  let onSubscribed: ((ok: boolean) => void) | null = done;
  let subscribed = false;
  let closedByUs = false;
  let attempt = 0;
  const settle = (ok: boolean) => {
    const d = onSubscribed;
    onSubscribed = null;
    d?.(ok);
  };
  const client = new LoadClient(nodePlatformFor(c), { url: c.url, requestTimeoutMs: 60_000 }, c.token, {
    // also after a reconnect: the view's epoch+seq make the sub a resume
    onReady: (cl) =>
      cl.subscribe(c.ev, (reply) => {
        if (reply.code === 'CLOSED') return; // the connection dropped under the sub: onClose decides
        if (reply.t === 'ok') {
          subscribed = true;
          attempt = 0;
        }
        settle(reply.t === 'ok');
      }),
    // a connection lost unasked (a dropped handshake, a slow consumer closed past its grace) comes back, as a real client's would
    onClose: (_code, expected) => {
      if (expected || closedByUs || (!subscribed && attempt + 1 >= OPEN_ATTEMPTS)) return settle(false);
      if (subscribed) reconnects++;
      else retriedOpens++;
      setTimeout(() => closedByUs || client.connect(), backoffMs(attempt++));
    },
    onAdvance: arrivals ? (_ev, seq, at) => arrivals.push(seq, at) : undefined,
  });
  return {
    arrivals,
    recordCounts: () => client.recordCounts(now()),
    close: () => {
      closedByUs = true;
      client.close();
    },
    resume(resumed) {
      closedByUs = false;
      onSubscribed = () => resumed();
      client.connect();
    },
    view() {
      const v = client.views[c.ev];
      return v && v.ready ? { seq: v.seq, sum: stateSum(v.status as Uint8Array) } : { seq: -1, sum: 0 };
    },
  };
}

let platformWithAddress: ReturnType<typeof nodePlatform> | undefined;
function nodePlatformFor(c: OpenCommand) {
  return (platformWithAddress ??= nodePlatform(sink, c.localAddress));
}

/** The baseline's client: a JSON seat array on join, then one `diff` message per change. */
function openSocketIoWatcher(c: OpenCommand, sampled: boolean, done: (ok: boolean) => void): Watcher {
  const arrivals: number[] | null = sampled ? [] : null;
  let status = new Uint8Array(0);
  let seq = -1;
  const socket: Socket = io(c.url, { transports: ['websocket'], forceNew: true, reconnection: false, ...(c.localAddress ? { localAddress: c.localAddress } : {}) } as never);
  socket.on('diff', (m: { seq: number; ch: number[] }) => {
    if (seq < 0) return;
    socketio.frames++;
    if (m.seq <= seq) return;
    if (m.seq !== seq + 1) socketio.gaps++;
    for (let i = 0; i + 1 < m.ch.length; i += 2) status[m.ch[i]!] = m.ch[i + 1]!;
    socketio.updates += m.ch.length / 2;
    seq = m.seq;
    arrivals?.push(seq, now());
  });
  socket.once('connect', () =>
    socket.emit('sub', c.ev, (snap: { seq: number; st: number[] } | { error: string }) => {
      if ('error' in snap) return done(false);
      status = Uint8Array.from(snap.st);
      seq = snap.seq;
      done(true);
    }),
  );
  socket.once('connect_error', () => done(false));
  return {
    arrivals,
    recordCounts: () => undefined, // counted per message
    close: () => socket.close(),
    resume: () => {
      throw new Error('the baseline has no resume');
    },
    view: () => ({ seq, sum: stateSum(status) }),
  };
}

/** Opens `count` watchers, `concurrency` at a time. */
function openAll(c: OpenCommand): Promise<{ opened: number; failed: number }> {
  open = c;
  let next = 0;
  let opened = 0;
  let failed = 0;
  return new Promise((resolve) => {
    const startOne = () => {
      if (next >= c.count) return;
      const index = next++;
      const sampled = c.sampleEvery > 0 && index % c.sampleEvery === 0;
      const make = c.kind === 'gateway' ? openGatewayWatcher : openSocketIoWatcher;
      watchers.push(
        make(c, sampled, (ok) => {
          if (ok) opened++;
          else failed++;
          if (opened + failed === c.count) resolve({ opened, failed });
          else startOne();
        }),
      );
    };
    for (let i = 0; i < Math.min(c.concurrency, c.count); i++) startOne();
  });
}

function report(): WatchReport {
  const gateway = open?.kind === 'gateway';
  // the counts of the last second would be left out otherwise
  for (const w of watchers) w.recordCounts();
  return {
    clients: watchers.length,
    updates: gateway ? counter('seat_updates') : socketio.updates,
    frames: gateway ? counter('diffs') : socketio.frames,
    gaps: gateway ? counter('diff_gaps') : socketio.gaps,
    duplicates: gateway ? counter('diff_duplicates') : 0,
    reconnects,
    arrivals: watchers.filter((w) => w.arrivals).map((w) => w.arrivals!),
    views: watchers.map((w) => w.view()),
  };
}

const equalViews = (a: ViewState, b: ViewState) => a.seq === b.seq && a.sum === b.sum;

function mark(): void {
  for (const w of watchers) w.recordCounts(); // what came before the mark is not counted after it
  sink.data.counters = {};
  socketio = { updates: 0, frames: 0, gaps: 0 };
  reconnects = 0;
  for (const w of watchers) if (w.arrivals) w.arrivals.length = 0;
}

async function handle(c: Command): Promise<Reply> {
  switch (c.cmd) {
    case 'open': {
      const started = now();
      retriedOpens = 0;
      const r = await openAll(c);
      return { cmd: 'open', ...r, retried: retriedOpens, ms: now() - started };
    }
    case 'mark':
      mark();
      return { cmd: 'mark' };
    case 'report':
      return { cmd: 'report', report: report() };
    case 'synced':
      return { cmd: 'synced', count: watchers.filter((w) => equalViews(w.view(), c)).length };
    case 'drop':
      for (const w of watchers) w.close();
      return { cmd: 'drop' };
    case 'resume': {
      const started = now();
      let resumed = 0;
      // as many reconnects in flight as the first connects had: past the listen backlog, SYNs are dropped and retried seconds later
      await new Promise<void>((resolve) => {
        let next = 0;
        const startOne = () => {
          const w = watchers[next++];
          if (w) w.resume(() => (++resumed === watchers.length ? resolve() : startOne()));
        };
        if (watchers.length === 0) resolve();
        for (let i = 0; i < (open?.concurrency ?? 500); i++) startOne();
      });
      return { cmd: 'resume', ms: now() - started, resumed };
    }
    case 'close':
      for (const w of watchers) w.close();
      watchers = [];
      return { cmd: 'close' };
  }
}

process.on('message', (c: Command) => {
  void handle(c).then((reply) => process.send!(reply));
});
