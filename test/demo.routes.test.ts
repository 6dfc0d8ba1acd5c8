/**
 * The demo page's HTTP side: the SDK bundles for browsers, the gateway serves
 * the page and its script with the right types and caching, and hands out
 * demo tokens only where the development secret is trusted anyway.
 */
import { build } from 'esbuild';
import { decodeJwt } from 'jose';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DEV_JWT_SECRET, createAuthenticator } from '../gateway/auth.js';
import { DEMO_TOKEN_SCOPE } from '../gateway/demo-routes.js';
import { startTestGateway, wipePrefix, type TestGateway } from './support/gateway.js';
import { apiFetch } from './support/openapi.js';

describe('client SDK bundle', () => {
  it('bundles for browsers on its own: no Node built-ins, no require', async () => {
    // platform "browser" makes any node: import (or Node-only package) a build error
    const result = await build({
      entryPoints: ['core/client/index.ts'],
      bundle: true,
      write: false,
      platform: 'browser',
      format: 'esm',
      logLevel: 'silent',
    });
    const code = result.outputFiles[0]!.text;
    expect(code).toMatch(/export \{[^}]*\bSeatMapClient\b/);
    expect(code).not.toMatch(/\brequire\(/);
    expect(code).not.toMatch(/from\s*["']node:/);
  });
});

describe('demo routes', () => {
  let testSecret: TestGateway;
  let devSecret: TestGateway;

  beforeAll(async () => {
    testSecret = await startTestGateway();
    devSecret = await startTestGateway({ JWT_SECRET: DEV_JWT_SECRET });
  });

  afterAll(async () => {
    await testSecret.stop();
    await devSecret.stop();
    await wipePrefix(testSecret.prefix);
    await wipePrefix(devSecret.prefix);
  });

  it('serves the page at / and its script under a content hash, cacheable forever at that hash', async () => {
    const page = await apiFetch(`${testSecret.httpUrl}/`);
    expect(page.status).toBe(200);
    expect(page.headers.get('content-type')).toBe('text/html; charset=utf-8');
    expect(page.headers.get('cache-control')).toBe('no-cache');
    const html = await page.text();
    const src = /<script type="module" src="(\/demo\/app\.js\?v=([0-9a-f]{16}))">/.exec(html);
    expect(src, 'the script tag names the bundle by its hash').not.toBeNull();

    const script = await apiFetch(`${testSecret.httpUrl}${src![1]}`);
    expect(script.status).toBe(200);
    expect(script.headers.get('content-type')).toBe('text/javascript; charset=utf-8');
    expect(script.headers.get('cache-control')).toBe('public, max-age=31536000, immutable');
    expect(script.headers.get('etag')).toBe(`"${src![2]}"`);
    expect((await script.text()).length).toBeGreaterThan(10_000);

    // without the matching hash the script must be revalidated
    const unversioned = await apiFetch(`${testSecret.httpUrl}/demo/app.js`);
    expect(unversioned.headers.get('cache-control')).toBe('no-cache');
    await unversioned.arrayBuffer();
  });

  it('refuses demo tokens on a gateway with its own secret', async () => {
    const reply = await apiFetch(`${testSecret.httpUrl}/demo/token`);
    expect(reply.status).toBe(403);
    expect(await reply.json()).toMatchObject({ code: 'FORBIDDEN' });
  });

  it('mints short-lived guest tokens on a gateway running on the development secret, keeping a given guest subject', async () => {
    const reply = await apiFetch(`${devSecret.httpUrl}/demo/token`);
    expect(reply.status).toBe(200);
    expect(reply.headers.get('cache-control')).toBe('no-store');
    const body = (await reply.json()) as { token: string; sub: string; expiresAt: number };
    expect(body.sub).toMatch(/^guest-[0-9a-f]{12}$/);
    const claims = decodeJwt(body.token);
    expect(claims).toMatchObject({ sub: body.sub, scope: DEMO_TOKEN_SCOPE });
    expect(claims.exp! * 1000 - Date.now()).toBeLessThanOrEqual(15 * 60_000);
    const verified = await createAuthenticator({ jwtSecret: DEV_JWT_SECRET, allowAnonymous: false }).verify(body.token);
    expect(verified.ok).toBe(true);

    const again = (await (await apiFetch(`${devSecret.httpUrl}/demo/token?sub=${body.sub}`)).json()) as { sub: string };
    expect(again.sub).toBe(body.sub);
    // anything but a guest subject is replaced: the route never mints tokens for real users' names
    const other = (await (await apiFetch(`${devSecret.httpUrl}/demo/token?sub=admin`)).json()) as { sub: string };
    expect(other.sub).toMatch(/^guest-/);
  });
});
