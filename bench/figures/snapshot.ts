/** Snapshot frames: size on the wire and encode time (core/protocol's encoder, as the gateway uses it) per venue size. */
import { encodeMessage } from '../../core/protocol/index.js';
import { decode } from '../../loadtest/k6/vendor/protocol.js';
import { fmt, type Figure } from './context.js';

const SIZES = [1_000, 50_000, 200_000];

/** A sold-in-part venue: 55% free, 10% held, 32% booked, 3% blocked, in runs like real sales. */
function status(seats: number): Uint8Array {
  const st = new Uint8Array(seats);
  let s = 0;
  for (let i = 0; i < seats; ) {
    const run = 1 + Math.floor(Math.random() * 12);
    const r = Math.random();
    s = r < 0.55 ? 0 : r < 0.65 ? 1 : r < 0.97 ? 2 : 3;
    st.fill(s, i, Math.min(seats, i + run));
    i += run;
  }
  return st;
}

function medianMs(fn: () => void, repeat: number): number {
  const times: number[] = [];
  for (let i = 0; i < repeat; i++) {
    const t = performance.now();
    fn();
    times.push(performance.now() - t);
  }
  return times.sort((a, b) => a - b)[Math.floor(repeat / 2)]!;
}

export const snapshot: Figure = async () => ({
  rows: SIZES.map((seats) => {
    const message = { t: 'snap' as const, ev: 'venue', epoch: 1767225000000, seq: 123_456, st: status(seats) };
    const frame = encodeMessage(message);
    const repeat = seats > 10_000 ? 200 : 2000;
    for (let i = 0; i < 50; i++) encodeMessage(message); // warm-up
    const encodeMs = medianMs(() => encodeMessage(message), repeat);
    const decodeMs = medianMs(() => decode(frame), repeat);
    return {
      figure: `snapshot of a ${fmt(seats)}-seat venue`,
      value: `${fmt(frame.length)} B`,
      detail: `encode ${fmt(encodeMs * 1000, 1)} µs (median of ${repeat}); decode in the load-test codec ${fmt(decodeMs * 1000, 1)} µs; ${fmt(frame.length / seats, 3)} B/seat`,
      goal: '',
      met: null,
    };
  }),
});
