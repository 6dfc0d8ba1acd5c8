/**
 * The CPU one seat operation costs the server: µs of the server process's CPU
 * (/proc/<pid>/stat, user + kernel) per hold or release at a fixed offered
 * rate, half holds and half their releases a second later, from driver
 * connections in the benchmark's process, no watcher subscribed. The gateway
 * (MessagePack in, one hold or release script, the reply, the holder's `tok` /
 * `tokend` notice) beside the Socket.IO baseline (a JSON message in, the same
 * store script, a reply, the diff emitted through its Redis adapter). Each
 * variant runs twice, after a warm-up; the load average is shown beside it,
 * since the machine is shared. A lone hold's round trip, with nothing else
 * running, is timed on the gateway: batching must not make it slower.
 */
import { loadavg } from 'node:os';
import { bullet } from '../performance-notes.js';
import { summarizeTrend } from '../../loadtest/node/metrics.js';
import type { GatewayProcess } from '../../loadtest/node/gateway-process.js';
import { drive, gatewayOps, socketIoOps } from '../load/driver.js';
import { cpuSeconds, processUsage, usageSince } from '../load/process-stats.js';
import { benchGateway, fmt, sleep, socketIoBaseline, token, venueEvent, type BenchContext, type Figure, type Row } from './context.js';
import type { ServerKind } from './fanout-run.js';

const SEATS = 20_000;
/** offered operations a second: holds and their releases together */
export const OP_RATES = [1_000, 10_000];
const SECONDS = 6;
const WARM_UP_SECONDS = 2;
const HOLD_MS = 1000;
/** driver connections, each its own holder; an operation goes to the connection of its seat */
const CONNECTIONS = 4;
const RUNS = 2;
const LONE_HOLDS = 300;

type Ops = Awaited<ReturnType<typeof gatewayOps>>;

export interface OpCostRun {
  kind: ServerKind;
  offered: number;
  /** operations answered (holds and releases) */
  ops: number;
  refused: number;
  /** answered operations a second, from the first hold until the last release was answered */
  achieved: number;
  cpuS: number;
  systemS: number;
  usPerOp: number;
  /** the server's CPU a second with its connections open and no operation (timers, sweeps), measured before the rate's runs */
  idleCores: number;
  /** usPerOp less the idle CPU over the run's time: what the operations themselves cost */
  marginalUsPerOp: number;
  load: number;
}

const IDLE_SECONDS = 3;

/** The server's CPU a second over IDLE_SECONDS with nothing asked of it. */
async function idleCores(server: GatewayProcess): Promise<number> {
  const before = processUsage(server.pid);
  await sleep(IDLE_SECONDS * 1000);
  return cpuSeconds(usageSince(server.pid, before)) / IDLE_SECONDS;
}

/** One operation set spread over connections by seat: a seat's release goes to the connection (holder) that held it. */
function spread(conns: Ops[]): Ops {
  const of = (seat: number) => conns[seat % conns.length]!;
  return {
    hold: (seat) => of(seat).hold(seat),
    release: (seat, tok) => of(seat).release(seat, tok),
    close: () => conns.forEach((c) => c.close()),
  };
}

async function openOps(ctx: BenchContext, kind: ServerKind, server: GatewayProcess, ev: string): Promise<Ops> {
  const conns = await Promise.all(
    Array.from({ length: CONNECTIONS }, (_, i) => (kind === 'gateway' ? gatewayOps(server.wsUrl, token(ctx, `op-driver-${i}`), ev) : socketIoOps(server.httpUrl, ev))),
  );
  return spread(conns);
}

async function measure(kind: ServerKind, server: GatewayProcess, ops: Ops, offered: number, idle: number): Promise<OpCostRun> {
  const rate = offered / 2; // a hold and its release
  const before = processUsage(server.pid);
  const started = performance.now();
  const driven = await drive(ops, { rate, seconds: SECONDS, seats: SEATS, holdMs: HOLD_MS });
  const seconds = (performance.now() - started) / 1000;
  const used = usageSince(server.pid, before);
  const answered = driven.holds + (driven.holds - driven.refused);
  const cpuS = cpuSeconds(used);
  return {
    kind,
    offered,
    ops: answered,
    refused: driven.refused,
    achieved: answered / seconds,
    cpuS,
    systemS: used.systemS,
    usPerOp: (cpuS / answered) * 1e6,
    idleCores: idle,
    marginalUsPerOp: (Math.max(0, cpuS - idle * seconds) / answered) * 1e6,
    load: loadavg()[0]!,
  };
}

