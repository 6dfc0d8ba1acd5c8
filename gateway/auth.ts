/**
 * JWT verification for WebSocket upgrades and admin HTTP calls.
 *
 * Development uses an HS256 shared secret; production a JWKS URL (RS256, ES256, EdDSA).
 * The token header's `alg` picks the verifier, and each verifier accepts only its own
 * algorithms, so an RS256 public key can never be used as an HMAC secret (alg confusion).
 * `verify` never throws: every failure becomes `{ ok: false, code: 'UNAUTHORIZED', reason, retryable }`.
 * `retryable` is true only when the token could not be judged (the key set could not be
 * consulted, gateway/jwks.ts): the same token may succeed later. Otherwise it never will.
 */
import { decodeProtectedHeader, errors, jwtVerify, SignJWT, type JWTPayload, type JWTVerifyGetKey, type JWTVerifyOptions } from 'jose';
import { PROTOCOL_NAME, TOKEN_PROTOCOL_PREFIX } from '../core/protocol/index.js';
import { parseChannelClaim } from '../core/store/channel-keys.js';
import { textProblem } from '../core/text.js';
import { KeySetUnavailable, RemoteKeySet } from './jwks.js';

/** Every scope a token may carry (docs/protocol.md#scopes); `seats:box-office` books free seats directly, without a hold. */
export type Scope = 'seats:read' | 'seats:hold' | 'seats:book' | 'admin' | 'seats:door' | 'seats:box-office';
export const SCOPES: readonly Scope[] = Object.freeze(['seats:read', 'seats:hold', 'seats:book', 'admin', 'seats:door', 'seats:box-office'] as const);

export interface Principal {
  /** the JWT `sub`; null for an anonymous viewer */
  sub: string | null;
  scopes: ReadonlySet<Scope>;
  /** ms since epoch when the token expires (from `exp`), null when no expiry / anonymous */
  expiresAt: number | null;
  /** the JWT's `acc: true` claim: the holder may take protected wheelchair seats */
  accessible?: boolean;
  /** the JWT's `chan` claim: the sales channels (presales) whose reserved seats the holder may take */
  channels?: readonly string[];
}

/** Whether a principal may hold protected wheelchair seats: the `acc` claim or the box-office scope. */
export function mayHoldAccessible(p: Principal): boolean {
  return p.accessible === true || p.scopes.has('seats:box-office');
}

export interface AuthConfig {
  /** HS256 shared secret (development) */
  jwtSecret?: string;
  /** JWKS URL (production): RS256, ES256 and EdDSA keys */
  jwksUrl?: string;
  issuer?: string;
  audience?: string;
  /** a missing token gives a read-only anonymous principal instead of a refusal */
  allowAnonymous: boolean;
  /** seconds of clock skew tolerated for exp/nbf; default 5 */
  clockToleranceSec?: number;
  /** least time between two fetches of the JWKS, successful or not; default 5000 */
  jwksRefetchIntervalMs?: number;
  /** a JWKS older than this is fetched again before use; default 600000 */
  jwksMaxAgeMs?: number;
}

export interface AuthRefusal {
  ok: false;
  code: 'UNAUTHORIZED';
  /** short, for people: logs and close reasons */
  reason: string;
  /**
   * true: the token was not judged (the key set is unreachable, not a key set,
   * too slow, or cannot be fetched again yet for a key it lacks). The client
   * should keep the token and come back later (WebSocket close 1013).
   * false: the token is refused for good (4001). Always set by the authenticator;
   * optional only so that results made elsewhere (server.ts) need not say.
   */
  retryable: boolean;
}

export type AuthResult = { ok: true; principal: Principal } | AuthRefusal;

export interface Authenticator {
  verify(token: string | null): Promise<AuthResult>;
}

/** The secret `npm start` and `npm run token` share when JWT_SECRET is not set (development only). */
export const DEV_JWT_SECRET = 'seatmap-development-secret-do-not-use-in-production';

