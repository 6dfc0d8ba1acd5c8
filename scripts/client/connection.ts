/**
 * The terminal client's connection: one WebSocket speaking protocol v1
 * (MessagePack frames) through the `ws` package, requests matched to replies
 * by rid, and every server message turned into one JSON line for people and
 * for `jq` (a snapshot's seat states summarized unless asked for in full).
 */
import WebSocket from 'ws';
import { PROTOCOL_NAME, decodeServerMessage, encodeMessage, type ClientRequest, type HelloMessage, type ServerMessage } from '../../core/protocol/index.js';

type WithoutRid<T> = T extends unknown ? Omit<T, 'rid'> : never;
export type RequestBody = WithoutRid<ClientRequest>;

const STATES = ['free', 'held', 'booked', 'blocked'] as const;

/** The JSON line of a server message: binary seat states become counts (or an array with `full`). */
export function messageLine(message: ServerMessage, full = false): string {
  if (message.t !== 'snap') return JSON.stringify(message);
  const { st, ...rest } = message;
  const counts: Record<string, number> = { free: 0, held: 0, booked: 0, blocked: 0 };
  for (const s of st) if (s < STATES.length) counts[STATES[s]!]!++;
  return JSON.stringify(full ? { ...rest, st: Array.from(st) } : { ...rest, seats: st.length, counts });
}

export class CliConnection {
  private nextRid = 1;
  private readonly waiting = new Map<number, (reply: ServerMessage) => void>();
  private closedWith: { code: number; reason: string } | null = null;

  private constructor(
    private readonly socket: WebSocket,
    readonly hello: HelloMessage,
    private readonly onMessage: (message: ServerMessage) => void,
  ) {}

  /** Opens a connection and waits for hello; `onMessage` sees every message that answers no request of ours. */
  static open(url: string, token: string | null, onMessage: (message: ServerMessage) => void, onClose: (code: number, reason: string) => void): Promise<CliConnection> {
    return new Promise((resolve, reject) => {
      const socket = new WebSocket(url, [PROTOCOL_NAME], { headers: token ? { authorization: `Bearer ${token}` } : {}, perMessageDeflate: false });
      let connection: CliConnection | null = null;
      socket.binaryType = 'nodebuffer';
      socket.on('message', (data: Buffer, isBinary: boolean) => {
        if (!isBinary) return;
        let message: ServerMessage;
        try {
          message = decodeServerMessage(data);
        } catch (err) {
          process.stderr.write(`unreadable frame: ${(err as Error).message}\n`);
          return;
        }
        if (!connection) {
          if (message.t === 'hello') resolve((connection = new CliConnection(socket, message, onMessage)));
          return;
        }
        connection.received(message);
      });
      socket.on('close', (code: number, reason: Buffer) => {
        if (!connection) return reject(new Error(`the connection closed before hello: ${code} ${reason.toString() || ''}`.trim()));
        connection.closed(code, reason.toString());
        onClose(code, reason.toString());
      });
      socket.on('error', (err: Error) => {
        if (!connection) reject(new Error(`cannot connect to ${url}: ${err.message}`));
      });
    });
  }

  /** Sends a request; resolves with its reply (`ok`, `err` or `pong`). */
  request(body: RequestBody): Promise<ServerMessage> {
    if (this.closedWith) return Promise.reject(new Error(`the connection is closed (${this.closedWith.code})`));
    const rid = this.nextRid++;
    return new Promise((resolve) => {
      this.waiting.set(rid, resolve);
      this.socket.send(encodeMessage({ ...body, rid } as ClientRequest));
    });
  }

  close(): void {
    this.socket.close(1000, 'done');
  }

  private received(message: ServerMessage): void {
    const rid = 'rid' in message ? message.rid : null;
    const waiter = typeof rid === 'number' ? this.waiting.get(rid) : undefined;
    if (waiter) {
      this.waiting.delete(rid as number);
      waiter(message);
    } else this.onMessage(message);
  }

  private closed(code: number, reason: string): void {
    this.closedWith = { code, reason };
    for (const [rid, waiter] of this.waiting) waiter({ t: 'err', rid, code: 'INTERNAL', msg: `the connection closed before the reply (${code} ${reason})`.trim() });
    this.waiting.clear();
  }
}
