/**
 * The baseline the gateway is compared with: what many teams would write
 * instead. Socket.IO with the Redis adapter (so several processes could share
 * rooms), one room per event, a JSON seat array on join, and one JSON `diff`
 * message per change, emitted to the room through the adapter. Seat
 * operations run the same store scripts as the gateway's.
 *
 *   PORT=9002 REDIS_URL=redis://127.0.0.1:6379 KEY_PREFIX=seatmap: npx tsx loadtest/baseline/socketio-server.ts
 */
import { createServer } from 'node:http';
import { createAdapter } from '@socket.io/redis-adapter';
import { Redis } from 'ioredis';
import { Server } from 'socket.io';
import { SeatStore } from '../../core/store/index.js';

const redisUrl = process.env.REDIS_URL ?? 'redis://127.0.0.1:6379';
const store = new SeatStore({ redis: new Redis(redisUrl, { enableAutoPipelining: true }), prefix: process.env.KEY_PREFIX ?? 'seatmap:' });
await store.scripts.preload();
const pub = new Redis(redisUrl);
const sub = pub.duplicate();

const http = createServer();
const io = new Server(http, { transports: ['websocket'], adapter: createAdapter(pub, sub), serveClient: false });

type Ack = (reply: unknown) => void;

io.on('connection', (socket) => {
  socket.on('sub', async (ev: string, ack: Ack) => {
    await socket.join(`ev:${ev}`);
    const snap = await store.snapshot(ev);
    ack(snap ? { seq: snap.seq, st: Array.from(snap.status) } : { error: 'NO_EVENT' });
  });
  socket.on('hold', async (ev: string, seats: number[], ack: Ack) => {
    const r = await store.hold({ eventId: ev, holder: socket.id, seats });
    if (r.ok) io.to(`ev:${ev}`).emit('diff', { ev, seq: r.seq, ch: seats.flatMap((s) => [s, 1]) });
    ack(r.ok ? { ok: true, tok: r.token, seq: r.seq } : { ok: false, code: r.code });
  });
  socket.on('release', async (ev: string, tok: string, seats: number[], ack: Ack) => {
    const r = await store.release({ eventId: ev, holder: socket.id, token: tok, seats });
    if (r.ok) io.to(`ev:${ev}`).emit('diff', { ev, seq: r.seq, ch: seats.flatMap((s) => [s, 0]) });
    ack(r.ok ? { ok: true, seq: r.seq } : { ok: false, code: r.code });
  });
});

http.listen(Number(process.env.PORT ?? 9002), '127.0.0.1', () => {
  const address = http.address();
  const port = typeof address === 'object' && address ? address.port : 0;
  // the same ready line as the gateway's, so one launcher starts both
  process.stdout.write(`${JSON.stringify({ msg: 'gateway node ready', port, server: 'socket.io baseline' })}\n`);
});

process.on('SIGTERM', () => {
  io.close();
  process.exit(0);
});
