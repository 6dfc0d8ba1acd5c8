/**
 * Fan-out: 20,000 watchers (or as many as one process may hold) of one event
 * on one gateway process while holds run at 1,000/s (each seat released a
 * second later, so 2,000 changes/s): every watcher must end equal to Redis;
 * delays are timed from each hold's send to its diff at the sampled watchers;
 * the gateway's CPU is read from /proc. The comparisons with the Socket.IO
 * baseline run both servers with the same watchers, few enough that the
 * baseline delivers everything it owes.
 */
import { fanoutLimits } from '../performance-notes.js';
import { cpuSeconds } from '../load/process-stats.js';
import { HOLD_MS, RATE, SAMPLED, runFanout, updatesDue, type FanoutRun } from './fanout-run.js';
import { fmt, perProcessConnections, type BenchContext, type Figure, type Row } from './context.js';

const WANTED_WATCHERS = 20_000;
const SECONDS = 10;
/**
 * Watchers of the comparisons. The baseline sends one message per change to
 * every watcher (2,000 a second each): here it keeps pace with about 50, and
 * with 300 it still delivers everything, tens of seconds late.
 */
const COMPARED_WATCHERS = [50, 300];

function fanoutWatchers(ctx: BenchContext): number {
  return Math.min(WANTED_WATCHERS, perProcessConnections(ctx));
}

const updatesPerCpuSecond = (r: FanoutRun) => r.report.updates / cpuSeconds(r.total);
/**
 * The criterion: every watcher ends equal to Redis, without a gap. The
 * updates a watcher receives are at least what the coalesced stream owed it
 * unless it was paused and resynced (its catch-up merges diffs), so that
 * count is shown, not required.
 */
const allDelivered = (r: FanoutRun) => r.inSync === r.watchers && r.report.gaps === 0;

function deliveryRow(gw: FanoutRun): Row {
  const { report, slow } = gw;
  const drained = gw.drainSeconds === null ? 'not all equal to Redis within the wait' : `all equal to Redis ${fmt(gw.drainSeconds, 1)} s after the window`;
  return {
    figure: `fan-out: watchers of one event receiving every change, ${fmt(RATE)} holds/s`,
    value: `${fmt(gw.inSync)}/${fmt(gw.watchers)}`,
    detail:
      `${fmt(report.updates)} seat updates delivered (${fmt((100 * report.updates) / Math.max(1, gw.owed), 1)}% of the ${fmt(gw.owed)} the coalesced stream owed: the net change of each diff × watchers; ` +
      `${fmt(updatesDue(gw))} without coalescing), in ${fmt(report.frames)} diffs, ${report.gaps} gaps, ${report.duplicates} duplicates; ` +
      `${fmt(SAMPLED)} sampled watchers (own process, normal priority) got ${fmt(gw.sampledDiffsPerSecond, 1)} diffs/s (the gateway published ${fmt(gw.published / gw.window.seconds, 1)}/s; the 50 ms tick allows 20); ` +
      `bulk watchers (nice 19): ${fmt(slow.paused)} paused as slow readers, ${fmt(slow.resynced)} resynced, ${fmt(slow.closed)} closed (${fmt(report.reconnects)} reconnects); ${drained}; ` +
      `${fmt(gw.driven.holds)} holds (${gw.driven.refused} refused) in ${fmt(gw.driven.seconds, 1)} s; ${fmt(gw.retriedConnects)} connects retried after a dropped handshake`,
    goal: 'all',
    met: allDelivered(gw) && gw.drainSeconds !== null,
  };
}

function delayRow(gw: FanoutRun): Row {
  const d = gw.delays;
  const publishes = d['p(99)'] / gw.publishMs;
  return {
    figure: 'fan-out: hold-to-diff delay p50 / p99',
    value: `${fmt(d.med)} / ${fmt(d['p(99)'])} ms`,
    detail:
      `${fmt(d.count)} samples (${fmt(SAMPLED)} watchers in a process of their own at normal priority × every hold), max ${fmt(d.max)} ms; tick 50 ms; ` +
      `one publish to all ${fmt(gw.watchers)} watchers took ${fmt(gw.publishMs, 1)} ms on average (slices of 1,000 watchers, one per event-loop turn), so p99 is ${fmt(publishes, 1)} publishes`,
    goal: 'p99 ≤ 2 publishes',
    met: publishes <= 2,
  };
}

