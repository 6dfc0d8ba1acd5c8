/**
 * What a client does after its connection closed, by close code
 * (docs/protocol.md, "Close codes and reconnecting").
 */
import { CLOSE_CODES } from '../protocol/index.js';

export type CloseAction =
  /** back off, reconnect with the same token, resume */
  | 'reconnect'
  /** the server restarted: reconnect with the backoff counter reset, resume */
  | 'reconnect-fresh'
  /** the token expired: get a fresh one before reconnecting */
  | 'refresh-token'
  /** the token was refused: reconnecting with it can only fail again */
  | 'stop-unauthorized'
  /** 4009: the subject has all its connections open elsewhere; reconnecting in a loop would only be refused again */
  | 'stop-too-many';

export function closeAction(code: number): CloseAction {
  switch (code) {
    case CLOSE_CODES.UNAUTHORIZED.code:
      return 'stop-unauthorized';
    case CLOSE_CODES.TOO_MANY_CONNECTIONS.code:
      return 'stop-too-many';
    case CLOSE_CODES.TOKEN_EXPIRED.code:
      return 'refresh-token';
    case CLOSE_CODES.SERVER_RESTART.code:
      return 'reconnect-fresh';
    default:
      // 1013 (keys unreachable), 4008 (slow consumer), 1006 (network) and anything unknown:
      // the protocol says to treat them alike. A 1000 we did not ask for is unknown too.
      return 'reconnect';
  }
}
