/**
 * Holds per second end-to-end through the gateway (WebSocket request → Lua
 * script → reply), against redis-benchmark running the gateway's own hold
 * script (holdIndexed) on the same Redis: the limit Redis sets.
 */
import { randomBytes } from 'node:crypto';
import { SCRIPTS, eventKeys, globalKeys, loadScripts } from '../../core/store/internal.js';
import { processCpuSeconds } from '../../loadtest/node/gateway-process.js';
import { gatewayOps } from '../load/driver.js';
import { redisTarget, runRedisBenchmark } from '../redis-benchmark.js';
import { benchGateway, fmt, token, type Figure } from './context.js';

const SEATS = 4_000_000;
const RULES = { holdTtlMs: 3_600_000, maxHoldLifetimeMs: 7_200_000, maxSeatsPerToken: 1, maxSeatsPerHolder: 1_000_000 };
const CONNECTIONS = 32;
const IN_FLIGHT_PER_CONNECTION = 16;
const HOLDS = 120_000;
const RAND = '__rand_int__';

export const holds: Figure = async (ctx) => {
  const ev = `holds-${randomBytes(3).toString('hex')}`;
  const created = await ctx.store.createEvent({ eventId: ev, seatCount: SEATS, rules: RULES });
  if (!created.ok) throw new Error(`cannot create ${ev}: ${created.code}`);
  const gateway = await benchGateway(ctx);
  try {
    const conns = await Promise.all(Array.from({ length: CONNECTIONS }, (_, i) => gatewayOps(gateway.wsUrl, token(ctx, `holder-${i}`), ev)));
    const run = async (total: number) => {
      let issued = 0;
      const worker = async (c: (typeof conns)[number]) => {
        while (issued < total) {
          issued++;
          await c.hold(Math.floor(Math.random() * SEATS));
        }
      };
      const cpu = processCpuSeconds(gateway.pid);
      const started = performance.now();
      await Promise.all(conns.flatMap((c) => Array.from({ length: IN_FLIGHT_PER_CONNECTION }, () => worker(c))));
      return { seconds: (performance.now() - started) / 1000, cpu: processCpuSeconds(gateway.pid) - cpu };
    };
    await run(10_000); // warm-up: JIT, script cache, connections
    const through = await run(HOLDS);
    const gatewayRate = HOLDS / through.seconds;
    for (const c of conns) c.close();

    const keys = { ...eventKeys(ctx.prefix, ev), ...globalKeys(ctx.prefix) };
    const args: Record<string, string> = { now: '', holder: `h${RAND}`, token: `t${RAND}${RAND}`, create: '1', seats: RAND, eventId: ev, exempt: '0', ratePerSec: '0', rateBurst: '0' };
    const command = [
      'EVALSHA',
      loadScripts().get(SCRIPTS.holdIndexed.name)!.sha,
      String(SCRIPTS.holdIndexed.keys.length),
      ...SCRIPTS.holdIndexed.keys.map((k) => keys[k]),
      ...SCRIPTS.holdIndexed.args.map((a) => args[a]!),
    ];
    const limit = await runRedisBenchmark(redisTarget(ctx.redisUrl), { requests: 200_000, clients: 50, pipeline: 16, randomRange: SEATS, command });
    const ratio = gatewayRate / limit.rps;
    ctx.log(`holds: gateway ${fmt(gatewayRate)}/s, redis-benchmark ${fmt(limit.rps)}/s`);
    return {
      rows: [
        {
          figure: 'holds/s through the gateway ÷ redis-benchmark, same hold script',
          value: fmt(ratio, 2),
          detail: `${fmt(gatewayRate)} holds/s end-to-end (${CONNECTIONS} WebSockets × ${IN_FLIGHT_PER_CONNECTION} in flight, gateway CPU ${fmt(through.cpu / through.seconds, 2)} cores) vs ${fmt(limit.rps)}/s redis-benchmark -c 50 -P 16`,
          goal: '≥ 0.5',
          met: ratio >= 0.5,
        },
      ],
    };
  } finally {
    await gateway.stop();
    await ctx.store.deleteEvent(ev);
  }
};
