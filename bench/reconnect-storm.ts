// Reconnect storm (npm run bench:storm -- [clients]): N clients subscribed, all drop, changes happen, all resume with epoch+seq.
// Prints how many end equal to a fresh snapshot and the Redis commands issued during the storm (they must not grow with N).
import WebSocket from 'ws';
import { Redis } from 'ioredis';
import { pino } from 'pino';
import { FAIRNESS_LIMITS_OFF, loadConfig } from '../gateway/config.js';
import { startGatewayNode } from '../gateway/node.js';
import { mintDevToken } from '../gateway/auth.js';
import { generateVenue } from '../core/layout/generate-venue.js';
import { decodeServerMessage, encodeMessage, SeatView } from '../core/protocol/index.js';
import { deleteKeysByPrefix } from '../core/store/index.js';

const N = Number(process.argv[2] ?? 2000);
const prefix = `storm:${Date.now()}:`;
const config = loadConfig({ ...FAIRNESS_LIMITS_OFF, KEY_PREFIX: prefix, PORT: '0', JWT_SECRET: 'storm-secret-0123456789', LOG_LEVEL: 'warn', DEMO_SEATS: '20000', OPS_BURST: '1000', OPS_PER_SECOND: '1000' });
const node = await startGatewayNode({ config, logger: pino({ level: 'warn' }), demoLayout: () => generateVenue({ seats: 20000, seed: 1, name: 'Storm' }), defaultMetrics: false });
const url = `ws://127.0.0.1:${node.port}/ws`;
const token = await mintDevToken('storm-secret-0123456789', { sub: 'viewer', scope: 'seats:read seats:hold' });
const admin = new Redis(config.redisUrl);
const stats = async () => Object.fromEntries((await admin.info('commandstats')).split('\n').filter((l) => l.startsWith('cmdstat_')).map((l) => [l.split(':')[0]!.slice(8), Number(/calls=(\d+)/.exec(l)![1])]));

function open(view: SeatView, resume: boolean): Promise<WebSocket> {
  return new Promise((resolve) => {
    const ws = new WebSocket(url, ['seatmap.v1', `bearer.${token}`]);
    ws.on('message', (d: Buffer) => {
      const m = decodeServerMessage(d);
      if (m.t === 'hello') ws.send(encodeMessage(resume ? { t: 'sub', rid: 1, ev: 'demo', epoch: view.epoch, seq: view.seq } : { t: 'sub', rid: 1, ev: 'demo' }));
      else if (m.t === 'snap') view.applySnap(m);
      else if (m.t === 'diff') view.applyDiff(m);
      else if (m.t === 'ok' && m.rid === 1) resolve(ws);
    });
  });
}
const views = Array.from({ length: N }, () => new SeatView());
let t = performance.now();
let sockets = await Promise.all(views.map((v) => open(v, false)));
console.log(`${N} clients subscribed in ${(performance.now() - t).toFixed(0)} ms`);
for (const ws of sockets) ws.terminate();
await new Promise((r) => setTimeout(r, 500));
// changes while everyone is away
for (let i = 0; i < 50; i++) await node.store.hold({ eventId: 'demo', holder: `h${i}`, seats: [i * 2, i * 2 + 1] });
await new Promise((r) => setTimeout(r, 200));
const before = await stats();
t = performance.now();
sockets = await Promise.all(views.map((v) => open(v, true)));
const storm = performance.now() - t;
const after = await stats();
const snap = (await node.store.snapshot('demo'))!;
const inSync = views.filter((v) => v.seq === snap.seq && Buffer.from(v.status).equals(snap.status)).length;
const delta = Object.fromEntries(Object.keys(after).map((k) => [k, after[k]! - (before[k] ?? 0)]).filter(([, v]) => (v as number) > 0));
console.log(`resume storm: ${N} clients back in ${storm.toFixed(0)} ms, ${inSync}/${N} equal to a fresh snapshot`);
console.log('redis commands during the storm (all clients of Redis):', JSON.stringify(delta));
const text = await node.metrics.registry.metrics();
console.log(text.split('\n').filter((l) => l.startsWith('seatmap_resumes_total') || l.startsWith('seatmap_snapshots_sent_total')).join('\n'));
for (const ws of sockets) ws.terminate();
await node.stop();
await deleteKeysByPrefix(admin, prefix);
await admin.quit();
process.exit(0);