/** Longer tokens are refused before any parsing (cheap protection against oversized input). */
export const MAX_TOKEN_LENGTH = 8192;
export const MAX_SUB_LENGTH = 128;
const DEFAULT_CLOCK_TOLERANCE_SEC = 5;
/** A slow key server must not hold an upgrade open for jose's default 5 s. */
const JWKS_TIMEOUT_MS = 2000;
export const DEFAULT_JWKS_REFETCH_INTERVAL_MS = 5000;
export const DEFAULT_JWKS_MAX_AGE_MS = 600_000;
/** The refusal reason of every retryable refusal (the server closes with 1013 on it). */
export const KEY_SET_UNAVAILABLE = 'key set unavailable';
const HMAC_ALGS = ['HS256'];
const JWKS_ALGS = ['RS256', 'ES256', 'EdDSA'];

export function hasScope(p: Principal, s: Scope): boolean {
  return p.scopes.has(s);
}

export function isScope(s: string): s is Scope {
  return (SCOPES as readonly string[]).includes(s);
}

const refuse = (reason: string): AuthRefusal => ({ ok: false, code: 'UNAUTHORIZED', reason, retryable: false });

export function createAuthenticator(config: AuthConfig): Authenticator {
  // An empty secret would make HMAC signatures forgeable by anyone, so treat it as "not configured".
  const secret = config.jwtSecret ? new TextEncoder().encode(config.jwtSecret) : null;
  const keySet = config.jwksUrl
    ? new RemoteKeySet(new URL(config.jwksUrl), {
        timeoutMs: JWKS_TIMEOUT_MS,
        refetchIntervalMs: config.jwksRefetchIntervalMs ?? DEFAULT_JWKS_REFETCH_INTERVAL_MS,
        maxAgeMs: config.jwksMaxAgeMs ?? DEFAULT_JWKS_MAX_AGE_MS,
      })
    : null;
  const jwksKey: JWTVerifyGetKey | null = keySet && ((header, token) => keySet.getKey(header, token));

  const common: JWTVerifyOptions = {
    clockTolerance: config.clockToleranceSec ?? DEFAULT_CLOCK_TOLERANCE_SEC,
    ...(config.issuer !== undefined && { issuer: config.issuer }),
    ...(config.audience !== undefined && { audience: config.audience }),
  };

  async function verifyToken(token: string): Promise<AuthResult> {
    if (!secret && !jwksKey) return refuse('no token verifier configured');
    if (token.length > MAX_TOKEN_LENGTH) return refuse('token too long');
    let alg: unknown;
    try {
      alg = decodeProtectedHeader(token).alg;
    } catch {
      return refuse('malformed token');
    }
    let payload: JWTPayload;
    if (secret && typeof alg === 'string' && HMAC_ALGS.includes(alg)) {
      ({ payload } = await jwtVerify(token, secret, { ...common, algorithms: HMAC_ALGS }));
    } else if (jwksKey && typeof alg === 'string' && JWKS_ALGS.includes(alg)) {
      ({ payload } = await jwtVerify(token, jwksKey, { ...common, algorithms: JWKS_ALGS }));
    } else {
      return refuse('unsupported algorithm'); // includes alg "none"
    }
    // the holder in Redis and Postgres: the shared rule for outside text (a NUL would be refused by Postgres for good)
    const { sub } = payload;
    if (typeof sub !== 'string' || textProblem(sub, MAX_SUB_LENGTH) !== null) return refuse('missing or invalid sub');
    // sales-channel keys: hostile input like the rest; a claim that is not one is refused, not ignored
    const channels = parseChannelClaim(payload.chan);
    if (channels === null) return refuse('invalid chan claim');
    return {
      ok: true,
      principal: {
        sub,
        scopes: new Set([...claimScopes(payload.scope), ...claimScopes(payload.scp)].filter(isScope)),
        expiresAt: typeof payload.exp === 'number' ? payload.exp * 1000 : null,
        ...(payload.acc === true && { accessible: true }),
        ...(channels.length > 0 && { channels }),
      },
    };
  }

  return {
    async verify(token) {
      if (token === null || token === '') {
        return config.allowAnonymous
          ? { ok: true, principal: { sub: null, scopes: new Set<Scope>(['seats:read']), expiresAt: null } }
          : refuse('token required');
      }
      try {
        return await verifyToken(token);
      } catch (err) {
        if (err instanceof KeySetUnavailable) return { ok: false, code: 'UNAUTHORIZED', reason: KEY_SET_UNAVAILABLE, retryable: true };
        return refuse(reasonFor(err));
      }
    },
  };
}

