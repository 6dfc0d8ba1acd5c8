/**
 * gateway/auth.ts and gateway/jwks.ts against real jose tokens, real JWKS
 * servers on loopback (one that rotates its keys, serves garbage, is slow or
 * down), and the token script.
 */
import { execFile } from 'node:child_process';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { exportJWK, generateKeyPair, SignJWT, type CryptoKey, type JWK } from 'jose';
import { describe, it, expect, beforeAll, afterAll } from 'vitest';
import {
  createAuthenticator,
  DEV_JWT_SECRET,
  extractToken,
  hasScope,
  mintDevToken,
  SCOPES,
  type AuthResult,
  type Principal,
} from '../gateway/auth.js';
import { freePort } from './support/net.js';

const REPO_ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const SECRET = 'test-secret-0123456789';
const enc = (s: string) => new TextEncoder().encode(s);
const b64url = (v: unknown) => Buffer.from(JSON.stringify(v)).toString('base64url');
const nowSec = () => Math.floor(Date.now() / 1000);

function principalOf(r: AuthResult): Principal {
  if (!r.ok) throw new Error(`expected success, got refusal: ${r.reason}`);
  return r.principal;
}

/** A refusal for good: the token will never be accepted (WebSocket close 4001). */
function expectRefused(r: AuthResult, reason: string): void {
  expect(r).toEqual({ ok: false, code: 'UNAUTHORIZED', reason, retryable: false });
}

/** The token was not judged: the client should retry it later (WebSocket close 1013). */
function expectRetryable(r: AuthResult): void {
  expect(r).toEqual({ ok: false, code: 'UNAUTHORIZED', reason: 'key set unavailable', retryable: true });
}

/** An HS256 token with arbitrary claims, for cases mintDevToken cannot produce. */
function hsToken(claims: Record<string, unknown>, secret = SECRET): Promise<string> {
  return new SignJWT(claims).setProtectedHeader({ alg: 'HS256', typ: 'JWT' }).sign(enc(secret));
}

