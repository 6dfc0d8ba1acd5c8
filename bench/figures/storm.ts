/**
 * Reconnect storm: N subscribed clients drop at once, changes happen, all
 * come back at once and resume with epoch+seq. Time until all are in sync,
 * and the Redis commands of the storm (this Redis is the benchmark's own), at
 * two sizes: the count must not grow with the clients.
 */
import { Fleet } from '../load/fleet.js';
import { stateSum } from '../load/protocol.js';
import { benchGateway, fmt, perProcessConnections, sleep, token, venueEvent, type BenchContext, type Figure, type Row } from './context.js';

const WANTED = 20_000;
const PER_LOAD_PROCESS = 7_000;

/** Calls per command so far (INFO commandstats). */
async function commandCalls(ctx: BenchContext): Promise<Map<string, number>> {
  const info = String(await ctx.redis.call('INFO', 'commandstats'));
  return new Map([...info.matchAll(/^cmdstat_([^:]+):calls=(\d+)/gm)].map((m) => [m[1]!, Number(m[2])]));
}

/** The commands run between two readings, largest first (the second INFO call itself left out). */
function callsBetween(before: Map<string, number>, after: Map<string, number>): [string, number][] {
  const diff = [...after].map(([name, n]): [string, number] => [name, n - (before.get(name) ?? 0) - (name === 'info' ? 1 : 0)]);
  return diff.filter(([, n]) => n > 0).sort((a, b) => b[1] - a[1]);
}

async function storm(ctx: BenchContext, clients: number) {
  const ev = await venueEvent(ctx, 'storm', 20_000);
  const gateway = await benchGateway(ctx);
  const fleet = Fleet.start(Math.ceil(clients / PER_LOAD_PROCESS));
  try {
    await fleet.open({ kind: 'gateway', url: gateway.wsUrl, ev, count: clients, token: token(ctx, 'viewer', 'seats:read'), sampleEvery: 0, concurrency: 500 });
    await fleet.drop();
    await sleep(1000);
    for (let i = 0; i < 50; i++) await ctx.store.hold({ eventId: ev, holder: `h${i}`, seats: [i * 2, i * 2 + 1] });
    await sleep(300);
    const before = await commandCalls(ctx);
    const resumed = await fleet.resume();
    const byCommand = callsBetween(before, await commandCalls(ctx));
    const commands = byCommand.reduce((n, [, c]) => n + c, 0);
    const report = await fleet.report();
    const snap = (await ctx.store.snapshot(ev))!;
    const sum = stateSum(snap.status);
    const inSync = report.views.filter((v) => v.seq === snap.seq && v.sum === sum).length;
    ctx.log(`storm ${clients}: ${resumed.resumed} back in ${fmt(resumed.ms)} ms, ${inSync} in sync, ${commands} Redis commands`);
    return { clients, ms: resumed.ms, resumed: resumed.resumed, inSync, commands, byCommand };
  } finally {
    await fleet.stop();
    await gateway.stop();
  }
}

export const reconnectStorm: Figure = async (ctx) => {
  const clients = Math.min(WANTED, perProcessConnections(ctx));
  const small = await storm(ctx, Math.round(clients / 4));
  const big = await storm(ctx, clients);
  const rows: Row[] = [
    {
      figure: `reconnect storm: ${fmt(big.clients)} clients drop and resume together (500 reconnects in flight per load process); time until all in sync`,
      value: `${fmt(big.ms / 1000, 2)} s`,
      detail: `${fmt(big.inSync)}/${fmt(big.clients)} equal to Redis afterwards (${fmt(small.clients)} clients: ${fmt(small.ms / 1000, 2)} s)`,
      goal: '',
      met: big.inSync === big.clients,
    },
    {
      figure: 'reconnect storm: Redis commands during the storm',
      value: `${fmt(big.commands)} (${fmt(big.clients)} clients) vs ${fmt(small.commands)} (${fmt(small.clients)})`,
      detail: `every command Redis ran while the clients resumed: ${fmt((big.commands / big.ms) * 1000)}/s over ${fmt(big.ms / 1000, 1)} s vs ${fmt((small.commands / small.ms) * 1000)}/s over ${fmt(small.ms / 1000, 1)} s ; by command (${fmt(big.clients)} clients): ${big.byCommand.map(([name, n]) => `${name} ${fmt(n)}`).join(', ')} — timers (the expiry sweeper, room checks, the booking flusher's reads, the lost-event check), none per client`,
      goal: 'does not grow with the clients',
      // the timers' commands (sweeper every 200 ms, room checks) grow with the storm's duration, not with the clients
      met: big.commands / big.ms <= (2 * small.commands) / small.ms + 0.02,
    },
  ];
  return { rows };
};
