/**
 * The prose under the table of docs/performance.md: how each figure is
 * measured, and what limits the figures on this machine. The limits that
 * depend on a run are worked out from its numbers, so that the text says
 * what the latest run measured.
 */
import { fmt as n, kib, mib } from './figures/context.js';
import type { FanoutRun } from './figures/fanout-run.js';
import { heap, highestPerConnection, liveRss, perConnection, rss, type MemoryReading } from './figures/memory.js';
import { cpuSeconds } from './load/process-stats.js';

export const PERFORMANCE_NOTES = `## How each figure is measured

- **holds/s**: 32 WebSockets with 16 holds in flight each hold one random seat of a 4,000,000-seat event through the
  gateway; redis-benchmark runs the gateway's hold script (\`holdIndexed\`, EVALSHA) with 50 connections pipelining 16,
  the most Redis does with this script here.
- **op-cost** (\`bench/figures/op-cost.ts\`): 4 driver connections (4 holders) in the benchmark's process hold one seat each
  at half the offered rate and release it a second later (the other half), for 6 s, no watcher subscribed; the server's
  CPU (\`/proc/<pid>/stat\`, user + kernel) from the first hold until the last release is answered, divided by the
  operations answered. Each rate runs twice after a 2 s warm-up; the server's idle CPU (3 s with the connections open) is
  shown beside it, and the load average, since the machine is shared. The Socket.IO baseline gets the same driver: a JSON
  message in, the same store script, its reply, and the diff emitted through its Redis adapter. A lone hold's round trip
  (one at a time on one connection, 2 ms apart) is timed on a gateway with nothing else to do.
- **fan-out**: watchers subscribe to one 20,000-seat event on one gateway process; a driver connection holds 1,000
  seats a second and releases each a second later (2,000 changes a second). 200 sampled watchers sit in a load
  process of their own at normal priority, as clients on their own machines would; the others sit in load processes
  at the lowest priority (nice 19), so that the gateway and Redis get the cores they ask for and the bulk takes what
  is left. The bulk may lag and be paused as slow readers and resynced (protocol.md, slow readers); after the holds
  the run waits (up to 3 minutes) until every watcher is equal to Redis (seq and a state checksum). Delays are from
  the hold's send to the arrival of the diff carrying its seq at the sampled watchers, every hold. Delivered updates
  count seat changes received by the watchers; what the gateway's coalesced stream owed them is the net change of
  each diff it published (a hold and its release within one diff cancel), cut at the diffs the sampled watchers saw,
  times the watchers; a watcher paused and resynced gets less (its catch-up merges diffs), so the criterion is that
  every watcher ends equal to Redis. One publish's time is the gateway's \`seatmap_room_publish_seconds\`. The gateway's CPU is counted from the first hold until every watcher
  is equal to Redis, and its event loop's time on a core and waiting for one is read from \`/proc/<pid>/schedstat\`.
- **watchers per core**: the fan-out run (6 s) at 1,000 watchers, doubled while the hold-to-diff p99 stays under
  100 ms and every watcher ends equal to Redis, then bisected twice; the loopback limit is one core over 20 diffs a
  second times the gateway CPU of one socket write (the extra CPU over a one-watcher run, per diff written). The
  same search with \`WORKERS=2\` gives the pair's figure.
- **events**: one gateway on a Redis of its own with N events of 100 seats, one watcher each (500 subscriptions a
  connection): its CPU and Redis's (INFO cpu) at rest for 6 s once every event's start-up work is done, then 10 s of
  100 holds/s on random events, each released 100 ms later, timed from the hold call to the watcher's diff; at 1, 1,000
  and 10,000 events. \`npm run bench:events -- --gateway-dir <checkout>\` runs the same against another checkout.
- **Socket.IO baseline** (\`loadtest/baseline/socketio-server.ts\`): the same event, watchers and driver against a
  Socket.IO server with the Redis adapter, one room per event, a JSON seat array on join and one JSON message per
  change, emitted through the adapter. It sends 2,000 messages a second to every watcher, so both servers are
  compared with few watchers: 50, about as many as the baseline keeps pace with here, and 300, where it still
  delivers every update but tens of seconds late; a ratio counts only when both delivered every update they owed
  and every watcher ended equal to Redis. Only the server process's CPU is counted on both sides.
- **connections**: subscribed connections (token checked, \`hello\`, \`sub\`, a 1,000-seat snapshot) opened 500 at a
  time from several load processes, each from its own loopback source address. Memory is the gateway's RSS (and JS
  heap, from its \`/metrics\`), each reading after a forced full garbage collection and a settle period: the lowest of
  several samples before the connections, the highest after. It is read at two sizes; the slope between them is
  the figure.
- **reconnect storm**: the clients drop, 50 holds happen, all reconnect at once and resume with epoch+seq; the time is
  until the last one has its catch-up; Redis commands are every command the benchmark's Redis ran meanwhile.
- **best available** (\`bench/figures/selection.ts\`): a 20,000-seat venue sold to 50 % and to 95 % as an on-sale sells
  it (the best-ranked seats first, a ragged edge of ±3 % of the ranks), and once 50 % scattered over the whole venue
  (runs of sold seats between runs of 1-5 free ones), then 3,000 holds of pairs in batches of 64 in flight over 8 WebSockets, each
  batch released again untimed so the sold share stays put: named holds of free pairs the client chose (distinct in a
  batch) against \`best: {n: 2}\` holds the script picks; the same event, gateway and Redis for both.
- **snapshot**: one \`snap\` frame of a partly sold venue, encoded by \`core/protocol\` (the gateway caches it per seq).
`;

