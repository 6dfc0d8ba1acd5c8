/**
 * Benchmark (not a test): the demo seat map on a 100,000-seat venue in
 * headless Chromium. Reports the time to the first full render of every seat
 * and the time to apply one diff (SDK apply + counts + canvas), measured
 * inside the page with performance.now(), and how long the page's main
 * thread was blocked while diffs streamed in. Writes docs/bench/page.md.
 *
 *   npm run bench:page [-- --seats 100000 --loads 5 --singles 200 --bursts 20 --burst-seats 500]
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import { parseArgs } from 'node:util';
import type { Browser, JSHandle, Page } from 'playwright-core';
import { pino } from 'pino';
import { createEventFromLayout } from '../core/events.js';
import { deleteKeysByPrefix } from '../core/store/index.js';
import { DEV_JWT_SECRET } from '../gateway/auth.js';
import { FAIRNESS_LIMITS_OFF, loadConfig } from '../gateway/config.js';
import type { DemoHandle } from '../gateway/demo/handle.js';
import { startGatewayNode } from '../gateway/node.js';
import { chromiumAvailable, chromiumPath, launchChromium } from '../scripts/chromium.js';
import { generateVenue } from '../core/layout/generate-venue.js';

const { values: args } = parseArgs({
  options: {
    seats: { type: 'string', default: '100000' },
    loads: { type: 'string', default: '5' },
    singles: { type: 'string', default: '200' },
    bursts: { type: 'string', default: '20' },
    'burst-seats': { type: 'string', default: '500' },
    out: { type: 'string', default: 'docs/bench/page.md' },
  },
});
const SEATS = Number(args.seats);
const LOADS = Number(args.loads);
const SINGLES = Number(args.singles);
const BURSTS = Number(args.bursts);
const BURST_SEATS = Number(args['burst-seats']);
const EVENT = 'page-bench';
const VIEWPORT = { width: 1440, height: 900 };
/** seats per hold: the event's default per-token limit */
const SEATS_PER_HOLD = 10;

interface LoadRun {
  layoutAt: number;
  snapshotAt: number;
  firstRenderAt: number;
  fullRenderMs: number;
}

interface DiffPhase {
  name: string;
  diffs: number;
  /** seats changed by each diff (a burst may be split over two ticks) */
  seatsPerDiff: number[];
  applyMs: number[];
  /** longest gap between two animation frames while the phase ran */
  maxFrameGapMs: number;
  /** main-thread tasks over 50 ms while the phase ran */
  longTasks: number;
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));
const round = (v: number, digits = 1) => Number(v.toFixed(digits));

function percentile(values: number[], p: number): number {
  if (values.length === 0) return NaN;
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)]!;
}

const median = (values: number[]) => percentile(values, 50);

async function openDemo(browser: Browser, url: string): Promise<{ page: Page; demo: JSHandle<DemoHandle> }> {
  const context = await browser.newContext({ viewport: VIEWPORT });
  const page = await context.newPage();
  page.on('pageerror', (err) => console.error('page error:', err));
  await page.goto(url);
  const demo = (await page.waitForFunction(() => {
    const handle = (globalThis as unknown as { seatmapDemo?: DemoHandle }).seatmapDemo;
    return handle?.ready ? handle : null;
  }, null, { timeout: 120_000 })) as JSHandle<DemoHandle>;
  return { page, demo };
}

/** Starts recording frame gaps and long tasks in the page; the returned function stops and reads them. */
async function watchMainThread(page: Page): Promise<() => Promise<{ maxFrameGapMs: number; longTasks: number }>> {
  // a string, not a function: tsx would wrap the inner function in a helper the page does not have
  await page.evaluate(`(() => {
    const watch = (globalThis.benchWatch = { maxGap: 0, longTasks: 0, stop: false });
    let last = performance.now();
    const frame = (now) => {
      watch.maxGap = Math.max(watch.maxGap, now - last);
      last = now;
      if (!watch.stop) requestAnimationFrame(frame);
    };
    requestAnimationFrame(frame);
    new PerformanceObserver((list) => (watch.longTasks += list.getEntries().length)).observe({ type: 'longtask' });
  })()`);
  return () =>
    page.evaluate(() => {
      const watch = (globalThis as unknown as { benchWatch: { maxGap: number; longTasks: number; stop: boolean } }).benchWatch;
      watch.stop = true;
      return { maxFrameGapMs: watch.maxGap, longTasks: watch.longTasks };
    });
}

