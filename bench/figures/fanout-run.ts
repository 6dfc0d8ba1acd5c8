/**
 * One fan-out run: W watchers of one event on one server process (the
 * gateway or the Socket.IO baseline) while a driver holds seats at a fixed
 * rate, each released a second later.
 *
 * The machine is shared by the server, Redis, the driver and the watchers, so
 * the watchers are split by what they measure. The sampled ones, which time
 * every hold's diff, sit in a process of their own at normal priority, as a
 * client on its own machine would. The bulk sit in processes at the lowest
 * priority (nice 19): they take only the CPU the server, Redis and the driver
 * leave, may lag, and may be paused as slow readers and resynced (protocol.md,
 * slow readers). Every watcher must still end equal to Redis: the run waits
 * for them to drain, within a bound.
 */
import { summarizeTrend, type TrendSummary } from '../../loadtest/node/metrics.js';
import type { GatewayProcess } from '../../loadtest/node/gateway-process.js';
import { coalescedOwed, drive, gatewayOps, holdToDiffDelays, socketIoOps, type DriveResult } from '../load/driver.js';
import { Fleet } from '../load/fleet.js';
import { scrapeGateway, slowReaderActions } from '../load/gateway-metrics.js';
import { processUsage, usageSince, type ProcessUsage } from '../load/process-stats.js';
import { stateSum, type ViewState, type WatchReport } from '../load/protocol.js';
import { benchGateway, fmt, sleep, socketIoBaseline, token, venueEvent, type BenchContext } from './context.js';

const SEATS = 20_000;
export const RATE = 1000;
export const HOLD_MS = 1000;
export const SAMPLED = 200;
/** watchers per bulk load process */
const PER_BULK_PROCESS = 7_000;
/** the bound on the wait for lagging watchers after the drive */
const DRAIN_LIMIT_MS = 180_000;

export type ServerKind = 'gateway' | 'socketio';

export interface FanoutRun {
  kind: ServerKind;
  watchers: number;
  driven: DriveResult;
  /** from the first hold until the server had answered every hold and release */
  answeredSeconds: number;
  /** everything the watchers received, from the drive's start until drained */
  report: Omit<WatchReport, 'arrivals' | 'views'>;
  /** the drive plus a settle period for the last releases and the last tick */
  window: { seconds: number; usage: ProcessUsage };
  /** the server's usage from the drive's start until every watcher was equal to Redis (or the limit) */
  total: ProcessUsage;
  /** seconds after the window until every watcher was equal to Redis; null: not within the limit */
  drainSeconds: number | null;
  inSync: number;
  /** diffs the gateway published to the room during the window (each encoded once, sent to every watcher) */
  published: number;
  /** the mean time of one publish to every watcher during the window (seatmap_room_publish_seconds); NaN for the baseline */
  publishMs: number;
  slow: { paused: number; resynced: number; closed: number };
  delays: TrendSummary;
  /** diffs per second at the sampled watchers while the holds ran */
  sampledDiffsPerSecond: number;
  /** connects tried again after the connection dropped before its sub */
  retriedConnects: number;
  /** seat updates the stream owed all watchers: the net change of each diff (see updatesOwed) */
  owed: number;
}

/**
 * The sampled watchers' process (normal priority) and the bulk ones' (lowest),
 * each with its share of the watchers; `all` drives both.
 */
function startWatcherFleets(watchers: number) {
  const sampledCount = Math.min(SAMPLED, watchers);
  const bulkCount = watchers - sampledCount;
  const parts = [{ fleet: Fleet.start(1, { firstAddress: 30 }), count: sampledCount, sampleEvery: 1 }];
  if (bulkCount > 0) parts.push({ fleet: Fleet.start(Math.ceil(bulkCount / PER_BULK_PROCESS), { niceness: 19 }), count: bulkCount, sampleEvery: 0 });
  return { parts, all: Fleet.union(...parts.map((p) => p.fleet)) };
}

async function openWatchers(ctx: BenchContext, fleets: ReturnType<typeof startWatcherFleets>, kind: ServerKind, server: GatewayProcess, ev: string) {
  const url = kind === 'gateway' ? server.wsUrl : server.httpUrl;
  const tok = token(ctx, 'watcher', 'seats:read');
  const opens = await Promise.all(fleets.parts.map((p) => p.fleet.open({ kind, url, ev, token: tok, count: p.count, sampleEvery: p.sampleEvery, concurrency: 200 })));
  const total = (key: 'opened' | 'retried') => opens.reduce((n, o) => n + o[key], 0);
  return { opened: total('opened'), retried: total('retried'), ms: Math.max(...opens.map((o) => o.ms)) };
}

/** Polls until every watcher has `state`; the seconds it took, or null past the limit. */
async function waitUntilEqual(fleet: Fleet, state: ViewState, watchers: number): Promise<number | null> {
  const started = performance.now();
  while (performance.now() - started < DRAIN_LIMIT_MS) {
    if ((await fleet.synced(state)) >= watchers) return (performance.now() - started) / 1000;
    await sleep(500);
  }
  return null;
}

