/**
 * The WebSocket the client talks through: the global one where it exists
 * (browsers, Node ≥ 22), or a constructor the caller injects (e.g. the `ws`
 * package on Node 20). Only the members every implementation shares are used.
 */
import { PROTOCOL_NAME, TOKEN_PROTOCOL_PREFIX } from '../protocol/messages.js';

/**
 * Handlers are declared as methods so that their parameter types are checked
 * bivariantly: browsers' and `ws`'s handlers take richer event types, and both
 * must be assignable here.
 */
type Handler<E> = { handle(event: E): void }['handle'];

/** The subset of the WHATWG WebSocket the client needs (the `ws` package has it too). */
export interface WebSocketLike {
  binaryType: string;
  readonly readyState: number;
  readonly protocol: string;
  send(data: Uint8Array): void;
  close(code?: number, reason?: string): void;
  onopen: Handler<unknown> | null;
  onmessage: Handler<{ data: unknown }> | null;
  onclose: Handler<{ code: number; reason: string }> | null;
  onerror: Handler<unknown> | null;
}

export type WebSocketConstructor = new (url: string, protocols?: string | string[]) => WebSocketLike;

/** readyState OPEN, the same in every implementation. */
export const WS_OPEN = 1;

/** The injected constructor, else the global one; throws when there is neither. */
export function resolveWebSocket(injected?: WebSocketConstructor): WebSocketConstructor {
  if (injected) return injected;
  const global = (globalThis as { WebSocket?: unknown }).WebSocket;
  if (typeof global === 'function') return global as WebSocketConstructor;
  throw new Error('no WebSocket implementation: pass one as `WebSocket` (e.g. the `ws` package on Node < 22)');
}

/** Opens a binary WebSocket offering seatmap.v1 and, when there is a token, `bearer.<token>`. */
export function openSocket(Impl: WebSocketConstructor, url: string, token: string | null): WebSocketLike {
  const protocols = token ? [PROTOCOL_NAME, TOKEN_PROTOCOL_PREFIX + token] : [PROTOCOL_NAME];
  const socket = new Impl(url, protocols);
  socket.binaryType = 'arraybuffer';
  return socket;
}

/** Detaches every handler and closes without waiting: the caller already treats the socket as gone. */
export function abandonSocket(socket: WebSocketLike, code = 1000, reason = ''): void {
  socket.onopen = socket.onmessage = socket.onerror = socket.onclose = null;
  try {
    socket.close(code, reason);
  } catch {
    // closing a socket that never opened may throw in some implementations; it is gone either way
  }
}