async function main(): Promise<void> {
  if (!chromiumAvailable()) {
    console.error(`no Chromium at ${chromiumPath()} (apt-get install chromium, or set CHROMIUM_PATH)`);
    process.exit(1);
  }
  const prefix = `bench-page:${process.pid}:`;
  const config = loadConfig({
    ...process.env,
    ...FAIRNESS_LIMITS_OFF,
    KEY_PREFIX: prefix,
    PORT: '0',
    DEMO: '0',
    JWT_SECRET: DEV_JWT_SECRET,
    LOG_LEVEL: 'warn',
    REDIS_CONNECTIONS: '2',
  });
  const node = await startGatewayNode({ config, logger: pino({ level: 'warn' }), demoLayout: () => generateVenue({ seats: 100, seed: 1 }), defaultMetrics: false });
  const base = `http://127.0.0.1:${node.port}`;
  let browser: Browser | null = null;
  try {
    const created = await createEventFromLayout(node.store, EVENT, generateVenue({ seats: SEATS, seed: 1, name: `Bench Arena ${SEATS.toLocaleString('en')}` }));
    if (!created.ok) throw new Error(`cannot create the venue: ${created.code}`);
    // the bundle and the layout's JSON are built once per process; users meet them warm
    await (await fetch(`${base}/`)).text();
    const layoutBytes = (await (await fetch(`${base}/events/${EVENT}`, { headers: { 'accept-encoding': 'gzip' } })).arrayBuffer()).byteLength;

    browser = await launchChromium();
    const url = `${base}/?event=${EVENT}`;

    console.log(`${SEATS.toLocaleString('en')} seats; ${LOADS} page loads`);
    const loads: LoadRun[] = [];
    for (let i = 0; i < LOADS; i++) {
      const { page, demo } = await openDemo(browser, url);
      const m = await demo.evaluate((d) => d.metrics);
      loads.push({ layoutAt: m.layoutAt!, snapshotAt: m.snapshotAt!, firstRenderAt: m.firstRenderAt!, fullRenderMs: m.fullRenderMs.at(-1)! });
      await page.context().close();
    }

    const { page, demo } = await openDemo(browser, url);
    const free = shuffled(SEATS);
    let holder = 0;
    const phases: DiffPhase[] = [];

    const runPhase = async (name: string, seatsPerDiff: number, diffs: number, pauseMs: number) => {
      const before = await demo.evaluate((d) => d.metrics.diffApplyMs.length);
      const stop = await watchMainThread(page);
      for (let i = 0; i < diffs; i++) {
        const seats = free.splice(0, seatsPerDiff);
        const holds: Promise<unknown>[] = [];
        for (let k = 0; k < seats.length; k += SEATS_PER_HOLD) {
          holds.push(node.store.hold({ eventId: EVENT, holder: `bench-${holder++}`, seats: seats.slice(k, k + SEATS_PER_HOLD) }));
        }
        await Promise.all(holds);
        await sleep(pauseMs);
      }
      await sleep(500); // the last diffs arrive
      const thread = await stop();
      const { applyMs, seats } = await demo.evaluate((d, from) => ({ applyMs: d.metrics.diffApplyMs.slice(from), seats: d.metrics.diffSeats.slice(from) }), before);
      phases.push({ name, diffs: applyMs.length, seatsPerDiff: seats, applyMs, ...thread });
      console.log(`${name}: ${applyMs.length} diffs, median ${median(applyMs).toFixed(2)} ms`);
    };
    // one seat per diff, spaced out so that each change travels alone (tick 50 ms)
    await runPhase('single holds', 1, SINGLES, 80);
    // many holds at once: the gateway coalesces them into one big diff per tick
    await runPhase(`bursts of ${BURST_SEATS} seats`, BURST_SEATS, BURSTS, 250);

    const machine = {
      cpu: os.cpus()[0]?.model ?? 'unknown',
      cores: os.cpus().length,
      node: process.version,
      chromium: browser.version(),
      date: new Date().toISOString().slice(0, 10),
      load: os.loadavg()[0]!.toFixed(2),
    };
    const report = render({ loads, phases, layoutBytes, machine });
    console.log(`\n${report}`);
    mkdirSync('docs/bench', { recursive: true });
    writeFileSync(args.out!, report);
    console.log(`written to ${args.out}`);
  } finally {
    await browser?.close();
    await node.stop();
    const { Redis } = await import('ioredis');
    const redis = new Redis(config.redisUrl);
    await deleteKeysByPrefix(redis, prefix);
    await redis.quit();
  }
}