const OPEN_FILES = `- **Open files.** A process here may hold at most 20,000 open files (the hard limit; the benchmark has no privilege to
  raise it), so one gateway process cannot hold 100,000 connections on this machine: the connection, fan-out and
  storm figures use the most one process can hold (20,000 less 300 for its other files). The load generators spread
  their sockets over processes and loopback source addresses (\`npm run load -- … --processes P\`), which is how
  100,000 connections are opened on a machine whose limit allows it.`;

const RECONNECT_STORM = `- **Reconnect storm.** Reconnects beyond the listen backlog (\`net.core.somaxconn\` 4,096 here) lose their SYNs and
  retry a second or more later, so the load processes keep 500 reconnects in flight each. Redis sees no command per
  client: the counts are timers' commands (the expiry sweeper, room checks, the booking flusher's blocking reads
  and registry reads, the lost-event check) over the storm's duration.`;

/** The section, with the limits the latest runs worked out. */
export function limitsSection(measured: readonly string[]): string {
  return ['## What limits the figures here', '', OPEN_FILES, ...measured, RECONNECT_STORM, ''].join('\n');
}

const cores = (r: FanoutRun) => cpuSeconds(r.window.usage) / r.window.seconds;
/** socket writes per second while the holds ran: every published diff to every watcher */
const writesPerSecond = (r: FanoutRun) => (r.published * r.watchers) / r.window.seconds;

/**
 * The fan-out's delay, from the run with the most watchers and one with few:
 * the gateway's CPU beyond the few-watcher run's (the holds themselves) per
 * socket write is what a diff costs per watcher.
 */
export function fanoutLimits(big: FanoutRun, few: FanoutRun): string {
  const marginal = (cores(big) - cores(few)) / (writesPerSecond(big) - writesPerSecond(few));
  // a run too noisy to tell the writes' cost from the holds' gives no estimate rather than a wrong one
  const perWrite = marginal > 0 ? marginal : Number.NaN;
  const maxDiffsPerSecond = (1 - cores(few)) / (big.watchers * perWrite);
  const coresForTick = cores(few) + 20 * big.watchers * perWrite;
  const { seconds, usage } = big.window;
  const kernelShare = big.total.systemS / cpuSeconds(big.total);
  const busy = usage.ranS / seconds;
  const verdict =
    busy > 0.75 ? 'its own work, not the scheduler, is the limit' : usage.waitedS > usage.ranS / 2 ? 'the rest of the machine starved it' : 'it was not busy all the time';
  return bullet(
    `**Fan-out delay.** With ${n(big.watchers)} watchers on one gateway process the room published ${n(big.published / seconds, 1)} diffs a second, ` +
      `not the 20 of its 50 ms tick, and a change waited for the diff before it to be written out: p50 ${n(big.delays.med)} ms, p99 ${n(big.delays['p(99)'])} ms ` +
      `at the sampled watchers. The gateway is one event loop: while the holds ran (${n(seconds, 1)} s) it used ${n(cores(big), 2)} cores, its loop on a core ` +
      `${n(usage.ranS, 1)} s and runnable but waiting for one ${n(usage.waitedS, 1)} s, so ${verdict}; ${n(100 * kernelShare)}% of its CPU was in the kernel. ` +
      `Each diff is one write to every watcher's socket, and over loopback that system call also does the receiving side's TCP work. Against the ` +
      `${n(few.watchers)}-watcher run (${n(cores(few), 2)} cores for the same holds, ${n(few.sampledDiffsPerSecond, 1)} diffs/s, p99 ${n(few.delays['p(99)'])} ms), ` +
      `each write cost ≈ ${n(perWrite * 1e6, 1)} µs of gateway CPU, so one core writes at most ≈ ${n(maxDiffsPerSecond, 1)} diffs a second to ` +
      `${n(big.watchers)} watchers, and the 50 ms tick for them needs ≈ ${n(coresForTick, 1)} cores. The 100 ms p99 goal at this size needs the ` +
      `watchers of one event spread over several gateway processes (a core each), or watchers on other machines, where the receiving side's TCP ` +
      `work is not the gateway's.`,
  );
}