/** Every rate RUNS times on one server process, each after a warm-up at that rate. */
async function runServer(ctx: BenchContext, kind: ServerKind): Promise<OpCostRun[]> {
  const ev = await venueEvent(ctx, `opcost-${kind}`, SEATS);
  const server = kind === 'gateway' ? await benchGateway(ctx) : await socketIoBaseline(ctx);
  const ops = await openOps(ctx, kind, server, ev);
  const runs: OpCostRun[] = [];
  try {
    for (const offered of OP_RATES) {
      await drive(ops, { rate: offered / 2, seconds: WARM_UP_SECONDS, seats: SEATS, holdMs: HOLD_MS });
      const idle = await idleCores(server);
      for (let i = 0; i < RUNS; i++) {
        await sleep(500);
        const run = await measure(kind, server, ops, offered, idle);
        ctx.log(
          `op-cost ${kind} ${fmt(offered)} ops/s: ${fmt(run.usPerOp, 1)} µs/op, ${fmt(run.marginalUsPerOp, 1)} over idle (${fmt(idle, 3)} cores idle; ${fmt(run.achieved)} ops/s answered, load ${fmt(run.load, 2)})`,
        );
        runs.push(run);
      }
    }
  } finally {
    ops.close();
    await server.stop();
  }
  return runs;
}

/** Round trips of lone holds (and their releases, untimed) on one connection, one at a time, nothing else running. */
async function loneHolds(ctx: BenchContext): Promise<{ holds: number[]; load: number }> {
  const ev = await venueEvent(ctx, 'opcost-lone', SEATS);
  const server = await benchGateway(ctx);
  const ops = await gatewayOps(server.wsUrl, token(ctx, 'op-lone'), ev);
  const holds: number[] = [];
  try {
    for (let i = 0; i < LONE_HOLDS + 50; i++) {
      const started = performance.now();
      const r = await ops.hold(i);
      const ms = performance.now() - started;
      if (i >= 50) holds.push(ms); // the first 50 warm up
      if (r.ok) await ops.release(i, r.tok!);
      await sleep(2);
    }
  } finally {
    ops.close();
    await server.stop();
  }
  return { holds, load: loadavg()[0]! };
}

const mean = (xs: number[]) => xs.reduce((a, b) => a + b, 0) / Math.max(1, xs.length);

function costRow(offered: number, gw: OpCostRun[], io: OpCostRun[]): Row {
  const g = mean(gw.map((r) => r.usPerOp));
  const s = mean(io.map((r) => r.usPerOp));
  const side = (name: string, runs: OpCostRun[]) =>
    `${name} ${runs.map((r) => fmt(r.usPerOp, 1)).join(' and ')} µs, ${runs.map((r) => fmt(r.marginalUsPerOp, 1)).join(' and ')} µs over its idle ${fmt(1000 * runs[0]!.idleCores)} ms of CPU a second ` +
    `(${runs.map((r) => `${fmt(r.achieved)} ops/s answered, ${fmt((100 * r.systemS) / r.cpuS)}% kernel, load ${fmt(r.load, 2)}`).join('; ')})`;
  return {
    figure: `server CPU per seat operation at ${fmt(offered)} ops/s offered (holds + their releases, ${CONNECTIONS} connections, no watchers): gateway vs Socket.IO baseline`,
    value: `${fmt(g, 1)} µs vs ${fmt(s, 1)} µs`,
    detail: `mean of ${RUNS} runs of ${SECONDS} s: ${side('gateway', gw)}; ${side('Socket.IO', io)}; the Socket.IO baseline spends ${fmt(s / g, 2)}× the gateway's CPU per operation`,
    goal: '',
    met: null,
  };
}

export const opCost: Figure = async (ctx) => {
  const gateway = await runServer(ctx, 'gateway');
  const socketio = await runServer(ctx, 'socketio');
  const lone = await loneHolds(ctx);
  const d = summarizeTrend(lone.holds);
  const rows = OP_RATES.map((offered) =>
    costRow(
      offered,
      gateway.filter((r) => r.offered === offered),
      socketio.filter((r) => r.offered === offered),
    ),
  );
  rows.push({
    figure: 'a lone hold’s round trip (one connection, one hold at a time, nothing else running)',
    value: `${fmt(d.med, 2)} ms p50`,
    detail: `${fmt(d.count)} holds: p90 ${fmt(d['p(90)'], 2)} ms, p99 ${fmt(d['p(99)'], 2)} ms, max ${fmt(d.max, 2)} ms; load ${fmt(lone.load, 2)}`,
    goal: '',
    met: null,
  });
  return { rows, limits: [opCostLimits(gateway, socketio)] };
};

