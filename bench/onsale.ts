/**
 * An on-sale measured end to end (npm run bench:onsale; a benchmark, not a
 * test; docs/onsale.md). Gateway processes share one port (REUSE_PORT), a
 * Redis of the benchmark's own (so its command counts are exact) and a fresh
 * Postgres database. An event with a waiting room (random-then-fifo, onSaleAt
 * a few seconds into the spike) gets ARRIVALS buyers within SPIKE_MS, each a
 * subject of its own behind a trusted proxy (its own X-Forwarded-For). Each
 * buyer watches the map, joins the queue, and once admitted holds 1-4
 * seats and books them or abandons them; some skip the
 * queue on purpose and try a hold first. Holds name seats the buyer sees
 * free (`--best 1`: best available, the store picks them; at this rate its
 * script makes Redis commands time out here, see docs/bench/onsale.md). The
 * buyers' decisions are
 * loadtest/lib/queue-buyer.js, which the k6 `queue` scenario shares.
 *
 * One process plays every buyer, on a machine it shares with the gateways:
 * so that it is not the bottleneck, a buyer waiting in the queue drops the
 * diffs it receives undecoded (the gateways still send them all) and, once
 * admitted, subscribes again for a fresh snapshot before it chooses seats.
 *
 *   npm run bench:onsale [-- --arrivals 2000 --spike-ms 10000 --nodes 2 --tick-ms 100]
 *
 * Reports, with the machine beside it, and writes docs/bench/onsale.md.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { openSync, readFileSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import os from 'node:os';
import { monitorEventLoopDelay } from 'node:perf_hooks';
import { parseArgs } from 'node:util';
import { Redis } from 'ioredis';
import pg from 'pg';
import WebSocket from 'ws';
import { SeatView, decodeServerMessage, encodeMessage, type ClientRequest, type ServerMessage } from '../core/protocol/index.js';
import { generateVenue } from '../core/layout/generate-venue.js';
import { mintDevToken } from '../gateway/auth.js';
import { bestHold, buyerPlan, chooseSeats, isDocumentedRefusal } from '../loadtest/lib/queue-buyer.js';
import { createTestDatabase } from '../scripts/services/index.js';

const { values: opts } = parseArgs({
  options: {
    arrivals: { type: 'string', default: '2000' },
    'spike-ms': { type: 'string', default: '10000' },
    nodes: { type: 'string', default: '2' },
    'seats-per-arrival': { type: 'string', default: '2' },
    'skip-share': { type: 'string', default: '0.05' },
    'book-share': { type: 'string', default: '0.8' },
    'admit-seconds': { type: 'string', default: '20' },
    'timeout-s': { type: 'string', default: '120' },
    /** the gateways' TICK_MS: diffs of a busy room go out at most once per tick */
    'tick-ms': { type: 'string', default: '100' },
    /** 1: holds are best available (the store picks the seats); 0 (default): named seats the buyer sees free */
    best: { type: 'string', default: '0' },
    write: { type: 'string', default: 'docs/bench/onsale.md' },
  },
});
const ARRIVALS = Number(opts.arrivals);
const SPIKE_MS = Number(opts['spike-ms']);
const NODES = Number(opts.nodes);
const SEATS = Math.max(100, Math.round(ARRIVALS * Number(opts['seats-per-arrival'])));
const SKIP_SHARE = Number(opts['skip-share']);
const BOOK_SHARE = Number(opts['book-share']);
/** admission sized so that every arrival could be admitted within this */
const ADMIT_PER_MINUTE = Math.ceil((ARRIVALS / Number(opts['admit-seconds'])) * 60);
const TIMEOUT_MS = Number(opts['timeout-s']) * 1000;
const SECRET = 'bench-onsale-secret-0123456789';
const EV = 'onsale';
const PREFIX = `benchonsale:${process.pid}:`;
const baseDatabaseUrl = process.env.DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/postgres';

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = createServer();
    s.once('error', reject);
    s.listen(0, '127.0.0.1', () => {
      const port = (s.address() as { port: number }).port;
      s.close(() => resolve(port));
    });
  });
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

async function waitUntil(check: () => Promise<boolean>, timeoutMs: number, what: string): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await check().catch(() => false))) {
    if (Date.now() > deadline) throw new Error(`${what} did not come up within ${timeoutMs} ms`);
    await sleep(100);
  }
}

