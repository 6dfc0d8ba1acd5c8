/**
 * The gateway's memory, read so that the garbage collector's timing does not
 * show: RSS moves with it by more than thousands of connections add, so each
 * reading follows a forced full collection (the gateway is started with
 * GATEWAY_GC_OPTIONS) and a settle period, and takes several samples.
 */
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { processRssBytes, type GatewayProcess } from '../../loadtest/node/gateway-process.js';
import { scrapeGateway } from '../load/gateway-metrics.js';
import { sleep } from './context.js';

const GC_ON_SIGNAL = path.join(path.dirname(fileURLToPath(import.meta.url)), '../load/gc-on-signal.cjs');
const SETTLE_MS = 2_000;
export const RSS_SAMPLES = 6;

/** Environment for a gateway whose memory is read: SIGUSR2 runs a full collection. */
export const GATEWAY_GC_OPTIONS = { NODE_OPTIONS: `${process.env.NODE_OPTIONS ?? ''} --expose-gc --require ${GC_ON_SIGNAL}`.trim() };

export interface MemoryReading {
  connections: number;
  rssBytes: number;
  /** JS heap in use, and committed by V8 (used or not), from the gateway's /metrics */
  heapBytes: number;
  heapCommittedBytes: number;
}

/** Memory after a full collection and a settle period: `pick` (Math.min or Math.max) of several RSS samples. */
export async function settledMemory(gateway: GatewayProcess, connections: number, pick: (a: number, b: number) => number): Promise<MemoryReading> {
  gateway.child.kill('SIGUSR2');
  await sleep(SETTLE_MS);
  const metric = await scrapeGateway(gateway.httpUrl);
  const heapBytes = metric(/^seatmap_process_nodejs_heap_size_used_bytes /);
  const heapCommittedBytes = metric(/^seatmap_process_nodejs_heap_size_total_bytes /);
  let rssBytes = processRssBytes(gateway.pid);
  for (let i = 1; i < RSS_SAMPLES; i++) {
    await sleep(500);
    rssBytes = pick(rssBytes, processRssBytes(gateway.pid));
  }
  return { connections, rssBytes, heapBytes, heapCommittedBytes };
}

/**
 * Just after it starts, the gateway is still loading (its heap falls by tens
 * of MiB over the first collections): the baseline is the first reading
 * whose heap is within 1 MiB of the one before.
 */
export async function settledBaseline(gateway: GatewayProcess, connections: number): Promise<MemoryReading> {
  let reading = await settledMemory(gateway, connections, Math.min);
  for (let i = 0; i < 5; i++) {
    const next = await settledMemory(gateway, connections, Math.min);
    const settled = Math.abs(next.heapBytes - reading.heapBytes) < 2 ** 20;
    reading = next;
    if (settled) break;
  }
  return reading;
}

export type Measure = (r: MemoryReading) => number;
export const rss: Measure = (r) => r.rssBytes;
export const heap: Measure = (r) => r.heapBytes;
/** RSS less the heap V8 has committed but not used: the process without the collector's headroom, which moves by tens of MiB. */
export const liveRss: Measure = (r) => r.rssBytes - r.heapCommittedBytes + r.heapBytes;

/** Bytes per connection between two readings. */
export const perConnection = (from: MemoryReading, to: MemoryReading, measure: Measure) => (measure(to) - measure(from)) / (to.connections - from.connections);

/** The highest of the ways of reading the cost of a connection: no reading may pass a goal, not only the headline's. */
export const highestPerConnection = (before: MemoryReading, small: MemoryReading, big: MemoryReading) =>
  Math.max(perConnection(small, big, liveRss), perConnection(small, big, rss), perConnection(before, small, rss), perConnection(before, big, rss));