describe('HS256 (development secret)', () => {
  const auth = createAuthenticator({ jwtSecret: SECRET, allowAnonymous: false });

  it('verifies a token from mintDevToken', async () => {
    const before = Date.now();
    const token = await mintDevToken(SECRET, { sub: 'alice', scope: 'seats:read seats:hold', ttlSec: 600 });
    const p = principalOf(await auth.verify(token));
    expect(p.sub).toBe('alice');
    expect([...p.scopes].sort()).toEqual(['seats:hold', 'seats:read']);
    expect(hasScope(p, 'seats:hold')).toBe(true);
    expect(hasScope(p, 'seats:book')).toBe(false);
    // exp has whole-second resolution
    expect(p.expiresAt).toBeGreaterThanOrEqual(Math.floor(before / 1000) * 1000 + 600_000);
    expect(p.expiresAt).toBeLessThanOrEqual(Date.now() + 600_000);
  });

  it('drops unknown scopes and reads the scp array form', async () => {
    const fromScope = principalOf(await auth.verify(await mintDevToken(SECRET, { sub: 'a', scope: 'seats:read  root  admin openid' })));
    expect([...fromScope.scopes].sort()).toEqual(['admin', 'seats:read']);

    const fromScp = principalOf(await auth.verify(await hsToken({ sub: 'b', scp: ['seats:book', 'nope', 42, 'seats:read'] })));
    expect([...fromScp.scopes].sort()).toEqual(['seats:book', 'seats:read']);
    expect(fromScp.expiresAt).toBeNull(); // no exp claim
  });

  it('exports the scopes in order', () => {
    expect(SCOPES).toEqual(['seats:read', 'seats:hold', 'seats:book', 'admin', 'seats:door', 'seats:box-office']);
  });

  it('refuses alg none', async () => {
    const token = `${b64url({ alg: 'none', typ: 'JWT' })}.${b64url({ sub: 'mallory', scope: 'admin' })}.`;
    expectRefused(await auth.verify(token), 'unsupported algorithm');
  });

  it('refuses a token signed with another secret', async () => {
    const token = await mintDevToken('some-other-secret', { sub: 'alice', scope: 'admin' });
    expectRefused(await auth.verify(token), 'bad signature');
  });

  it('refuses expired tokens beyond the clock tolerance, accepts within it', async () => {
    expectRefused(await auth.verify(await hsToken({ sub: 'a', exp: nowSec() - 60 })), 'token expired');
    // default tolerance is 5 s
    expect((await auth.verify(await hsToken({ sub: 'a', exp: nowSec() - 2 }))).ok).toBe(true);
  });

  it('refuses tokens that are not yet valid', async () => {
    expectRefused(await auth.verify(await hsToken({ sub: 'a', nbf: nowSec() + 120 })), 'token not yet valid');
  });

  it('refuses a missing, empty, non-string or overlong sub', async () => {
    expectRefused(await auth.verify(await hsToken({ scope: 'seats:read' })), 'missing or invalid sub');
    expectRefused(await auth.verify(await hsToken({ sub: '' })), 'missing or invalid sub');
    expectRefused(await auth.verify(await hsToken({ sub: 12 })), 'missing or invalid sub');
    expectRefused(await auth.verify(await hsToken({ sub: 'x'.repeat(129) })), 'missing or invalid sub');
    expect((await auth.verify(await hsToken({ sub: 'x'.repeat(128) }))).ok).toBe(true);
  });

  it('refuses a sub that is not safe text: control characters, unpaired surrogates, U+FFFD (core/text.ts)', async () => {
    // a NUL would reach Postgres as the holder, which refuses it for good: the booking would be stuck
    for (const sub of ['ali\u0000ce', 'tab\there', 'line\nbreak', 'del\u007f', 'c1\u0085', 'lone\ud800', 'low\udc00x', 'bad\ufffdutf8']) {
      expectRefused(await auth.verify(await hsToken({ sub, scope: 'seats:book' })), 'missing or invalid sub');
    }
    // the same rule accepts any other Unicode, pairs of surrogates included
    for (const sub of ['zoë', '山田', 'emoji-\u{1F3AB}', 'a b.c@d']) {
      expect(principalOf(await auth.verify(await hsToken({ sub }))).sub).toBe(sub);
    }
  });

  it('refuses garbage without throwing', async () => {
    expectRefused(await auth.verify('not a token at all'), 'malformed token');
    expectRefused(await auth.verify('a.b.c'), 'malformed token');
    expectRefused(await auth.verify('x'.repeat(10_000)), 'token too long');
    const valid = await mintDevToken(SECRET, { sub: 'a', scope: 'seats:read' });
    expectRefused(await auth.verify(valid.slice(0, -4)), 'bad signature');
  });

  it('refuses an RS256 token when only a secret is configured', async () => {
    const { privateKey } = await generateKeyPair('RS256');
    const token = await new SignJWT({ sub: 'a' }).setProtectedHeader({ alg: 'RS256' }).sign(privateKey);
    expectRefused(await auth.verify(token), 'unsupported algorithm');
  });

  it('checks issuer and audience when configured', async () => {
    const strict = createAuthenticator({ jwtSecret: SECRET, issuer: 'https://idp.test', audience: 'seatmap', allowAnonymous: false });
    const good = await mintDevToken(SECRET, { sub: 'a', scope: 'seats:read', issuer: 'https://idp.test', audience: 'seatmap' });
    expect(principalOf(await strict.verify(good)).sub).toBe('a');
    const wrongAud = await mintDevToken(SECRET, { sub: 'a', scope: 'seats:read', issuer: 'https://idp.test', audience: 'other' });
    expectRefused(await strict.verify(wrongAud), 'wrong audience');
    const wrongIss = await mintDevToken(SECRET, { sub: 'a', scope: 'seats:read', issuer: 'https://evil.test', audience: 'seatmap' });
    expectRefused(await strict.verify(wrongIss), 'wrong issuer');
    const neither = await mintDevToken(SECRET, { sub: 'a', scope: 'seats:read' });
    expect((await strict.verify(neither)).ok).toBe(false);
  });
});