/** 0..n-1 in random order. */
function shuffled(n: number): number[] {
  const a = Array.from({ length: n }, (_, i) => i);
  for (let i = n - 1; i > 0; i--) {
    const j = Math.floor(Math.random() * (i + 1));
    [a[i], a[j]] = [a[j]!, a[i]!];
  }
  return a;
}

function render(r: { loads: LoadRun[]; phases: DiffPhase[]; layoutBytes: number; machine: Record<string, string | number> }): string {
  const lines: string[] = [];
  const ms = (v: number) => `${round(v)} ms`;
  lines.push('# Demo page on a large venue');
  lines.push('');
  lines.push('Produced by `npm run bench:page` (`bench/page-render.ts`): a generated');
  lines.push(`${SEATS.toLocaleString('en')}-seat venue, the gateway in the benchmark's process on the local`);
  lines.push('Redis, the demo page in headless Chromium (software rendering, `--disable-gpu`),');
  lines.push(`viewport ${VIEWPORT.width}×${VIEWPORT.height}. Times are measured inside the page with \`performance.now()\``);
  lines.push('(`window.seatmapDemo.metrics`). Not a test: numbers vary with the machine and its load.');
  lines.push('');
  lines.push(`Machine: ${r.machine.cores} × ${r.machine.cpu}, Node ${r.machine.node}, Chromium ${r.machine.chromium}, load average ${r.machine.load} at the end, ${r.machine.date}.`);
  lines.push('');
  lines.push('## Time to first full render');
  lines.push('');
  lines.push(`From navigation start; median of ${r.loads.length} page loads, each in a fresh browser context (the layout is ${(r.layoutBytes / 1024).toFixed(0)} KiB gzipped).`);
  lines.push('');
  lines.push('| milestone | median | min | max |');
  lines.push('| --- | ---: | ---: | ---: |');
  const row = (name: string, values: number[]) => lines.push(`| ${name} | ${ms(median(values))} | ${ms(Math.min(...values))} | ${ms(Math.max(...values))} |`);
  row('layout fetched and parsed', r.loads.map((l) => l.layoutAt));
  row('first snapshot received', r.loads.map((l) => l.snapshotAt));
  row('**every seat drawn**', r.loads.map((l) => l.firstRenderAt));
  row('of which the full render itself', r.loads.map((l) => l.fullRenderMs));
  lines.push('');
  lines.push('## Applying a diff');
  lines.push('');
  lines.push('Per diff, from the decoded frame to its seats redrawn: the SDK applies it to its');
  lines.push('copy (protocol rules, counts per category), the page redraws the changed seats on');
  lines.push('the canvas. Changes are holds made directly in the store by the benchmark.');
  lines.push('Frame gap: the longest time between two animation frames while the diffs');
  lines.push('streamed in (16.7 ms is a smooth 60 Hz); long tasks: main-thread tasks over 50 ms.');
  lines.push('');
  lines.push('| phase | diffs | seats per diff (median / max) | median | p95 | p99 | max | longest frame gap | long tasks |');
  lines.push('| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |');
  for (const p of r.phases) {
    lines.push(
      `| ${p.name} | ${p.diffs} | ${median(p.seatsPerDiff)} / ${Math.max(...p.seatsPerDiff)} | ${ms(median(p.applyMs))} | ${ms(percentile(p.applyMs, 95))} | ${ms(percentile(p.applyMs, 99))} | ${ms(Math.max(...p.applyMs))} | ${ms(p.maxFrameGapMs)} | ${p.longTasks} |`,
    );
  }
  lines.push('');
  lines.push('Chromium rounds `performance.now()` to 0.1 ms in pages that are not cross-origin');
  lines.push('isolated, so 0.1 ms here means "at most about 0.1 ms".');
  lines.push('');
  return `${lines.join('\n')}\n`;
}

main().then(
  () => process.exit(0),
  (err: unknown) => {
    console.error(err);
    process.exit(1);
  },
);

