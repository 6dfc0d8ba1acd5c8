/**
 * The demo seat map (gateway/demo/): `GET /` serves the page, `GET
 * /demo/app.js` its script, bundled with esbuild on first request and kept
 * in memory, and `GET /demo/token` hands out development tokens, but only on
 * a gateway that trusts the public development secret (docs/client.md).
 */
import { createHash, randomBytes } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { fileURLToPath } from 'node:url';
import type { Logger } from 'pino';
import type { TemplatedApp } from 'uWebSockets.js';
import { DEV_JWT_SECRET, mintDevToken, type Authenticator } from './auth.js';
import { asyncHandler, sendError, sendJson, sendRaw } from './http-util.js';

/** Scopes of a demo token: watch, hold and book; never admin. */
export const DEMO_TOKEN_SCOPE = 'seats:read seats:hold seats:book';
export const DEMO_TOKEN_TTL_SEC = 15 * 60;
const SUBJECT = /^guest-[A-Za-z0-9_-]{1,40}$/;

const PAGE = fileURLToPath(new URL('./demo/index.html', import.meta.url));
const ENTRY = fileURLToPath(new URL('./demo/app.ts', import.meta.url));
const HASH_PLACEHOLDER = '%BUNDLE_HASH%';

interface DemoAssets {
  html: string;
  script: string;
  /** content hash of the script: the page asks for /demo/app.js?v=<hash> */
  hash: string;
}

let assets: Promise<DemoAssets> | null = null;

/** Bundles the page's script once per process (the first request pays for it, about a second). */
export function demoAssets(): Promise<DemoAssets> {
  assets ??= buildAssets().catch((err: unknown) => {
    assets = null; // let a later request try again (e.g. after fixing a syntax error in development)
    throw err;
  });
  return assets;
}

async function buildAssets(): Promise<DemoAssets> {
  const { build } = await import('esbuild');
  const result = await build({
    entryPoints: [ENTRY],
    bundle: true,
    write: false,
    format: 'esm',
    platform: 'browser',
    target: ['es2022'],
    minify: true,
    sourcemap: false,
    legalComments: 'none',
    logLevel: 'silent',
  });
  const script = result.outputFiles[0]!.text;
  const hash = createHash('sha256').update(script).digest('hex').slice(0, 16);
  const html = (await readFile(PAGE, 'utf8')).replaceAll(HASH_PLACEHOLDER, hash);
  return { html, script, hash };
}

export interface DemoRouteDeps {
  authenticator: Authenticator;
  logger: Logger;
}

export function registerDemoRoutes(app: TemplatedApp, deps: DemoRouteDeps): void {
  const { logger } = deps;
  let devSecretTrusted: Promise<boolean> | null = null;
  /**
   * Demo tokens are only safe where they give nothing away: on a gateway that
   * accepts tokens signed with the published development secret, anyone can
   * mint their own already (npm run token). Asking the gateway's own
   * authenticator covers every configuration (another secret, JWKS, issuer or
   * audience set: all refuse the probe).
   */
  const trustsDevSecret = () =>
    (devSecretTrusted ??= mintDevToken(DEV_JWT_SECRET, { sub: 'guest-probe', scope: 'seats:read', ttlSec: 60 })
      .then((probe) => deps.authenticator.verify(probe))
      .then((result) => result.ok));

  app.get(
    '/',
    asyncHandler(async (res, _req, ctx) => {
      const { html } = await demoAssets();
      if (ctx.aborted) return;
      sendRaw(res, 200, { 'Content-Type': 'text/html; charset=utf-8', 'Cache-Control': 'no-cache' }, html);
    }, logger),
  );

  // browsers ask for it on every page; an empty answer keeps the 404 out of their consoles
  app.get('/favicon.ico', (res) => sendRaw(res, 204, { 'Cache-Control': 'public, max-age=86400' }));

  app.get(
    '/demo/app.js',
    asyncHandler(async (res, req, ctx) => {
      const version = req.getQuery('v');
      const { script, hash } = await demoAssets();
      if (ctx.aborted) return;
      // the page names the script by its content hash, so that URL never changes meaning
      const cache = version === hash ? 'public, max-age=31536000, immutable' : 'no-cache';
      sendRaw(res, 200, { 'Content-Type': 'text/javascript; charset=utf-8', 'Cache-Control': cache, ETag: `"${hash}"` }, script);
    }, logger),
  );

  app.get(
    '/demo/token',
    asyncHandler(async (res, req, ctx) => {
      const asked = req.getQuery('sub') ?? '';
      if (!(await trustsDevSecret())) {
        if (ctx.aborted) return;
        return sendError(res, 'FORBIDDEN', 'demo tokens are only handed out by a gateway running on the development secret');
      }
      const sub = SUBJECT.test(asked) ? asked : `guest-${randomBytes(6).toString('hex')}`;
      const token = await mintDevToken(DEV_JWT_SECRET, { sub, scope: DEMO_TOKEN_SCOPE, ttlSec: DEMO_TOKEN_TTL_SEC });
      if (ctx.aborted) return;
      sendJson(res, 200, { token, sub, expiresAt: Date.now() + DEMO_TOKEN_TTL_SEC * 1000 }, { 'Cache-Control': 'no-store' });
    }, logger),
  );
}
