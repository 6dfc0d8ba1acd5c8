/**
 * A protocol v1 test client over the `ws` package: requests with automatic
 * request ids, every received message recorded, and a SeatView per
 * subscribed event kept from snapshots and diffs, with gaps counted.
 */
import WebSocket from 'ws';
import {
  SeatView,
  decodeServerMessage,
  encodeMessage,
  type ClientRequest,
  type HelloMessage,
  type ServerMessage,
} from '../../core/protocol/index.js';

type WithoutRid<T> = T extends unknown ? Omit<T, 'rid'> : never;
export type RequestBody = WithoutRid<ClientRequest>;

export interface ConnectOptions {
  token?: string;
  /** how the token travels: the Authorization header (default), a subprotocol entry, or the query string */
  via?: 'header' | 'protocol' | 'query';
  protocols?: string[];
  /** further request headers of the upgrade (X-Forwarded-For) */
  headers?: Record<string, string>;
}

export class TestClient {
  readonly messages: ServerMessage[] = [];
  readonly views = new Map<string, SeatView>();
  /** diffs that arrived with a gap (from > our seq) or for another epoch, per event */
  readonly gaps = new Map<string, number>();
  /** per event: diffs that brought nothing new (their `to` at or below the view's seq) */
  readonly duplicates = new Map<string, number>();
  hello: HelloMessage | null = null;
  readonly closed: Promise<{ code: number; reason: string }>;
  private nextRid = 1;
  private waiters: { match: (m: ServerMessage) => boolean; resolve: (m: ServerMessage) => void }[] = [];

  private constructor(readonly ws: WebSocket) {
    this.closed = new Promise((resolve) => ws.once('close', (code, reason) => resolve({ code, reason: reason.toString() })));
    ws.on('message', (data: Buffer, isBinary: boolean) => {
      if (!isBinary) throw new Error(`server sent a text frame: ${data.toString()}`);
      const message = decodeServerMessage(data);
      this.messages.push(message);
      this.track(message);
      for (const w of [...this.waiters]) {
        if (w.match(message)) {
          this.waiters.splice(this.waiters.indexOf(w), 1);
          w.resolve(message);
        }
      }
    });
  }

  /** Opens a connection; resolves after the hello (or rejects with the close code when refused). */
  static connect(url: string, options: ConnectOptions = {}): Promise<TestClient> {
    const via = options.via ?? 'header';
    const protocols = [...(options.protocols ?? ['seatmap.v1'])];
    const headers: Record<string, string> = { ...options.headers };
    let target = url;
    if (options.token) {
      if (via === 'header') headers.authorization = `Bearer ${options.token}`;
      else if (via === 'protocol') protocols.push(`bearer.${options.token}`);
      else target += `${url.includes('?') ? '&' : '?'}token=${encodeURIComponent(options.token)}`;
    }
    const ws = new WebSocket(target, protocols, { headers });
    const client = new TestClient(ws);
    return new Promise((resolve, reject) => {
      ws.once('error', reject);
      void client.closed.then(({ code, reason }) => reject(Object.assign(new Error(`closed ${code} ${reason}`), { code, reason })));
      client.next((m) => m.t === 'hello', 5000, 'hello').then(
        (m) => {
          client.hello = m as HelloMessage;
          resolve(client);
        },
        reject, // no-op when the close already rejected
      );
    });
  }

  /** Sends a request and waits for the reply with its rid. */
  async request(body: RequestBody, timeoutMs = 10_000): Promise<ServerMessage> {
    const rid = this.nextRid++;
    const reply = this.next((m) => (m.t === 'ok' || m.t === 'err' || m.t === 'pong') && m.rid === rid, timeoutMs, `the reply to ${JSON.stringify({ ...body, rid }).slice(0, 200)}`);
    this.sendRaw(encodeMessage({ ...body, rid } as ClientRequest));
    return reply;
  }

  /** Like request(), but throws unless the reply is ok. */
  async ok(body: RequestBody): Promise<Record<string, unknown>> {
    const reply = await this.request(body);
    if (reply.t !== 'ok' && reply.t !== 'pong') throw new Error(`expected ok for ${body.t}, got ${JSON.stringify(reply)}`);
    return reply as unknown as Record<string, unknown>;
  }

  /** Resolves with the next message (already received ones do not count) that matches. */
  next(match: (m: ServerMessage) => boolean, timeoutMs = 5000, what = 'a message'): Promise<ServerMessage> {
    return new Promise((resolve, reject) => {
      const waiter = { match, resolve: (m: ServerMessage) => (clearTimeout(timer), resolve(m)) };
      const timer = setTimeout(() => {
        this.waiters.splice(this.waiters.indexOf(waiter), 1);
        const seen = this.messages.slice(-5).map((m) => JSON.stringify(m, (_k, v: unknown) => (v instanceof Uint8Array ? `<${v.length} bytes>` : v)).slice(0, 160));
        reject(new Error(`timed out after ${timeoutMs} ms waiting for ${what}; last messages: ${seen.join(' | ')}`));
      }, timeoutMs);
      this.waiters.push(waiter);
    });
  }

  /** Waits until the view of `ev` reaches `seq` (or later). */
  async until(ev: string, condition: (view: SeatView) => boolean, timeoutMs = 5000): Promise<SeatView> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const view = this.views.get(ev);
      if (view && condition(view)) return view;
      if (Date.now() > deadline) throw new Error(`view of ${ev} did not reach the condition (seq ${view?.seq})`);
      await this.next((m) => m.t === 'diff' || m.t === 'snap', Math.max(1, deadline - Date.now())).catch(() => {});
    }
  }

  sendRaw(data: Uint8Array | string, binary = typeof data !== 'string'): void {
    this.ws.send(data, { binary });
  }

  close(): Promise<{ code: number; reason: string }> {
    this.ws.close();
    return this.closed;
  }

  /** Drops the TCP connection without a close handshake. */
  terminate(): Promise<{ code: number; reason: string }> {
    this.ws.terminate();
    return this.closed;
  }

  private track(message: ServerMessage): void {
    if (message.t === 'snap') {
      let view = this.views.get(message.ev);
      if (!view) this.views.set(message.ev, (view = new SeatView()));
      view.applySnap(message);
    } else if (message.t === 'diff') {
      const view = this.views.get(message.ev);
      const outcome = view ? view.applyDiff(message) : 'empty';
      if (outcome === 'gap' || outcome === 'epoch' || outcome === 'empty') this.gaps.set(message.ev, (this.gaps.get(message.ev) ?? 0) + 1);
      if (outcome === 'duplicate') this.duplicates.set(message.ev, (this.duplicates.get(message.ev) ?? 0) + 1);
    }
  }
}
