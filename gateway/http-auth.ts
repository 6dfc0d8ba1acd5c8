/**
 * Who may call an HTTP route: the one check of a Bearer token and a scope for
 * every route that needs one (admin calls, and the scopes later routes add).
 * Admin calls always need a token, even where anonymous viewers are allowed.
 */
import type { HttpRequest } from 'uWebSockets.js';
import type { ErrorCode } from '../core/errors.js';
import { bearerToken, hasScope, type Authenticator, type Principal, type Scope } from './auth.js';
import type { RequestContext } from './http-util.js';

/** Answers a refused call; a route holding a body refuses through it (closing the connection). */
export type Refuse = (code: Extract<ErrorCode, 'UNAUTHORIZED' | 'FORBIDDEN'>, msg: string) => void;

/**
 * The principal of a valid token with `scope`, or null after `refuse` has
 * answered 401/403. Reads the request at once: call it before any await.
 */
export async function authorize(req: HttpRequest, ctx: RequestContext, authenticator: Authenticator, scope: Scope, refuse: Refuse): Promise<Principal | null> {
  const token = bearerToken(req.getHeader('authorization'));
  if (!token) {
    refuse('UNAUTHORIZED', `a token with the ${scope} scope is required (Authorization: Bearer <jwt>)`);
    return null;
  }
  const auth = await authenticator.verify(token);
  if (ctx.aborted) return null;
  if (!auth.ok) {
    refuse('UNAUTHORIZED', auth.reason);
    return null;
  }
  if (!hasScope(auth.principal, scope)) {
    refuse('FORBIDDEN', `the ${scope} scope is required`);
    return null;
  }
  return auth.principal;
}
