/**
 * The clients of `npm run bench:book`, in a process of their own (forked by
 * bench/book.ts) so that the gateway's event loop runs the gateway and its
 * flusher only, not the load that measures them. Each client holds one seat,
 * books it and waits for the ack (sent after the Postgres commit), then takes
 * the next seat, until the run's seats are gone.
 *
 * Protocol over IPC: the parent sends a `BookClientsStart`; the process opens
 * its connections, makes one warm-up booking (so that the flusher has found the
 * event before the clock starts) and answers `{ t: 'ready' }`; on `{ t: 'go' }`
 * it runs and answers a `BookClientsResult`, then exits when disconnected.
 */
import WebSocket from 'ws';
import { decodeServerMessage, encodeMessage, type ServerMessage } from '../../core/protocol/index.js';

export interface BookClientsStart {
  t: 'start';
  url: string;
  /** one bearer token per client */
  tokens: string[];
  /** seats 0 … bookings−1 are booked in the run */
  bookings: number;
  /** the seat the warm-up booking takes (outside the run's seats) */
  warmSeat: number;
}

export interface BookClientsResult {
  t: 'result';
  /** ms from a `book` sent to its ack, one per booking */
  latencies: number[];
  /** ms summed over every hold's round trip */
  holdTotal: number;
  /** ms from the first hold sent to the last ack */
  elapsed: number;
  error?: string;
}

/** A connection that sends requests and resolves each by its rid. */
class Conn {
  private rid = 1;
  private readonly pending = new Map<number, (m: ServerMessage) => void>();
  private constructor(private readonly ws: WebSocket) {
    ws.on('message', (data: Buffer) => {
      const m = decodeServerMessage(data);
      if ((m.t === 'ok' || m.t === 'err') && m.rid !== null) {
        const resolve = this.pending.get(m.rid as number);
        this.pending.delete(m.rid as number);
        resolve?.(m);
      }
    });
  }
  static open(url: string, token: string): Promise<Conn> {
    return new Promise((resolve, reject) => {
      const ws = new WebSocket(url, ['seatmap.v1', `bearer.${token}`]);
      ws.once('error', reject);
      ws.once('message', () => resolve(new Conn(ws)));
    });
  }
  request(body: Record<string, unknown>): Promise<ServerMessage> {
    const rid = this.rid++;
    return new Promise((resolve) => {
      this.pending.set(rid, resolve);
      this.ws.send(encodeMessage({ ...body, rid } as never));
    });
  }
  close(): void {
    this.ws.terminate();
  }
}

let conns: Conn[] = [];
let start: BookClientsStart | undefined;

async function open(s: BookClientsStart): Promise<void> {
  start = s;
  conns = await Promise.all(s.tokens.map((token) => Conn.open(s.url, token)));
  const warm = await conns[0]!.request({ t: 'hold', ev: 'demo', seats: [s.warmSeat] });
  if (warm.t !== 'ok') throw new Error(`warm-up hold: ${JSON.stringify(warm)}`);
  const booked = await conns[0]!.request({ t: 'book', ev: 'demo', tok: warm.tok, key: 'warm' });
  if (booked.t !== 'ok') throw new Error(`warm-up book: ${JSON.stringify(booked)}`);
}

async function run(): Promise<BookClientsResult> {
  const s = start!;
  const latencies: number[] = [];
  let holdTotal = 0;
  let next = 0;
  const started = performance.now();
  await Promise.all(
    conns.map(async (conn, c) => {
      for (;;) {
        const seat = next++;
        if (seat >= s.bookings) return;
        const holdSent = performance.now();
        const held = await conn.request({ t: 'hold', ev: 'demo', seats: [seat] });
        if (held.t !== 'ok') throw new Error(`hold ${seat}: ${JSON.stringify(held)}`);
        const sent = performance.now();
        holdTotal += sent - holdSent;
        const booked = await conn.request({ t: 'book', ev: 'demo', tok: held.tok, key: `k-${c}-${seat}` });
        if (booked.t !== 'ok') throw new Error(`book ${seat}: ${JSON.stringify(booked)}`);
        latencies.push(performance.now() - sent);
      }
    }),
  );
  const elapsed = performance.now() - started;
  for (const c of conns) c.close();
  return { t: 'result', latencies, holdTotal, elapsed };
}

const reply = (m: unknown) => process.send!(m);
process.on('message', (m: { t: string }) => {
  if (m.t === 'start') open(m as BookClientsStart).then(() => reply({ t: 'ready' }), (e: Error) => reply({ t: 'ready', error: String(e) }));
  else if (m.t === 'go')
    run().then(reply, (e: Error) => reply({ t: 'result', latencies: [], holdTotal: 0, elapsed: 0, error: String(e) } satisfies BookClientsResult));
});
process.on('disconnect', () => process.exit(0));