/** `scope` is an OAuth 2 space-separated string; `scp` is usually an array (some issuers use a string). */
function claimScopes(value: unknown): string[] {
  if (typeof value === 'string') return value.split(/\s+/).filter(Boolean);
  if (Array.isArray(value)) return value.filter((v): v is string => typeof v === 'string');
  return [];
}

/** Short human reasons; the details of a refusal belong in logs, not in responses. */
function reasonFor(err: unknown): string {
  if (err instanceof errors.JWTExpired) return 'token expired';
  if (err instanceof errors.JWTClaimValidationFailed) {
    switch (err.claim) {
      case 'nbf': return 'token not yet valid';
      case 'iss': return 'wrong issuer';
      case 'aud': return 'wrong audience';
      case 'sub': return 'missing or invalid sub';
      default: return `invalid ${err.claim} claim`;
    }
  }
  if (err instanceof errors.JWSSignatureVerificationFailed) return 'bad signature';
  if (err instanceof errors.JOSEAlgNotAllowed || err instanceof errors.JOSENotSupported) return 'unsupported algorithm';
  if (err instanceof errors.JWKSNoMatchingKey) return 'unknown signing key';
  if (err instanceof errors.JWKSMultipleMatchingKeys) return 'ambiguous signing key';
  if (err instanceof errors.JWSInvalid || err instanceof errors.JWTInvalid) return 'malformed token';
  return 'invalid token';
}

export interface TokenSources {
  authorization: string;
  protocol: string;
  query: string;
}

export { PROTOCOL_NAME, TOKEN_PROTOCOL_PREFIX };

/** The token of an `Authorization: Bearer <token>` header (RFC 6750: the scheme, spaces or tabs, the token), or null. */
export function bearerToken(authorizationHeader: string | null | undefined): string | null {
  if (!authorizationHeader) return null;
  return /^Bearer[ \t]+(\S+)[ \t]*$/i.exec(authorizationHeader)?.[1] ?? null;
}

/** Finds the token: `Authorization: Bearer <jwt>` first, then a `bearer.<jwt>` entry in the
 *  comma-separated Sec-WebSocket-Protocol header, then `token=` in the raw query string (URL-decoded).
 *  `protocols` lists the other (non-token) subprotocol entries, trimmed. Empty strings mean absent. */
export function extractToken(sources: TokenSources): { token: string | null; protocols: string[] } {
  let token: string | null = bearerToken(sources.authorization);
  const protocols: string[] = [];
  for (const entry of sources.protocol.split(',')) {
    const p = entry.trim();
    if (p === '') continue;
    // Token entries never count as protocols, even when the header already supplied the token:
    // the server must not echo a credential back as the selected subprotocol.
    if (p.startsWith(TOKEN_PROTOCOL_PREFIX)) token ??= p.slice(TOKEN_PROTOCOL_PREFIX.length) || null;
    else protocols.push(p);
  }
  if (token === null && sources.query !== '') {
    token = new URLSearchParams(sources.query).get('token') || null;
  }
  return { token, protocols };
}

/** Development tokens (HS256). scope is a space-separated string of scopes. */
export async function mintDevToken(
  secret: string,
  claims: { sub: string; scope: string; ttlSec?: number; issuer?: string; audience?: string; acc?: boolean; chan?: string | readonly string[] },
): Promise<string> {
  const ttlSec = claims.ttlSec ?? 3600;
  if (!secret) throw new Error('mintDevToken: empty secret');
  if (!Number.isInteger(ttlSec) || ttlSec <= 0) throw new RangeError('mintDevToken: ttlSec must be a positive integer');
  const jwt = new SignJWT({ scope: claims.scope, ...(claims.acc && { acc: true }), ...(claims.chan !== undefined && { chan: claims.chan }) })
    .setProtectedHeader({ alg: 'HS256', typ: 'JWT' })
    .setSubject(claims.sub)
    .setIssuedAt()
    .setExpirationTime(Math.floor(Date.now() / 1000) + ttlSec);
  if (claims.issuer !== undefined) jwt.setIssuer(claims.issuer);
  if (claims.audience !== undefined) jwt.setAudience(claims.audience);
  return jwt.sign(new TextEncoder().encode(secret));
}