describe('anonymous viewers', () => {
  it('get a read-only principal when allowed', async () => {
    const auth = createAuthenticator({ jwtSecret: SECRET, allowAnonymous: true });
    for (const token of [null, '']) {
      const p = principalOf(await auth.verify(token));
      expect(p.sub).toBeNull();
      expect([...p.scopes]).toEqual(['seats:read']);
      expect(p.expiresAt).toBeNull();
    }
    // allowing anonymous access does not let bad tokens through
    expectRefused(await auth.verify('a.b.c'), 'malformed token');
  });

  it('are refused when not allowed', async () => {
    const auth = createAuthenticator({ jwtSecret: SECRET, allowAnonymous: false });
    expectRefused(await auth.verify(null), 'token required');
    expectRefused(await auth.verify(''), 'token required');
  });

  it('without any verifier: tokens refused, anonymous still per configuration', async () => {
    const token = await mintDevToken(SECRET, { sub: 'a', scope: 'seats:read' });
    const open = createAuthenticator({ allowAnonymous: true });
    expectRefused(await open.verify(token), 'no token verifier configured');
    expect(principalOf(await open.verify(null)).sub).toBeNull();
    const closed = createAuthenticator({ allowAnonymous: false });
    expectRefused(await closed.verify(token), 'no token verifier configured');
    expectRefused(await closed.verify(null), 'token required');
  });
});

