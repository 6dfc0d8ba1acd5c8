/**
 * Everything specific to the pinned uWebSockets.js build
 * (`@trufflesuite/uws-js-unofficial@20.30.0-unofficial.0`, which runs on
 * Debian 12's glibc): the socket type, the constants its typings lack, the
 * listen overload they omit, and the guard around native callbacks. Going
 * back to the official build is a change to this file.
 *
 * Why the upgrade is synchronous: uWS v20.30 can close a socket it has
 * upgraded asynchronously (`res.cork(() => res.upgrade())` after an await),
 * right after the 101 and without a close frame
 * (uNetworking/uWebSockets.js#1108, fixed upstream in uWebSockets#1929, not in
 * this build). The synchronous path does not run the faulty check, so the
 * gateway upgrades at once and checks the token once the socket is open
 * (gateway/ws-endpoint.ts, gateway/session.ts).
 */
import uWS from 'uWebSockets.js';
import type { Logger } from 'pino';

export type Socket<T> = uWS.WebSocket<T>;

/** `ws.send()` results: the frame was queued behind earlier unsent data, or dropped (past maxBackpressure). */
export const SEND_BACKPRESSURE = 1;
export const SEND_DROPPED = 2;

/** The close code uWS reports when no close frame arrived (TCP FIN or reset, frame too big, idle). */
export const ABNORMAL_CLOSURE = 1006;
/** The close code for a server-side failure in a socket's handler (RFC 6455 "internal error"). */
export const INTERNAL_ERROR_CLOSE = 1011;

/**
 * `closeOnBackpressureLimit` is a boolean in uWS; this build's typings say number.
 * Past maxBackpressure uWS would silently skip frames; closing is the only safe answer.
 */
export const CLOSE_ON_BACKPRESSURE_LIMIT = true as unknown as number;

/** uSockets' listen options: LIBUS_LISTEN_DEFAULT shares the port (SO_REUSEPORT), LIBUS_LISTEN_EXCLUSIVE_PORT does not. */
export const LISTEN_SHARED_PORT = 0;
export const LISTEN_EXCLUSIVE_PORT = 1;

/** `app.listen(host, port, options, cb)`: the binary takes it, the published typings lack the overload. */
export function listenOn(app: uWS.TemplatedApp, host: string, port: number, options: number, cb: (socket: uWS.us_listen_socket | false) => void): void {
  (app.listen as unknown as (h: string, p: number, o: number, c: typeof cb) => void).call(app, host, port, options, cb);
}

/**
 * Wraps a native WebSocket callback: an exception must not escape into uWS.
 * It is logged, and the socket is closed with 1011 (the connection's state
 * can no longer be trusted).
 */
export function guarded<A extends unknown[]>(logger: Logger, what: string, fn: (ws: Socket<unknown>, ...args: A) => void) {
  return (ws: Socket<unknown>, ...args: A): void => {
    try {
      fn(ws, ...args);
    } catch (err) {
      logger.error({ err, callback: what }, 'websocket handler failed; closing the connection');
      try {
        ws.end(INTERNAL_ERROR_CLOSE, 'internal error');
      } catch {
        // already closed
      }
    }
  };
}