/** utime + stime of a process, seconds (Linux /proc). */
function cpuSeconds(pid: number): number {
  const fields = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1]!.split(' ');
  return (Number(fields[11]) + Number(fields[12])) / 100;
}

async function redisCommands(redis: Redis): Promise<number> {
  const info = await redis.info('commandstats');
  let calls = 0;
  for (const m of info.matchAll(/calls=(\d+)/g)) calls += Number(m[1]);
  return calls;
}

interface Buyer {
  index: number;
  sub: string;
  arriveAt: number;
  skipper: boolean;
  /** ms from arrival to the first snapshot applied (a correct map) */
  mapMs?: number;
  joinedAt?: number;
  /** the state the queue reply named */
  joinState?: string;
  /** the place's score in Redis right after joining (arrival order of the fifo part) */
  score?: number;
  admittedAt?: number;
  /** the admission's end (server clock): the same for everyone of one admission step */
  admitUntil?: number;
  skipRefused?: string;
  seatsBooked: number;
  abandoned: boolean;
  soldOut: boolean;
  errors: string[];
  done: boolean;
  /** book answered PENDING this often before its outcome */
  pendings?: number;
}

const quantile = (xs: number[], q: number) => {
  if (xs.length === 0) return NaN;
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.floor(q * s.length))]!;
};

/** Spearman's rank correlation of two equally long lists. */
function spearman(xs: number[], ys: number[]): number {
  const rank = (v: number[]) => {
    const order = v.map((x, i) => [x, i] as const).sort((a, b) => a[0] - b[0]);
    const r = new Array<number>(v.length);
    order.forEach(([, i], k) => (r[i] = k));
    return r;
  };
  const rx = rank(xs);
  const ry = rank(ys);
  const n = xs.length;
  let d2 = 0;
  for (let i = 0; i < n; i++) d2 += (rx[i]! - ry[i]!) ** 2;
  return n < 2 ? NaN : 1 - (6 * d2) / (n * (n * n - 1));
}

