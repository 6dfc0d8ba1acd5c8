/** HS256 tokens for load clients, minted with the platform's HMAC (k6/crypto or node:crypto). */

/**
 * @param {import('./platform.js').Platform} platform
 * @param {string} secret
 * @param {{ sub: string, scope: string, ttlSec?: number }} claims
 */
export function mintToken(platform, secret, claims) {
  const iat = Math.floor(Date.now() / 1000);
  const header = platform.base64Url(JSON.stringify({ alg: 'HS256', typ: 'JWT' }));
  const payload = platform.base64Url(JSON.stringify({ sub: claims.sub, scope: claims.scope, iat, exp: iat + (claims.ttlSec || 3600) }));
  return `${header}.${payload}.${platform.hmacSha256Base64Url(secret, `${header}.${payload}`)}`;
}

/**
 * The token of client `index`: minted for its own subject when a secret is
 * configured, else the one configured token (or none: anonymous viewer).
 * @param {import('./platform.js').Platform} platform
 * @param {{ jwtSecret: string, token: string, scope: string, subPrefix: string }} cfg
 * @param {string} subject
 */
export function tokenFor(platform, cfg, subject) {
  if (cfg.jwtSecret) return mintToken(platform, cfg.jwtSecret, { sub: `${cfg.subPrefix}-${subject}`, scope: cfg.scope });
  return cfg.token || null;
}
