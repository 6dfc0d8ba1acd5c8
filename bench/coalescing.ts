// Tick coalescing (npm run bench:coalescing): frames per watcher per second at two operation rates, 20x apart.
// With TICK_MS=50 a watcher gets at most ~20 frames a second whatever the rate, and every watcher ends exact.
import WebSocket from 'ws';
import { Redis } from 'ioredis';
import { pino } from 'pino';
import { FAIRNESS_LIMITS_OFF, loadConfig } from '../gateway/config.js';
import { startGatewayNode } from '../gateway/node.js';
import { mintDevToken } from '../gateway/auth.js';
import { generateVenue } from '../core/layout/generate-venue.js';
import { decodeServerMessage, encodeMessage, SeatView } from '../core/protocol/index.js';
import { deleteKeysByPrefix } from '../core/store/index.js';

const WATCHERS = 1000;
const prefix = `coal:${Date.now()}:`;
const config = loadConfig({ ...FAIRNESS_LIMITS_OFF, KEY_PREFIX: prefix, PORT: '0', JWT_SECRET: 'coal-secret-0123456789ab', LOG_LEVEL: 'warn', DEMO_SEATS: '20000', TICK_MS: '50' });
const node = await startGatewayNode({ config, logger: pino({ level: 'warn' }), demoLayout: () => generateVenue({ seats: 20000, seed: 1, name: 'C' }), defaultMetrics: false });
const url = `ws://127.0.0.1:${node.port}/ws`;
const token = await mintDevToken('coal-secret-0123456789ab', { sub: 'viewer', scope: 'seats:read' });
let frames = 0;
const views: SeatView[] = [];
await Promise.all(Array.from({ length: WATCHERS }, () => new Promise<void>((resolve) => {
  const view = new SeatView(); views.push(view);
  const ws = new WebSocket(url, ['seatmap.v1', `bearer.${token}`]);
  ws.on('message', (d: Buffer) => {
    const m = decodeServerMessage(d);
    if (m.t === 'hello') ws.send(encodeMessage({ t: 'sub', rid: 1, ev: 'demo' }));
    else if (m.t === 'snap') view.applySnap(m);
    else if (m.t === 'diff') { frames++; view.applyDiff(m); }
    else if (m.t === 'ok') resolve();
  });
})));
async function run(opsPerSec: number, seconds: number) {
  frames = 0;
  const start = performance.now();
  let ops = 0;
  let released = 0;
  const total = opsPerSec * seconds;
  while (ops < total) {
    const due = start + (ops / opsPerSec) * 1000;
    const wait = due - performance.now();
    if (wait > 1) await new Promise((r) => setTimeout(r, wait));
    const seat = (ops * 7) % 20000;
    const holder = `h${ops}`;
    void node.store.hold({ eventId: 'demo', holder, seats: [seat] }).then(async (r) => {
      if (r.ok && (await node.store.release({ eventId: 'demo', holder, token: r.token })).ok) released++;
    });
    ops++;
  }
  await new Promise((r) => setTimeout(r, 500));
  const elapsed = (performance.now() - start) / 1000;
  const snap = (await node.store.snapshot('demo'))!;
  const exact = views.filter((v) => v.seq === snap.seq && Buffer.from(v.status).equals(snap.status)).length;
  console.log(`${opsPerSec} holds/s and ${(released / elapsed).toFixed(0)} releases/s: ${(frames / WATCHERS / elapsed).toFixed(1)} frames per watcher per second; ${exact}/${WATCHERS} watchers equal to a fresh snapshot`);
}
await run(20, 5);
await run(400, 5);
await node.stop();
const admin = new Redis(config.redisUrl); await deleteKeysByPrefix(admin, prefix); await admin.quit();
process.exit(0);