/**
 * Watchers per core: how much of the 100 ms the fixed path takes (the
 * one-watcher run), and what the gateway got from the shared machine at the
 * first size that missed.
 */
export function watchersLimits(alone: FanoutRun, best: FanoutRun | null, miss: FanoutRun | null, limit: number, pair: FanoutRun | null = null): string {
  const waited = (r: FanoutRun) => (100 * r.window.usage.waitedS) / r.window.seconds;
  const at = (r: FanoutRun) =>
    `${n(r.watchers)} watchers: p99 ${n(r.delays['p(99)'])} ms, the gateway on ${n(cores(r), 2)} cores, its event loop runnable but waiting for a core ` +
    `${n(waited(r))}% of the time`;
  return bullet(
    `**Watchers per core.** With one watcher the hold-to-diff p99 is already ${n(alone.delays['p(99)'])} ms (p50 ${n(alone.delays.med)} ms), the gateway on ` +
      `${n(cores(alone), 2)} cores for the 2,000 changes a second alone: a change waits up to one 50 ms tick for its diff, after the hold's reply and the ` +
      `change feed's read, so the writes to the watchers have what is left of the 100 ms. ${best ? `Within it: ${at(best)}.` : ''} ` +
      `${miss ? `First past it: ${at(miss)}.` : ''} The two cores are shared by the gateway, Redis, the driver and the watcher processes, which decode every ` +
      `diff; the loopback limit (≈ ${n(limit)}) assumes a whole core for the gateway's writes. Watchers on other machines, a shorter tick for small ` +
      `rooms, and a cheaper hold path (the operations' own CPU is most of the one-watcher figure) are what would raise it.` +
      (pair
        ? ` With WORKERS=2 the pair served ${n(pair.watchers)} within 100 ms, ${pair.watchers > (best?.watchers ?? 0) ? 'more' : 'no more'} than one process: ` +
          `each process reads every change of the room and publishes its own diffs to its half of the watchers, and the two of them ` +
          `take the cores that Redis, the driver and the watcher processes need on this machine, so a second process adds a core's ` +
          `worth of writing only where the watchers run elsewhere.`
        : ''),
  );
}

/** Memory per connection, from the readings at the start and at two sizes. */
export function memoryLimits(before: MemoryReading, small: MemoryReading, big: MemoryReading): string {
  const each = perConnection(small, big, liveRss);
  const inHeap = perConnection(small, big, heap);
  const at100k = big.rssBytes + highestPerConnection(before, small, big) * (100_000 - big.connections);
  return bullet(
    `**Memory per connection.** Between ${n(small.connections)} and ${n(big.connections)} subscribed connections the gateway grew by ` +
      `${kib(each)} per connection: JS heap ${kib(inHeap)}, memory outside the V8 heap (uWebSockets.js's sockets, buffers) ` +
      `${kib(each - inHeap)}. RSS itself moves with how much heap V8 keeps committed after a collection (here ` +
      `${mib(before.heapCommittedBytes)} → ${mib(small.heapCommittedBytes)} → ${mib(big.heapCommittedBytes)}), by as much as thousands of connections ` +
      `add: its slope was ${kib(perConnection(small, big, rss))}, and from the start ${kib(perConnection(before, big, rss))} per connection. The ` +
      `open-file limit keeps one process at ${n(big.connections)} here; at the highest of these readings, 100,000 connections would take ≈ ${mib(at100k)}.`,
  );
}

/** A list item wrapped as the rest of the document is. */
export function bullet(text: string, width = 118): string {
  const lines: string[] = [];
  let line = '-';
  for (const word of text.split(' ')) {
    if (line.length + 1 + word.length > width) {
      lines.push(line);
      line = ' ';
    }
    line += ` ${word}`;
  }
  return [...lines, line].join('\n');
}