const wallClock = () => performance.timeOrigin + performance.now();
/** the gateway's published frames, and the summed time and count of its publishes (seatmap_room_publish_seconds) */
async function publishStats(server: GatewayProcess) {
  const read = await scrapeGateway(server.httpUrl);
  return { frames: read(/^seatmap_broadcast_frames_total /), seconds: read(/^seatmap_room_publish_seconds_sum /), count: read(/^seatmap_room_publish_seconds_count /) };
}

/** Diffs per watcher per second at the sampled watchers while the holds were sent. */
function diffsPerSecond(arrivals: readonly number[][], driven: DriveResult): number {
  const end = driven.startedAt + driven.seconds * 1000;
  let diffs = 0;
  for (const a of arrivals) for (let i = 1; i < a.length; i += 2) if (a[i]! >= driven.startedAt && a[i]! < end) diffs++;
  return diffs / Math.max(1, arrivals.length) / driven.seconds;
}

export async function runFanout(ctx: BenchContext, kind: ServerKind, watchers: number, seconds: number, env: Record<string, string> = {}): Promise<FanoutRun> {
  const ev = await venueEvent(ctx, `fan-${kind}`, SEATS);
  const server = kind === 'gateway' ? await benchGateway(ctx, env) : await socketIoBaseline(ctx);
  const isGateway = kind === 'gateway';
  const fleets = startWatcherFleets(watchers);
  const fleet = fleets.all;
  try {
    const opened = await openWatchers(ctx, fleets, kind, server, ev);
    ctx.log(`fanout ${kind}: ${opened.opened}/${watchers} watchers in ${fmt(opened.ms)} ms (${opened.retried} connects retried)`);
    const ops = isGateway ? await gatewayOps(server.wsUrl, token(ctx, 'driver'), ev) : await socketIoOps(server.httpUrl, ev);
    await sleep(1000);
    await fleet.mark();
    const publishedBefore = isGateway ? await publishStats(server) : null;
    const atStart = processUsage(server.pid);
    const driven = await drive(ops, { rate: RATE, seconds, seats: SEATS, holdMs: HOLD_MS });
    const answeredSeconds = (wallClock() - driven.startedAt) / 1000;
    await sleep(1500); // the last releases and the last tick reach the sampled watchers
    const window = { seconds: (wallClock() - driven.startedAt) / 1000, usage: usageSince(server.pid, atStart) };
    const publishedAfter = isGateway ? await publishStats(server) : null;
    const publishedInWindow = publishedAfter && publishedBefore ? publishedAfter.frames - publishedBefore.frames : 0;
    const publishes = publishedAfter && publishedBefore ? publishedAfter.count - publishedBefore.count : 0;
    const publishMs = publishes > 0 ? ((publishedAfter!.seconds - publishedBefore!.seconds) * 1000) / publishes : Number.NaN;
    ops.close();
    const snap = (await ctx.store.snapshot(ev))!;
    const redisState = { seq: snap.seq, sum: stateSum(snap.status) };
    const drainSeconds = await waitUntilEqual(fleet, redisState, opened.opened);
    const total = usageSince(server.pid, atStart);
    const { arrivals, views, ...report } = await fleet.report();
    const inSync = views.filter((v) => v.seq === redisState.seq && v.sum === redisState.sum).length;
    const slow = isGateway ? await slowReaderActions(server.httpUrl) : { paused: 0, resynced: 0, closed: 0 };
    const run: FanoutRun = {
      kind,
      watchers: opened.opened,
      driven,
      answeredSeconds,
      report,
      window,
      total,
      drainSeconds,
      inSync,
      published: publishedInWindow,
      publishMs,
      slow,
      delays: summarizeTrend(holdToDiffDelays(driven.sent, arrivals)),
      sampledDiffsPerSecond: diffsPerSecond(arrivals, driven),
      retriedConnects: opened.retried,
      owed: isGateway ? coalescedOwedPerWatcher(driven, arrivals) * opened.opened : (driven.holds - driven.refused) * 2 * opened.opened,
    };
    ctx.log(`fanout ${kind}: ${fmt(report.updates)} updates, ${inSync}/${watchers} in sync (drained in ${drainSeconds === null ? 'n/a' : fmt(drainSeconds, 1)} s), p99 ${fmt(run.delays['p(99)'])} ms`);
    return run;
  } finally {
    await fleet.stop();
    await server.stop();
  }
}

/** Seat updates the watchers would be due without coalescing: every hold and every release, to every watcher. */
export const updatesDue = (r: FanoutRun) => (r.driven.holds - r.driven.refused) * 2 * r.watchers;

/**
 * What the gateway's coalesced stream owed each watcher: the net change of
 * each diff it published (a hold and its release within one diff cancel),
 * cut at the diff boundaries of the sampled watcher that saw the most diffs.
 * The Socket.IO baseline sends every change: it owes updatesDue.
 */
function coalescedOwedPerWatcher(driven: DriveResult, arrivals: readonly number[][]): number {
  let finest: number[] = [];
  for (const a of arrivals) {
    const ends = a.filter((_, i) => i % 2 === 0);
    if (ends.length > finest.length) finest = ends;
  }
  return coalescedOwed(driven.changes, finest);
}