describe('JWKS (RS256, ES256, EdDSA)', () => {
  const ALGS = ['RS256', 'ES256', 'EdDSA'] as const;
  const signers = new Map<string, CryptoKey>();
  let server: http.Server;
  let jwksUrl = '';
  let jwksRequests = 0;

  beforeAll(async () => {
    const keys: JWK[] = [];
    for (const alg of ALGS) {
      const { publicKey, privateKey } = await generateKeyPair(alg, { extractable: true });
      keys.push({ ...(await exportJWK(publicKey)), kid: `key-${alg}`, alg, use: 'sig' });
      signers.set(alg, privateKey);
    }
    const body = JSON.stringify({ keys });
    server = http.createServer((req, res) => {
      jwksRequests++;
      if (req.url !== '/.well-known/jwks.json') return void res.writeHead(404).end();
      res.writeHead(200, { 'content-type': 'application/json' }).end(body);
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    jwksUrl = `http://127.0.0.1:${(server.address() as AddressInfo).port}/.well-known/jwks.json`;
  });

  afterAll(async () => {
    await new Promise<void>((resolve) => server.close(() => resolve()));
  });

  const sign = (alg: string, key: CryptoKey, kid: string, claims: Record<string, unknown> = { sub: 'carol', scope: 'seats:book' }) =>
    new SignJWT(claims).setProtectedHeader({ alg, kid }).setExpirationTime('5m').sign(key);

  it('verifies tokens signed by each key in the set, fetching the set once', async () => {
    const auth = createAuthenticator({ jwksUrl, allowAnonymous: false });
    const requestsBefore = jwksRequests;
    for (const alg of ALGS) {
      const p = principalOf(await auth.verify(await sign(alg, signers.get(alg)!, `key-${alg}`)));
      expect(p.sub).toBe('carol');
      expect([...p.scopes]).toEqual(['seats:book']);
      expect(p.expiresAt).toBeGreaterThan(Date.now());
    }
    expect(jwksRequests - requestsBefore).toBe(1);
  });

  it('refuses a token signed by a key that is not in the set', async () => {
    const auth = createAuthenticator({ jwksUrl, allowAnonymous: false });
    const { privateKey } = await generateKeyPair('ES256');
    expectRefused(await auth.verify(await sign('ES256', privateKey, 'not-in-set')), 'unknown signing key');
    // same kid as a real key, different key material
    expectRefused(await auth.verify(await sign('ES256', privateKey, 'key-ES256')), 'bad signature');
  });

  it('refuses an HS256 token when only JWKS is configured', async () => {
    const auth = createAuthenticator({ jwksUrl, allowAnonymous: false });
    expectRefused(await auth.verify(await mintDevToken(SECRET, { sub: 'a', scope: 'admin' })), 'unsupported algorithm');
  });

  it('with both configured, picks the verifier by alg', async () => {
    const auth = createAuthenticator({ jwtSecret: SECRET, jwksUrl, allowAnonymous: false });
    expect(principalOf(await auth.verify(await mintDevToken(SECRET, { sub: 'dev', scope: 'seats:read' }))).sub).toBe('dev');
    expect(principalOf(await auth.verify(await sign('RS256', signers.get('RS256')!, 'key-RS256'))).sub).toBe('carol');
  });

  it('refuses with "key set unavailable", retryable, when the JWKS URL does not answer', async () => {
    const auth = createAuthenticator({ jwksUrl: `http://127.0.0.1:${await freePort()}/jwks.json`, allowAnonymous: false });
    expectRetryable(await auth.verify(await sign('RS256', signers.get('RS256')!, 'key-RS256')));
  });

  it('refuses with "key set unavailable" when the JWKS server hangs (timeout, not a hang)', async () => {
    const sockets = new Set<import('node:net').Socket>();
    const silent = http.createServer(() => {}); // never responds
    silent.on('connection', (s) => sockets.add(s));
    await new Promise<void>((resolve) => silent.listen(0, '127.0.0.1', resolve));
    try {
      const auth = createAuthenticator({ jwksUrl: `http://127.0.0.1:${(silent.address() as AddressInfo).port}/`, allowAnonymous: false });
      const started = Date.now();
      expectRetryable(await auth.verify(await sign('RS256', signers.get('RS256')!, 'key-RS256')));
      expect(Date.now() - started).toBeLessThan(10_000);
    } finally {
      for (const s of sockets) s.destroy();
      await new Promise<void>((resolve) => silent.close(() => resolve()));
    }
  });

  it('refuses with "key set unavailable", retryable, when the JWKS URL answers 404', async () => {
    const auth = createAuthenticator({ jwksUrl: jwksUrl.replace('jwks.json', 'missing.json'), allowAnonymous: false });
    expectRetryable(await auth.verify(await sign('RS256', signers.get('RS256')!, 'key-RS256')));
  });
});

describe('JWKS key rotation and outages', () => {
  type Mode = 'ok' | 'garbage' | 'not-a-set' | 'slow' | 'down';
  let mode: Mode = 'ok';
  let served: JWK[] = [];
  let fetches = 0;
  let server: http.Server;
  let url = '';
  const hanging = new Set<http.ServerResponse>();
  const keys = new Map<string, { jwk: JWK; privateKey: CryptoKey }>();
  const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

  beforeAll(async () => {
    for (const kid of ['A', 'B', 'C', 'D', 'E']) {
      const { publicKey, privateKey } = await generateKeyPair('ES256', { extractable: true });
      keys.set(kid, { jwk: { ...(await exportJWK(publicKey)), kid, alg: 'ES256', use: 'sig' }, privateKey });
    }
    server = http.createServer((req, res) => {
      fetches++;
      switch (mode) {
        case 'ok':
          return void res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify({ keys: served }));
        case 'garbage':
          return void res.writeHead(200, { 'content-type': 'application/json' }).end('<html>maintenance</html>');
        case 'not-a-set':
          return void res.writeHead(200, { 'content-type': 'application/json' }).end('{"keys": "rotating"}');
        case 'slow':
          return void hanging.add(res); // answers nothing; the fetch times out
        case 'down':
          return void req.socket.destroy();
      }
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/jwks.json`;
  });

  afterAll(async () => {
    for (const res of hanging) res.socket?.destroy();
    await new Promise<void>((resolve) => server.close(() => resolve()));
  });

  /** A token signed by key `kid` (one of A-E), or by a key no set ever serves under `kid`. */
  const tokenOf = async (kid: string) => {
    const key = keys.get(kid)?.privateKey ?? (await generateKeyPair('ES256')).privateKey;
    return new SignJWT({ sub: `user-${kid}`, scope: 'seats:read' }).setProtectedHeader({ alg: 'ES256', kid }).setExpirationTime('5m').sign(key);
  };
  const serve = (...kids: string[]) => {
    served = kids.map((kid) => keys.get(kid)!.jwk);
  };
  const fresh = (jwksRefetchIntervalMs: number) => {
    mode = 'ok';
    fetches = 0;
    return createAuthenticator({ jwksUrl: url, allowAnonymous: false, jwksRefetchIntervalMs });
  };

  it('accepts a token signed with a newly rotated key at once, with one more fetch of the set', async () => {
    serve('A');
    const auth = fresh(300);
    expect(principalOf(await auth.verify(await tokenOf('A'))).sub).toBe('user-A');
    expect(fetches).toBe(1);
    await sleep(400); // a rotation comes long after the last fetch; the refetch interval is shorter than that
    serve('A', 'B');
    expect(principalOf(await auth.verify(await tokenOf('B'))).sub).toBe('user-B');
    expect(fetches).toBe(2);
    expect(principalOf(await auth.verify(await tokenOf('A'))).sub).toBe('user-A');
    expect(fetches).toBe(2);
  });

  it('a key rotated in right after a fetch: retryable until the refetch interval allows a fetch, then accepted', async () => {
    serve('A');
    const auth = fresh(1500);
    expect((await auth.verify(await tokenOf('A'))).ok).toBe(true);
    serve('A', 'C');
    expectRetryable(await auth.verify(await tokenOf('C')));
    expect(fetches).toBe(1);
    await sleep(1600);
    expect(principalOf(await auth.verify(await tokenOf('C'))).sub).toBe('user-C');
    expect(fetches).toBe(2);
  });

  for (const outage of ['down', 'garbage', 'not-a-set', 'slow'] as const) {
    it(`an unknown key while the set is ${outage}: retryable, known keys still verify, accepted once the set is back`, async () => {
      serve('A');
      const auth = fresh(200);
      expect((await auth.verify(await tokenOf('A'))).ok).toBe(true);
      serve('A', 'D');
      mode = outage;
      await sleep(250);
      const started = Date.now();
      expectRetryable(await auth.verify(await tokenOf('D')));
      expect(Date.now() - started).toBeLessThan(5000); // the fetch timeout is 2 s
      expect(fetches).toBe(2);
      // the set in hand still serves the keys it has
      expect((await auth.verify(await tokenOf('A'))).ok).toBe(true);
      mode = 'ok';
      await sleep(250);
      expect(principalOf(await auth.verify(await tokenOf('D'))).sub).toBe('user-D');
    });
  }

  it('a set that is down from the start: every token retryable, fetched at most once per interval', async () => {
    serve('A');
    const auth = fresh(10_000);
    mode = 'down';
    for (let i = 0; i < 20; i++) expectRetryable(await auth.verify(await tokenOf('A')));
    expect(fetches).toBe(1);
  });

  it('a truly unknown key with the set up is refused for good, and floods of unknown keys fetch the set at most once per interval', async () => {
    serve('A', 'E');
    const interval = 300;
    const auth = fresh(interval);
    expect((await auth.verify(await tokenOf('A'))).ok).toBe(true);
    await sleep(interval + 100);

    // many at once, each with a key no set has: one fetch, made for them, so they are all refused for good
    const unknown = await Promise.all(Array.from({ length: 40 }, (_, i) => tokenOf(`never-${i}`)));
    for (const r of await Promise.all(unknown.map((t) => auth.verify(t)))) expectRefused(r, 'unknown signing key');
    expect(fetches).toBe(2);
    // the same tokens again: known to be missing from the set just fetched, refused for good without a fetch
    for (const t of unknown.slice(0, 10)) expectRefused(await auth.verify(t), 'unknown signing key');
    expect(fetches).toBe(2);

    // a second of ever new unknown keys: refused for good or retryable, never accepted, and the set fetched
    // at most once per interval; real keys go on verifying meanwhile
    const floodStarted = Date.now();
    let n = 0;
    while (Date.now() - floodStarted < 1000) {
      const r = await auth.verify(await tokenOf(`flood-${n++}`));
      expect(r.ok).toBe(false);
      if (n % 10 === 0) expect((await auth.verify(await tokenOf('E'))).ok).toBe(true);
      await sleep(5);
    }
    expect(n).toBeGreaterThan(20);
    expect(fetches - 2).toBeLessThanOrEqual(Math.ceil((Date.now() - floodStarted) / interval) + 1);
  });
});

describe('extractToken', () => {
  const none = { authorization: '', protocol: '', query: '' };

  it('prefers the Authorization header', () => {
    expect(extractToken({ authorization: 'Bearer hdr', protocol: 'seatmap.v1, bearer.proto', query: 'token=q' })).toEqual({
      token: 'hdr',
      protocols: ['seatmap.v1'],
    });
  });

  it('reads a bearer.<jwt> subprotocol entry and lists the others', () => {
    expect(extractToken({ ...none, protocol: 'seatmap.v1, bearer.aaa.bbb.ccc' })).toEqual({ token: 'aaa.bbb.ccc', protocols: ['seatmap.v1'] });
    expect(extractToken({ ...none, protocol: ' seatmap.v1 ,other ' })).toEqual({ token: null, protocols: ['seatmap.v1', 'other'] });
  });

  it('falls back to token= in the query, URL-decoded', () => {
    expect(extractToken({ ...none, query: 'a=1&token=xyz' })).toEqual({ token: 'xyz', protocols: [] });
    expect(extractToken({ ...none, query: 'token=a%2Eb%2Ec' }).token).toBe('a.b.c');
  });

  it('gives null when there is no token', () => {
    expect(extractToken(none)).toEqual({ token: null, protocols: [] });
    expect(extractToken({ authorization: 'Basic dXNlcjpwYXNz', protocol: 'seatmap.v1', query: 'a=1&token=' })).toEqual({
      token: null,
      protocols: ['seatmap.v1'],
    });
  });
});

describe('scripts/token.ts', () => {
  const run = (args: string[]) =>
    new Promise<{ code: number | null; stdout: string; stderr: string }>((resolve) => {
      execFile(process.execPath, ['--import', 'tsx', 'scripts/token.ts', ...args], { cwd: REPO_ROOT, timeout: 20_000 }, (err, stdout, stderr) =>
        resolve({ code: err ? (typeof err.code === 'number' ? err.code : null) : 0, stdout, stderr }),
      );
    });

  it('prints one token that verifies with the given secret', async () => {
    const { code, stdout } = await run(['--sub', 'alice', '--scope', 'seats:read admin', '--secret', 's3cret']);
    expect(code).toBe(0);
    const lines = stdout.split('\n').filter(Boolean);
    expect(lines).toHaveLength(1);
    const p = principalOf(await createAuthenticator({ jwtSecret: 's3cret', allowAnonymous: false }).verify(lines[0]!));
    expect(p.sub).toBe('alice');
    expect([...p.scopes].sort()).toEqual(['admin', 'seats:read']);
    expect(p.expiresAt).toBeGreaterThan(Date.now() + 3_500_000); // default ttl 3600 s
  });

  it('exits 2 on an unknown scope or a missing --sub', async () => {
    const bad = await run(['--sub', 'alice', '--scope', 'seats:read superuser', '--secret', 's3cret']);
    expect(bad.code).toBe(2);
    expect(bad.stdout).toBe('');
    expect(bad.stderr).toMatch(/unknown scope: superuser/);
    expect((await run(['--scope', 'seats:read'])).code).toBe(2);
  });

  it('falls back to the development secret with a warning', async () => {
    const env = { ...process.env };
    delete env.JWT_SECRET;
    const result = await new Promise<{ stdout: string; stderr: string }>((resolve, reject) =>
      execFile(process.execPath, ['--import', 'tsx', 'scripts/token.ts', '--sub', 'dev'], { cwd: REPO_ROOT, env, timeout: 20_000 }, (err, stdout, stderr) =>
        err ? reject(err) : resolve({ stdout, stderr }),
      ),
    );
    expect(result.stderr).toMatch(/warning/);
    const p = principalOf(await createAuthenticator({ jwtSecret: DEV_JWT_SECRET, allowAnonymous: false }).verify(result.stdout.trim()));
    expect([...p.scopes].sort()).toEqual(['seats:book', 'seats:hold', 'seats:read']);
  });
});