async function main(): Promise<void> {
  const redisPort = await freePort();
  const redisServer = spawn('redis-server', ['--port', String(redisPort), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no'], { stdio: 'ignore' });
  const redisUrl = `redis://127.0.0.1:${redisPort}`;
  const redis = new Redis(redisUrl, { lazyConnect: true, maxRetriesPerRequest: 20 });
  const gateways: ChildProcess[] = [];
  if (!Number.isFinite(ARRIVALS) || ARRIVALS < 10) throw new Error('--arrivals must be at least 10');
  const db = await createTestDatabase(baseDatabaseUrl, 'seatmap_bench_onsale_');
  try {
    await waitUntil(async () => (await redis.connect().then(() => redis.ping()).catch(() => redis.ping())) === 'PONG', 10_000, 'redis-server');
    const port = await freePort();
    const env = {
      ...process.env,
      REDIS_URL: redisUrl,
      DATABASE_URL: db.url,
      KEY_PREFIX: PREFIX,
      HOST: '127.0.0.1',
      PORT: String(port),
      REUSE_PORT: '1',
      DEMO: '0',
      JWT_SECRET: SECRET,
      LOG_LEVEL: 'warn',
      TRUSTED_PROXIES: '127.0.0.1',
      ADMIT_INTERVAL_MS: '200',
      QUEUE_POLL_MS: '500',
      REDIS_CONNECTIONS: '2',
      TICK_MS: opts['tick-ms'],
      // the periodic check against Postgres (failover repair) compares a snapshot with bookings the flusher
      // commits after it, and at this rate takes the newer ones for lost writes and rebuilds the event
      // mid-sale; the benchmark turns it off (docs/bench/onsale.md)
      REBUILD_CHECK_MS: '0',
    };
    // the gateways' logs (warnings and errors) go to a file per process
    for (let i = 0; i < NODES; i++) {
      const log = openSync(`${os.tmpdir()}/bench-onsale-gateway-${i}.log`, 'w');
      gateways.push(spawn(process.execPath, ['--import', 'tsx', 'gateway/main.ts'], { env, stdio: ['ignore', log, log] }));
    }
    const httpUrl = `http://127.0.0.1:${port}`;
    await waitUntil(async () => (await fetch(`${httpUrl}/readyz`)).ok, 30_000, 'the gateways');
    await sleep(1000); // every process listening on the shared port
    const admin = await mintDevToken(SECRET, { sub: 'bench-admin', scope: 'admin' });
    const layout = generateVenue({ seats: SEATS, seed: 3, name: 'On-sale' });
    (layout as { settings?: unknown }).settings = { maxSeatsPerToken: 4, maxSeatsPerHolder: 4, holdTtlMs: 120_000, maxHoldLifetimeMs: 300_000 };
    const created = await fetch(`${httpUrl}/events`, { method: 'POST', headers: { authorization: `Bearer ${admin}`, 'content-type': 'application/json' }, body: JSON.stringify({ id: EV, layout }) });
    if (created.status !== 201) throw new Error(`event not created: ${created.status} ${await created.text()}`);

    const t0 = Date.now() + 1000;
    const onSaleAt = t0 + Math.round(SPIKE_MS * 0.3);
    const queue = await fetch(`${httpUrl}/events/${EV}/queue`, {
      method: 'PUT',
      headers: { authorization: `Bearer ${admin}`, 'content-type': 'application/json' },
      body: JSON.stringify({ onSaleAt, admitPerMinute: ADMIT_PER_MINUTE, order: 'random-then-fifo', admissionTtlMs: 120_000 }),
    });
    if (queue.status !== 201) throw new Error(`waiting room not set: ${queue.status} ${await queue.text()}`);

    let seed = 42;
    const random = () => ((seed = (Math.imul(seed, 1664525) + 1013904223) >>> 0) / 2 ** 32);
    const tokens = await Promise.all(Array.from({ length: ARRIVALS }, (_, i) => mintDevToken(SECRET, { sub: `buyer-${i}`, scope: 'seats:read seats:hold seats:book' })));
    const buyers: Buyer[] = Array.from({ length: ARRIVALS }, (_, i) => {
      const plan = buyerPlan(random, { skipShare: SKIP_SHARE, bookShare: BOOK_SHARE, maxSeats: 4 });
      return { index: i, sub: `buyer-${i}`, arriveAt: t0 + Math.floor(random() * SPIKE_MS), skipper: plan.skipper, seatsBooked: 0, abandoned: false, soldOut: false, errors: [], done: false, ...{ plan } } as Buyer & { plan: typeof plan };
    });

    const loopDelay = monitorEventLoopDelay({ resolution: 20 });
    loopDelay.enable();
    const cmdsBefore = await redisCommands(redis);
    const cpuBefore = gateways.map((g) => cpuSeconds(g.pid!));
    const bookedAt: number[] = [];
    const started = Date.now();

    const runBuyer = (b: Buyer & { plan: ReturnType<typeof buyerPlan> }) =>
      new Promise<void>((resolve) => {
        // arrival: when the buyer opens its connection (a generator running late delays it, not the gateway)
        b.arriveAt = Date.now();
        const ws = new WebSocket(`ws://127.0.0.1:${port}/ws`, ['seatmap.v1'], {
          headers: { authorization: `Bearer ${tokens[b.index]}`, 'x-forwarded-for': `10.${(b.index >> 16) & 255}.${(b.index >> 8) & 255}.${b.index & 255}` },
        });
        const view = new SeatView();
        let rid = 1;
        const pending = new Map<number, (m: ServerMessage) => void>();
        const send = (body: Record<string, unknown> & { t: ClientRequest['t'] }, then: (m: ServerMessage & Record<string, unknown>) => void) => {
          const r = rid++;
          pending.set(r, then as (m: ServerMessage) => void);
          ws.send(encodeMessage({ ...body, rid: r } as unknown as ClientRequest));
        };
        let admittedHandled = false;
        let attempts = 0;
        const finish = () => {
          if (b.done) return;
          b.done = true;
          ws.close();
          resolve();
        };
        const fail = (what: string) => {
          b.errors.push(what);
          finish();
        };
        let want = b.plan.want;
        const buy = () => {
          if (!view.status.includes(0)) {
            b.soldOut = true;
            return finish();
          }
          const named = opts.best === '0' ? chooseSeats(view.status, want, random) : null;
          send(named ? { t: 'hold', ev: EV, seats: named } : bestHold(EV, want), (held) => {
            if (held.t === 'err') {
              if (!isDocumentedRefusal(held.code as string)) return fail(`hold ${held.code}`);
              if (held.code === 'QUEUE_CLOSED') return (b.soldOut = true), finish();
              if (held.code === 'NO_BLOCK') {
                if (--want < 1) return (b.soldOut = true), finish();
                return buy();
              }
              if (++attempts > 5) return (b.soldOut = true), finish();
              return setTimeout(buy, held.code === 'RATE_LIMITED' ? Number(held.retryMs ?? 200) : 50 + random() * 200);
            }
            if (!b.plan.books) {
              b.abandoned = true;
              return send({ t: 'release', ev: EV, tok: held.tok as string }, finish);
            }
            // PENDING: not committed within the ack timeout; the same key tells the outcome (docs/protocol.md)
            let pendings = 0;
            const book = () =>
              send({ t: 'book', ev: EV, tok: held.tok as string, key: `${b.sub}-1` }, (booked) => {
                if (booked.t === 'err') {
                  if (booked.code === 'PENDING' && ++pendings <= 5) return setTimeout(book, 500);
                  if (!isDocumentedRefusal(booked.code as string)) return fail(`book ${booked.code}`);
                  return finish();
                }
                b.seatsBooked = (booked.seats as number[]).length;
                bookedAt.push(Date.now());
                b.pendings = pendings;
                finish();
              });
            book();
          });
        };
        const admitted = (until: number) => {
          if (admittedHandled) return;
          admittedHandled = true;
          b.admittedAt = Date.now();
          b.admitUntil = until;
          // a fresh snapshot (the diffs were dropped while queued), then choose seats
          const seqBefore = view.ready ? view.seq : -1;
          resubscribed = true;
          send({ t: 'unsub', ev: EV }, () =>
            send({ t: 'sub', ev: EV }, (r) => {
              if (r.t === 'err') return fail(`sub ${r.code}`);
              const go = () => (view.ready && view.seq >= seqBefore ? buy() : setTimeout(go, 20));
              go();
            }),
          );
        };
        const join = () =>
          send({ t: 'queue', ev: EV }, (reply) => {
            if (reply.t === 'err') return fail(`queue ${reply.code}`);
            b.joinedAt = Date.now();
            b.joinState = String(reply.state);
            if (reply.state === 'waiting') void redis.zscore(`${PREFIX}{${EV}}:queue:waiting`, b.sub).then((s) => (b.score = s === null ? undefined : Number(s)));
            if (reply.state === 'admitted') admitted(Number(reply.until));
            if (reply.state === 'closed') return (b.soldOut = true), finish();
          });
        let resubscribed = false;
        ws.on('message', (data: Buffer) => {
          // a diff while queued: not decoded (see the header); the snapshot after admission replaces the map
          if (!resubscribed && data[2] === 0xa4 && data[3] === 0x64 && data[4] === 0x69 && data[5] === 0x66 && data[6] === 0x66 && view.ready) return;
          const m = decodeServerMessage(data);
          switch (m.t) {
            case 'hello':
              send({ t: 'sub', ev: EV }, (r) => r.t === 'err' && fail(`sub ${r.code}`));
              if (b.skipper) {
                return send({ t: 'hold', ev: EV, seats: [Math.floor(random() * SEATS)] }, (r) => {
                  b.skipRefused = r.t === 'err' ? String(r.code) : 'HELD';
                  join();
                });
              }
              return join();
            case 'snap':
              view.applySnap(m);
              b.mapMs ??= Date.now() - b.arriveAt;
              return;
            case 'diff':
              view.applyDiff(m);
              return;
            case 'admit':
              return admitted(m.until);
            case 'qclosed':
              if (!admittedHandled) {
                b.soldOut = true;
                finish();
              }
              return;
            case 'ok':
            case 'err': {
              if (m.rid === null) return;
              const then = pending.get(m.rid as number);
              pending.delete(m.rid as number);
              then?.(m);
              return;
            }
          }
        });
        ws.on('error', (err) => fail(`socket ${err.message.slice(0, 40)}`));
        ws.on('close', (code) => {
          if (!b.done) fail(`closed ${code}`);
        });
      });

    const all = buyers.map(
      (b) =>
        new Promise<void>((resolve) => {
          setTimeout(() => void runBuyer(b as Buyer & { plan: ReturnType<typeof buyerPlan> }).then(resolve), Math.max(0, b.arriveAt - Date.now()));
        }),
    );
    const finished = await Promise.race([Promise.all(all).then(() => true), sleep(TIMEOUT_MS).then(() => false)]);
    const elapsed = (Date.now() - started) / 1000;
    loopDelay.disable();
    const lagP99 = loopDelay.percentile(99) / 1e6;
    const lagMax = loopDelay.max / 1e6;
    const cmds = (await redisCommands(redis)) - cmdsBefore;
    const cpu = gateways.map((g, i) => cpuSeconds(g.pid!) - cpuBefore[i]!);
    const zscores = buyers.filter((b) => b.score !== undefined).length;

    // oversold: a seat in two active bookings, or more seats booked than the venue has
    const client = new pg.Client({ connectionString: db.url });
    await client.connect();
    await sleep(1500); // the flusher's last round
    const dup = await client.query<{ n: string }>(
      "SELECT count(*) AS n FROM (SELECT seat FROM bookings, unnest(seats) AS seat WHERE event_id = $1 AND state NOT IN ('cancelled', 'failed', 'expired') GROUP BY seat HAVING count(*) > 1) d",
      [EV],
    );
    const soldInPg = await client.query<{ n: string }>("SELECT coalesce(sum(cardinality(seats)), 0) AS n FROM bookings WHERE event_id = $1 AND state NOT IN ('cancelled', 'failed', 'expired')", [EV]);
    await client.end();

    const maps = buyers.flatMap((b) => (b.mapMs === undefined ? [] : [b.mapMs]));
    const queued = buyers.flatMap((b) => (b.admittedAt !== undefined && b.joinedAt !== undefined ? [b.admittedAt - b.joinedAt] : []));
    const late = buyers.filter((b) => b.joinState === 'waiting' && b.score !== undefined && b.score >= 1 && b.admitUntil !== undefined).sort((x, y) => x.score! - y.score!);
    let outOfOrder = 0;
    let latestUntil = -Infinity;
    for (const b of late) {
      if (b.admitUntil! < latestUntil) outOfOrder++;
      latestUntil = Math.max(latestUntil, b.admitUntil!);
    }
    const early = buyers.filter((b) => b.joinState === 'prequeue' && b.admitUntil !== undefined);
    const rho = spearman(early.map((b) => b.joinedAt!), early.map((b) => b.admitUntil!));
    const skippers = buyers.filter((b) => b.skipper);
    const skipRefused = skippers.filter((b) => b.skipRefused === 'NOT_ADMITTED').length;
    const errors = buyers.reduce((n, b) => n + b.errors.length, 0);
    const errorKinds = new Map<string, number>();
    for (const b of buyers) for (const e of b.errors) errorKinds.set(e, (errorKinds.get(e) ?? 0) + 1);
    const seatsBooked = buyers.reduce((n, b) => n + b.seatsBooked, 0);
    const sellSpan = bookedAt.length > 1 ? (Math.max(...bookedAt) - Math.min(...bookedAt)) / 1000 : NaN;
    const fmt = (n: number, d = 0) => (Number.isFinite(n) ? n.toLocaleString('en-US', { maximumFractionDigits: d, minimumFractionDigits: d }) : 'n/a');

    const machine = `${os.cpus().length} × ${os.cpus()[0]?.model ?? 'cpu'}, ${Math.round(os.totalmem() / 2 ** 30)} GiB, Node ${process.version}, Redis ${(await redis.info('server')).match(/redis_version:(\S+)/)?.[1]}; ${NODES} gateway processes on one port; the buyers in one Node process on the same machine; load average ${os.loadavg().map((l) => l.toFixed(1)).join(' / ')} (1/5/15 min, the machine is shared)`;
    const rows: [string, string, string][] = [
      ['arrivals (in spike)', `${fmt(ARRIVALS)} within ${fmt(SPIKE_MS / 1000)} s`, `20,000 within 10 s (scaled to this machine)`],
      ['venue', `${fmt(SEATS)} seats`, '20,000 seats'],
      ['admission', `${fmt(ADMIT_PER_MINUTE)}/min, random-then-fifo, onSaleAt ${fmt((onSaleAt - t0) / 1000, 1)} s into the spike`, 'a rate the holds can serve'],
      ['arrival → correct map, p50 / p99 / max', `${fmt(quantile(maps, 0.5))} / ${fmt(quantile(maps, 0.99))} / ${fmt(Math.max(...maps))} ms (${fmt(maps.length)} maps)`, 'p99 < 5 s'],
      ['time queued, p50 / p99 / max', `${fmt(quantile(queued, 0.5) / 1000, 1)} / ${fmt(quantile(queued, 0.99) / 1000, 1)} / ${fmt(Math.max(...queued) / 1000, 1)} s (${fmt(queued.length)} admitted)`, ''],
      ['arrivals after onSaleAt admitted out of arrival order', `${fmt(outOfOrder)} of ${fmt(late.length)} (${fmt(late.length ? (100 * outOfOrder) / late.length : 0, 2)} %)`, '0'],
      ['pre-queue: rank correlation of arrival and admission (random order ≈ 0)', `${fmt(rho, 3)} over ${fmt(early.length)} arrivals`, '≈ 0'],
      ['queue skippers refused NOT_ADMITTED', `${fmt(skipRefused)} of ${fmt(skippers.length)}`, 'all'],
      ['errors other than the documented refusals', `${fmt(errors)} (${fmt((100 * errors) / ARRIVALS, 3)} %)${errorKinds.size ? `: ${[...errorKinds].map(([k, v]) => `${k} × ${v}`).join(', ')}` : ''}`, '< 0.1 %'],
      ['seats sold, per second', `${fmt(seatsBooked)} seats in ${fmt(sellSpan, 1)} s: ${fmt(seatsBooked / sellSpan)} seats/s`, ''],
      ['oversold seats (Postgres)', `${dup.rows[0]!.n} (Postgres has ${soldInPg.rows[0]!.n} seats booked; the buyers were told ${fmt(seatsBooked)})`, '0'],
      ['Redis commands per arrival', `${fmt((cmds - zscores) / ARRIVALS, 1)} (${fmt(cmds - zscores)} in all, the benchmark's own reads not counted)`, ''],
      ['gateway CPU-seconds per arrival', `${fmt(cpu.reduce((s, c) => s + c, 0) / ARRIVALS, 4)} (${cpu.map((c) => fmt(c, 1)).join(' + ')} s)`, ''],
      ['book answered PENDING first (retried with the same key)', `${fmt(buyers.filter((b) => (b.pendings ?? 0) > 0).length)} bookings`, ''],
      ['the buyers\' event loop lag, p99 / max (the load generator\'s own delay, inside the figures above)', `${fmt(lagP99)} / ${fmt(lagMax)} ms`, 'small'],
      ['run', `${fmt(elapsed, 1)} s${finished ? '' : ' (timed out: some buyers unfinished)'}; ${fmt(buyers.filter((b) => b.soldOut).length)} found it sold out, ${fmt(buyers.filter((b) => b.abandoned).length)} abandoned`, ''],
    ];
    const table = ['| measure | this run | goal |', '| --- | --- | --- |', ...rows.map((r) => `| ${r.join(' | ')} |`)].join('\n');
    const page = `# On-sale benchmark

\`npm run bench:onsale -- --arrivals ${ARRIVALS} --spike-ms ${SPIKE_MS} --nodes ${NODES}\` (bench/onsale.ts), ${new Date().toISOString().slice(0, 10)}.
Machine: ${machine}.

${table}

How it runs, and what the figures mean: [../onsale.md](../onsale.md). The
buyers' decisions (who skips the queue, how many seats, book or abandon) are
loadtest/lib/queue-buyer.js, shared with the k6 \`queue\` scenario. "Correct
map" is the first snapshot applied after the subscription; "out of arrival
order" counts fifo arrivals admitted in an earlier admission step than
someone who arrived before them.
`;
    process.stdout.write(`${page}\n`);
    if (opts.write) writeFileSync(opts.write, page);
  } finally {
    for (const g of gateways) g.kill('SIGTERM');
    await Promise.all(gateways.map((g) => new Promise((r) => (g.exitCode !== null ? r(null) : g.once('exit', r)))));
    redis.disconnect();
    redisServer.kill('SIGTERM');
    await db.drop().catch(() => undefined);
  }
}

await main();
