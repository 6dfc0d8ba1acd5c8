/**
 * Micro-benchmark (not a test) of the bulk for-sale rules and the box office,
 * at the seat store (Redis only, no Postgres: the durable commit a booking
 * waits for is the same for both ways of booking):
 *
 * 1. blocking a whole venue in one bulk call (blockBulk-3.lua) against the
 *    same seats in seat-by-seat calls of 1,000 (block-3.lua), then unblocking;
 * 2. availability per section and category with the largest free blocks
 *    (countAvailability) over the venue's status, as GET /availability does;
 * 3. the box office's direct book of free seats (bookFree-5.lua, one round
 *    trip) against hold + book of the same seats (two), from concurrent callers.
 *
 *   npm run bench:box-office [-- --seats 100000 --sales 4000 --callers 32]
 *
 * Needs REDIS_URL (scripts/with-services.ts sets it). Keys live under a
 * random `bench:<hex>:` prefix, deleted at the end. Prints each figure and
 * the ratios, with the absolute numbers beside them.
 */
import { randomBytes } from 'node:crypto';
import { parseArgs } from 'node:util';
import { Redis } from 'ioredis';
import { compileLayout, countAvailability, generateVenue, parseLayout } from '../core/layout/index.js';
import { createEventFromLayout } from '../core/events.js';
import { SeatStore, deleteKeysByPrefix } from '../core/store/internal.js';

const { values: opts } = parseArgs({
  options: {
    seats: { type: 'string', default: '100000' },
    sales: { type: 'string', default: '4000' },
    callers: { type: 'string', default: '32' },
  },
});
const SEATS = Number(opts.seats);
const SALES = Number(opts.sales);
const CALLERS = Number(opts.callers);
const SEATS_PER_SALE = 2;

const redis = new Redis(process.env.REDIS_URL ?? 'redis://127.0.0.1:6379');
const prefix = `bench:${randomBytes(4).toString('hex')}:`;
const store = new SeatStore({ redis, prefix });

const ms = (from: bigint) => Number(process.hrtime.bigint() - from) / 1e6;
const fmt = (n: number, digits = 1) => n.toLocaleString('en-US', { maximumFractionDigits: digits });

async function venueEvent(eventId: string, seats: number, settings?: Record<string, number>) {
  const layout = generateVenue({ seats, seed: 3, name: eventId });
  if (settings) (layout as { settings?: unknown }).settings = settings;
  const created = await createEventFromLayout(store, eventId, layout);
  if (!created.ok) throw new Error(`cannot create ${eventId}: ${created.code}`);
  return compileLayout(parseLayout(layout));
}

async function bulkBlock(): Promise<void> {
  await venueEvent('bulk', SEATS);
  const all = Array.from({ length: SEATS }, (_, i) => i);
  let t = process.hrtime.bigint();
  const bulk = await store.setStatesBulk('block', 'bulk', all);
  const bulkMs = ms(t);
  if (!bulk.ok || bulk.changed.length !== SEATS) throw new Error(`bulk block: ${JSON.stringify(bulk).slice(0, 200)}`);
  t = process.hrtime.bigint();
  const unbulk = await store.setStatesBulk('unblock', 'bulk', all);
  const unbulkMs = ms(t);
  if (!unbulk.ok || unbulk.changed.length !== SEATS) throw new Error('bulk unblock failed');
  const entryBytes = (await redis.xrevrangeBuffer(store.keys('bulk').log, '+', '-', 'COUNT', 1))[0]![1][3]!.length;

  t = process.hrtime.bigint();
  for (let i = 0; i < SEATS; i += 1000) {
    const r = await store.block('bulk', all.slice(i, i + 1000));
    if (!r.ok) throw new Error(`block: ${r.code}`);
  }
  const bySeatMs = ms(t);
  const calls = Math.ceil(SEATS / 1000);
  console.log(`\n1. Blocking all ${fmt(SEATS, 0)} seats of a venue`);
  console.log(`   bulk, one script:          ${fmt(bulkMs)} ms (unblock ${fmt(unbulkMs)} ms); its change-log entry ${fmt(entryBytes / 1024)} KiB`);
  console.log(`   seat by seat, ${calls} calls:   ${fmt(bySeatMs)} ms (${fmt(bySeatMs / calls, 2)} ms per call of 1,000)`);
  console.log(`   ratio seat-by-seat / bulk:  ${fmt(bySeatMs / bulkMs, 2)}x`);
  console.log('   (a bulk call is one script: Redis serves nothing else for its duration)');
}

async function availability(): Promise<void> {
  const compiled = await venueEvent('avail', SEATS);
  const snap = (await store.snapshot('avail'))!;
  const status = new Uint8Array(snap.status);
  // a busy map: every third seat taken, so blocks are short and counters move
  for (let i = 0; i < status.length; i += 3) status[i] = 2;
  const runs = 50;
  countAvailability(status, compiled); // warm-up
  const times: number[] = [];
  for (let i = 0; i < runs; i++) {
    const t = process.hrtime.bigint();
    countAvailability(status, compiled);
    times.push(ms(t));
  }
  times.sort((a, b) => a - b);
  console.log(`\n2. Availability over ${fmt(SEATS, 0)} seats (${compiled.sections.length} sections, ${compiled.categories.length} categories)`);
  console.log(`   countAvailability: median ${fmt(times[runs >> 1]!, 2)} ms, p90 ${fmt(times[Math.floor(runs * 0.9)]!, 2)} ms over ${runs} runs`);
}

/** `SALES` sales of SEATS_PER_SALE adjacent seats each, from CALLERS concurrent callers; sales per second. */
async function sell(eventId: string, sale: (holder: string, seats: number[], key: string) => Promise<boolean>): Promise<number> {
  let next = 0;
  let failed = 0;
  const t = process.hrtime.bigint();
  await Promise.all(
    Array.from({ length: CALLERS }, async (_, c) => {
      for (let i = next++; i < SALES; i = next++) {
        const seats = Array.from({ length: SEATS_PER_SALE }, (_, k) => i * SEATS_PER_SALE + k);
        if (!(await sale(`till-${c}`, seats, `${eventId}-${i}`))) failed++;
      }
    }),
  );
  const seconds = ms(t) / 1000;
  if (failed > 0) throw new Error(`${eventId}: ${failed} sales refused`);
  return SALES / seconds;
}

async function boxOffice(): Promise<void> {
  const seats = SALES * SEATS_PER_SALE;
  const generous = { maxSeatsPerToken: SEATS_PER_SALE, maxSeatsPerHolder: 1000 };
  await venueEvent('direct', Math.max(seats, 100), generous);
  await venueEvent('held', Math.max(seats, 100), generous);
  const direct = await sell('direct', async (holder, s, key) => (await store.bookFree({ eventId: 'direct', holder, seats: s, key })).ok);
  const held = await sell('held', async (holder, s, key) => {
    const h = await store.hold({ eventId: 'held', holder, seats: s });
    return h.ok && (await store.book({ eventId: 'held', holder, token: h.token, key })).ok;
  });
  console.log(`\n3. Selling ${fmt(SALES, 0)} pairs of free seats, ${CALLERS} concurrent callers (Redis only)`);
  console.log(`   box office, bookFree:      ${fmt(direct, 0)} sales/s`);
  console.log(`   hold + book:               ${fmt(held, 0)} sales/s`);
  console.log(`   ratio bookFree / hold+book: ${fmt(direct / held, 2)}x`);
}

try {
  await bulkBlock();
  await availability();
  await boxOffice();
} finally {
  await deleteKeysByPrefix(redis, prefix);
  redis.disconnect();
}
