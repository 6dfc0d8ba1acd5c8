/**
 * Concurrent subscribed connections on one gateway process: memory per
 * connection and the time to connect them all. Memory is read (./memory.ts)
 * once the gateway has settled before the connections (the lowest sample) and
 * at two sizes (the highest); the slope between the sizes is the cost of one
 * more connection, free of what the first connections warmed up.
 */
import { Fleet } from '../load/fleet.js';
import { memoryLimits } from '../performance-notes.js';
import { benchGateway, fmt, kib, mib, perProcessConnections, token, venueEvent, type Figure } from './context.js';
import { GATEWAY_GC_OPTIONS, RSS_SAMPLES, heap, highestPerConnection, liveRss, perConnection, rss, settledBaseline, settledMemory } from './memory.js';

const WANTED = 100_000;
/** the smaller of the two sizes memory is read at */
const SMALL = 5_000;
const PER_LOAD_PROCESS = 10_000;
/** the goal, in bytes */
const GOAL_BYTES = 20_000;

export const connections: Figure = async (ctx) => {
  const ev = await venueEvent(ctx, 'conns', 1_000);
  // one process holds at most its open-file limit of sockets
  const count = Math.min(WANTED, perProcessConnections(ctx));
  const gateway = await benchGateway(ctx, GATEWAY_GC_OPTIONS);
  const fleet = Fleet.start(Math.ceil(count / PER_LOAD_PROCESS));
  const open = (n: number, concurrency: number) =>
    fleet.open({ kind: 'gateway', url: gateway.wsUrl, ev, count: n, token: token(ctx, 'viewer', 'seats:read'), sampleEvery: 0, concurrency });
  try {
    // the room loaded and the runtime warm, so that the growth is the connections'
    const warm = await open(fleet.pids.length, 1);
    const before = await settledBaseline(gateway, warm.opened);
    const first = await open(SMALL - warm.opened, 500);
    const small = await settledMemory(gateway, warm.opened + first.opened, Math.max);
    const rest = await open(count - SMALL, 500);
    const big = await settledMemory(gateway, small.connections + rest.opened, Math.max);
    const failed = warm.failed + first.failed + rest.failed;
    const retried = warm.retried + first.retried + rest.retried;
    const connectMs = first.ms + rest.ms;
    const slope = perConnection(small, big, liveRss);
    ctx.log(`connections: ${big.connections} in ${fmt(connectMs)} ms; RSS ${mib(before.rssBytes)} → ${mib(small.rssBytes)} → ${mib(big.rssBytes)}`);
    return {
      rows: [
        {
          figure: `gateway memory per subscribed connection (${fmt(big.connections)} on one process): slope from ${fmt(small.connections)} to ${fmt(big.connections)} of RSS less V8's unused heap`,
          value: kib(slope),
          detail:
            `RSS ${mib(before.rssBytes)} (${fmt(before.connections)} connections) → ${mib(small.rssBytes)} (${fmt(small.connections)}) → ${mib(big.rssBytes)} (${fmt(big.connections)}): ` +
            `${kib(perConnection(before, small, rss))} and ${kib(perConnection(before, big, rss))} per connection from the start, slope ${kib(perConnection(small, big, rss))}; ` +
            `JS heap in use ${mib(before.heapBytes)} → ${mib(small.heapBytes)} → ${mib(big.heapBytes)} (slope ${kib(perConnection(small, big, heap))}), V8 heap committed ${mib(before.heapCommittedBytes)} → ${mib(small.heapCommittedBytes)} → ${mib(big.heapCommittedBytes)}; ` +
            `each reading after a forced full collection, lowest RSS of ${RSS_SAMPLES} samples before, highest after; ` +
            `${failed} failed (${retried} connected on a retry after a dropped handshake); ${WANTED.toLocaleString('en-US')} wanted, ${fmt(ctx.fileLimit)} open files allowed per process here`,
          goal: '< 20 KB',
          met: highestPerConnection(before, small, big) < GOAL_BYTES,
        },
        {
          figure: `time to connect and subscribe ${fmt(big.connections)} connections`,
          value: `${fmt(connectMs / 1000, 1)} s`,
          detail: `${fmt((first.opened + rest.opened) / (connectMs / 1000))} connections/s (JWT check, hello, sub, 1,000-seat snapshot), 500 at a time per load process, ${fleet.pids.length} load processes`,
          goal: '',
          met: null,
        },
      ],
      limits: [memoryLimits(before, small, big)],
    };
  } finally {
    await fleet.stop();
    await gateway.stop();
  }
};
