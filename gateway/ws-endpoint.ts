/**
 * The WebSocket endpoint at /ws: the uWS options (frame caps, idle timeout,
 * backpressure caps) and the upgrade, which is completed synchronously (see
 * gateway/uws.ts): draining and connection-limit checks, the upgrades per
 * client address (gateway/upgrade-limiter.ts), where the token comes
 * from, the selected subprotocol, and a new Session in the socket's user data
 * with its token check started. Every other callback forwards to the session,
 * guarded so that an exception closes that socket (1011) instead of escaping
 * into uWS.
 */
import uWS from 'uWebSockets.js';
import type { Logger } from 'pino';
import { PROTOCOL_NAME, extractToken, type Authenticator } from './auth.js';
import type { GatewayConfig } from './config.js';
import type { Connections } from './connections.js';
import type { GatewayMetrics } from './metrics.js';
import { Session, type SessionDeps, type SocketData } from './session.js';
import { clientAddress, UpgradeLimiter } from './upgrade-limiter.js';
import { CLOSE_ON_BACKPRESSURE_LIMIT, guarded, type Socket } from './uws.js';

export interface WsEndpointDeps {
  config: GatewayConfig;
  authenticator: Authenticator;
  metrics: GatewayMetrics;
  logger: Logger;
  connections: Connections<Session>;
  isDraining(): boolean;
  session: SessionDeps;
}

/** Frames up to this many times maxFrameBytes reach the handler (and get BAD_REQUEST); larger ones drop the connection. */
export const HARD_FRAME_FACTOR = 4;

export function registerWsEndpoint(app: uWS.TemplatedApp, deps: WsEndpointDeps): void {
  const { config, metrics, logger } = deps;
  let nextId = 1;
  const { upgradesPerIpPerSecond, upgradesPerIpBurst, trustedProxies } = config.limits;
  const perAddress = new UpgradeLimiter(upgradesPerIpPerSecond, upgradesPerIpBurst, trustedProxies);
  const session = (ws: Socket<unknown>) => (ws as Socket<SocketData>).getUserData().session;

  app.ws<SocketData>('/ws', {
    compression: uWS.DISABLED,
    // Frames over maxFrameBytes get BAD_REQUEST and the connection lives on; uWS drops the
    // connection only past this hard cap, so a hostile client cannot make us buffer much.
    maxPayloadLength: config.limits.maxFrameBytes * HARD_FRAME_FACTOR,
    idleTimeout: config.limits.idleTimeoutSec,
    sendPingsAutomatically: true,
    maxBackpressure: config.limits.maxBackpressureBytes,
    closeOnBackpressureLimit: CLOSE_ON_BACKPRESSURE_LIMIT,
    upgrade: (res, req, context) => {
      if (deps.isDraining()) {
        metrics.upgrades.inc({ result: 'draining' });
        return void res.writeStatus('503 Service Unavailable').end('server restarting');
      }
      if (deps.connections.size >= config.limits.maxConnections) {
        metrics.upgrades.inc({ result: 'over_limit' });
        return void res.writeStatus('503 Service Unavailable').end('connection limit reached');
      }
      if (perAddress.enabled) {
        const address = clientAddress(Buffer.from(res.getRemoteAddressAsText()).toString(), req.getHeader('x-forwarded-for'), perAddress.trusted);
        if (!perAddress.take(address)) {
          metrics.upgrades.inc({ result: 'over_ip_limit' });
          metrics.refusals.inc({ reason: 'ip_upgrades' });
          return void res
            .writeStatus('429 Too Many Requests')
            .writeHeader('Retry-After', String(perAddress.retryAfterSec()))
            .end(`too many connection attempts from this address: at most ${upgradesPerIpPerSecond} per second (burst ${upgradesPerIpBurst})`);
        }
      }
      const { token, protocols } = extractToken({
        authorization: req.getHeader('authorization'),
        protocol: req.getHeader('sec-websocket-protocol'),
        query: req.getQuery() ?? '',
      });
      // Answer with our protocol when offered; a client that offered only a token entry gets none back.
      const protocol = protocols.includes(PROTOCOL_NAME) ? PROTOCOL_NAME : '';
      const data: SocketData = { session: new Session(nextId++, deps.authenticator.verify(token), deps.session) };
      res.upgrade(data, req.getHeader('sec-websocket-key'), protocol, req.getHeader('sec-websocket-extensions'), context);
    },
    open: guarded(logger, 'open', (ws) => session(ws).opened(ws as Socket<SocketData>)),
    message: guarded(logger, 'message', (ws, message: ArrayBuffer, isBinary: boolean) => session(ws).frame(message, isBinary)),
    drain: guarded(logger, 'drain', (ws) => session(ws).drained()),
    close: (ws, code, message) => {
      try {
        session(ws).closed(code, message);
      } catch (err) {
        logger.error({ err, callback: 'close' }, 'websocket close handler failed');
      }
    },
  });
}