/** What the cost of one seat operation is made of, from the op-cost runs. */
function opCostLimits(gateway: readonly OpCostRun[], socketio: readonly OpCostRun[]): string {
  const at = (runs: readonly OpCostRun[], offered: number) => runs.filter((r) => r.offered === offered);
  const mean = (runs: readonly OpCostRun[], f: (r: OpCostRun) => number) => runs.reduce((a, r) => a + f(r), 0) / Math.max(1, runs.length);
  const rates = [...new Set(gateway.map((r) => r.offered))].sort((a, b) => a - b);
  const low = rates[0]!;
  const high = rates[rates.length - 1]!;
  const us = (runs: readonly OpCostRun[]) => mean(runs, (r) => r.usPerOp);
  const kernel = (runs: readonly OpCostRun[]) => (100 * mean(runs, (r) => r.systemS)) / Math.max(1e-9, mean(runs, (r) => r.cpuS));
  return bullet(
    `**Cost of one operation.** At ${fmt(low)} operations a second the gateway spent ${fmt(us(at(gateway, low)), 1)} µs of CPU on each ` +
      `(${fmt(kernel(at(gateway, low)))}% in the kernel), at ${fmt(high)} a second ${fmt(us(at(gateway, high)), 1)} µs (${fmt(kernel(at(gateway, high)))}% in the kernel); ` +
      `the Socket.IO baseline ${fmt(us(at(socketio, low)), 1)} µs and ${fmt(us(at(socketio, high)), 1)} µs. Neither server is busy when idle ` +
      `(${fmt(1000 * mean(at(gateway, low), (r) => r.idleCores))} ms of CPU a second for the gateway), and most of the cost is user time, ` +
      `so at a low rate it is the same work done in more pieces: each operation arrives in an event-loop turn of its own and pays alone ` +
      `for what a turn costs (the callbacks into JavaScript, the promise continuations, the script's write to Redis and the reply's write ` +
      `to the socket), on a machine whose two cores are shared (see the load beside each run), so that each turn starts with caches the ` +
      `other processes have taken. At a high rate the operations of one turn share them: one write to Redis per connection for their ` +
      `commands (auto-pipelining; a holder's operations go to one of REDIS_CONNECTIONS connections, so fewer share each write than on one ` +
      `connection) and one corked write per WebSocket for the replies and notices of the turn, so the figure falls with the rate. ` +
      `A V8 profile of the gateway at ${fmt(low)} a second puts about a third of its busy time in the calls that write to sockets ` +
      `(the script to Redis, the reply to the WebSocket, each with its system call; on loopback a write also does the receiving ` +
      `side's TCP work), ioredis's command objects at about a tenth and garbage collection at about a twentieth. Three costs per ` +
      `operation are gone: ioredis's defineCommand ` +
      `(every auto-pipelined batch copied each of the defined scripts onto its pipeline object; scripts now go as EVALSHA), the booking ` +
      `flusher's read of the outbox after every change (it listens to outbox signals now, so a hold or release does not wake it), and ` +
      `the PUBLISH of the holder's \`tok\` / \`tokend\` with its copy read back (a holder connected to this node only is told here, ` +
      `and nothing goes to Redis: docs/onsale.md). What is left beside the baseline's work is the holder's notice frame and, for a ` +
      `release of some seats, a read of the token. So both servers now pay about the same for an operation ` +
      `(${fmt(us(at(gateway, low)) / Math.max(1e-9, us(at(socketio, low))), 2)}× the baseline's at ${fmt(low)} a second, ` +
      `${fmt(us(at(gateway, high)) / Math.max(1e-9, us(at(socketio, high))), 2)}× at ${fmt(high)}): one script call and one reply each, ` +
      `whose writes to the sockets are the largest part of it. This is what bounds the fan-out comparison with 50 watchers: there the baseline's ` +
      `messages to its watchers are a minority of its CPU, so the ratio is about 1 + (the baseline's fan-out ÷ its operations), and ` +
      `5× would need the gateway's operations to cost a fifth of the baseline's, less than the script call and the reply cost ` +
      `either of them. With 300 watchers the baseline's fan-out dominates and the ratio passes 5×. The driver shares the two cores: at ${fmt(high)} offered it got ` +
      `${fmt(mean(at(gateway, high), (r) => r.achieved))} operations a second answered by the gateway and ${fmt(mean(at(socketio, high), (r) => r.achieved))} by the ` +
      `baseline, so the high rate's figures are for that many, with fewer operations per turn than the offered rate would bring.`,
  );
}
