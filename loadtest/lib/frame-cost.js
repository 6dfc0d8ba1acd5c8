/**
 * What one frame costs a load client, measured with the bundled code itself
 * (loadtest/k6/vendor/protocol.js and lib/client.js): the decode of a small
 * diff and of a 20,000-seat snapshot, a diff applied to a SeatView, the whole
 * per-frame work of LoadClient.receive(), and the seat choices the scenarios
 * make (freeSeats over a sold-out hot section, a free seat anywhere). Plain
 * JavaScript so that the same measurement runs in Node (`npm run bench:k6`)
 * and in k6 (loadtest/bench/frame-cost.k6.js); loadtest/README.md reports both.
 */
import { SeatView, decode, encode } from '../k6/vendor/protocol.js';
import { LoadClient, freeSeats, freeSeatNear } from './client.js';

/** The frames a watcher of the demo event receives, encoded as the gateway sends them. */
export function sampleFrames(seatCount) {
  const st = new Uint8Array(seatCount);
  for (let i = 0; i < seatCount; i += 7) st[i] = 2; // some booked, like an on-sale under way
  const snap = encode({ t: 'snap', ev: 'demo', epoch: 1733000000001, seq: 1000, st });
  const diffs = [];
  for (let k = 0; k < 64; k++) {
    const seat = (k * 37) % seatCount;
    // 1 to 4 seats held or freed: what an on-sale's tick carries per hold
    const ch = [];
    for (let j = 0; j <= k % 4; j++) ch.push(seat + j, k % 2);
    diffs.push(encode({ t: 'diff', ev: 'demo', epoch: 1733000000001, from: 1000 + k, to: 1001 + k, ch }));
  }
  return { snap, diffs };
}

/** Runs fn(i) for at least minMs (and at least minRuns times); microseconds per run. */
function timeIt(now, minMs, minRuns, fn) {
  let runs = 0;
  const started = now();
  let elapsed = 0;
  while (runs < minRuns || elapsed < minMs) {
    for (let i = 0; i < 16; i++) fn(runs + i);
    runs += 16;
    elapsed = now() - started;
  }
  return (elapsed * 1000) / runs;
}

/** A platform for one LoadClient that never opens a socket; metrics are counted in memory. */
function benchPlatform(now) {
  const noop = () => {};
  return {
    connect: () => ({ send: noop, close: noop }),
    now,
    random: Math.random,
    setTimeout: () => 0,
    clearTimeout: noop,
    hmacSha256Base64Url: () => '',
    base64Url: () => '',
    trend: noop,
    rate: noop,
    count: noop,
    check: noop,
    note: noop,
  };
}

/**
 * @param {() => number} now  a millisecond clock
 * @param {{ seatCount?: number, minMs?: number }} [options]
 * @returns {Record<string, number>} microseconds per operation
 */
export function measureFrameCosts(now, options) {
  const seatCount = (options && options.seatCount) || 20000;
  const minMs = (options && options.minMs) || 300;
  const { snap, diffs } = sampleFrames(seatCount);
  const out = {};

  out.decodeDiffUs = timeIt(now, minMs, 1000, (i) => decode(diffs[i & 63]));
  out.decodeSnapUs = timeIt(now, minMs, 20, () => decode(snap));
  const snapMessage = decode(snap);
  const view = new SeatView();
  out.applySnapUs = timeIt(now, minMs, 20, () => view.applySnap(snapMessage));

  // a view kept in step by the diffs: rewind seq for each round so that every diff applies
  const decoded = diffs.map((d) => decode(d));
  out.applyDiffUs = timeIt(now, minMs, 1000, (i) => {
    const d = decoded[i & 63];
    view.seq = d.from;
    view.applyDiff(d);
  });

  // the whole per-frame work of a load client: decode, apply, continuity, metrics calls
  const client = new LoadClient(benchPlatform(now), { url: 'ws://bench', requestTimeoutMs: 1000 }, null, { onReady: () => {} });
  client.receive(encode({ t: 'hello', v: 1, sub: null, scopes: [], limits: { opsPerSecond: 50, opsBurst: 100 } }), now());
  client.viewOf('demo');
  client.receive(snap, now());
  const clientView = client.views.demo;
  out.clientDiffFrameUs = timeIt(now, minMs, 1000, (i) => {
    clientView.seq = 1000 + (i & 63); // each diff applies in turn
    client.receive(diffs[i & 63], 0);
  });
  out.clientSnapFrameUs = timeIt(now, minMs, 20, () => client.receive(snap, 0));

  // seat choices: the hot section (500 seats) sold out, a free seat anywhere else
  const soldOut = new SeatView();
  soldOut.applySnap({ epoch: 1, seq: 1, st: new Uint8Array(seatCount).fill(2) });
  for (let s = seatCount - 50; s < seatCount; s++) soldOut.status[s] = 0;
  out.freeSeatsHotUs = timeIt(now, minMs, 100, () => freeSeats(soldOut, 0, 500));
  out.freeSeatAnywhereUs = timeIt(now, minMs, 100, () => freeSeatNear(soldOut, 0, seatCount, Math.random()));
  return out;
}