function cpuRow(gw: FanoutRun): Row {
  const cpu = cpuSeconds(gw.total);
  const w = gw.window;
  return {
    figure: 'fan-out: gateway CPU seconds per million delivered updates',
    value: fmt((cpu / gw.report.updates) * 1e6, 3),
    detail:
      `${fmt(cpu, 1)} CPU s (${fmt((100 * gw.total.systemS) / cpu)}% in the kernel) for ${fmt(gw.report.updates)} updates, from the first hold until every watcher was equal to Redis; ` +
      `while the holds ran (${fmt(w.seconds, 1)} s) ${fmt(cpuSeconds(w.usage) / w.seconds, 2)} cores, its event loop on a core ${fmt(w.usage.ranS, 1)} s and runnable but waiting for one ${fmt(w.usage.waitedS, 1)} s`,
    goal: '',
    met: null,
  };
}

function comparisonRow(gw: FanoutRun, io: FanoutRun): Row {
  const ratio = updatesPerCpuSecond(gw) / updatesPerCpuSecond(io);
  const side = (name: string, r: FanoutRun) =>
    `${name} ${fmt(updatesPerCpuSecond(r))}/CPU-s (${fmt(r.report.updates)} updates delivered, ${fmt(r.owed)} owed, ${fmt(cpuSeconds(r.total), 1)} CPU s, ` +
    `${fmt(r.inSync)}/${fmt(r.watchers)} in sync, delay p99 ${fmt(r.delays['p(99)'])} ms, last hold or release answered after ${fmt(r.answeredSeconds, 1)} s)`;
  return {
    figure: `delivered updates per server CPU-second, ${fmt(gw.watchers)} watchers: gateway ÷ Socket.IO + Redis adapter (JSON, one message per change)`,
    value: `${fmt(ratio, 1)}×`,
    detail: `${fmt(RATE)} holds/s for ${SECONDS} s, each released ${fmt(HOLD_MS / 1000)} s later: ${side('gateway', gw)}; ${side('Socket.IO', io)}`,
    goal: '≥ 5×',
    // a ratio means something only when both delivered everything they owed
    met: ratio >= 5 && allDelivered(gw) && allDelivered(io),
  };
}

/** BENCH_FANOUT_COMPARED=50[,300]: only the comparisons with these watcher counts (printed, not published). */
function narrowedTo(): number[] | null {
  const wanted = process.env.BENCH_FANOUT_COMPARED;
  if (!wanted) return null;
  const counts = wanted.split(',').map(Number);
  if (counts.some((c) => !Number.isSafeInteger(c) || c < 1)) throw new Error(`BENCH_FANOUT_COMPARED=${wanted}: watcher counts, comma-separated`);
  return counts;
}

async function comparisons(ctx: BenchContext, counts: readonly number[]): Promise<{ gw: FanoutRun; io: FanoutRun }[]> {
  const compared: { gw: FanoutRun; io: FanoutRun }[] = [];
  for (const watchers of counts) {
    compared.push({ gw: await runFanout(ctx, 'gateway', watchers, SECONDS), io: await runFanout(ctx, 'socketio', watchers, SECONDS) });
  }
  return compared;
}

export const fanout: Figure = async (ctx) => {
  const narrowed = narrowedTo();
  if (narrowed) return { rows: (await comparisons(ctx, narrowed)).map((c) => comparisonRow(c.gw, c.io)), partial: true };
  const gw = await runFanout(ctx, 'gateway', fanoutWatchers(ctx), SECONDS);
  const compared = await comparisons(ctx, COMPARED_WATCHERS);
  return {
    rows: [deliveryRow(gw), delayRow(gw), cpuRow(gw), ...compared.map((c) => comparisonRow(c.gw, c.io))],
    limits: [fanoutLimits(gw, compared[0]!.gw)],
  };
};
