/**
 * The OpenAPI document (gateway/openapi/): a valid OpenAPI 3.1 document,
 * served at /openapi.json, describing every HTTP route the gateway
 * registers, each refusal with codes of its status; and the check the HTTP tests run on each response
 * (test/support/openapi.ts) fails on a planted mismatch, an undescribed
 * route or status, and a wrong content type.
 */
import { spawnSync } from 'node:child_process';
import { Validator } from '@seriousme/openapi-schema-validator';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ERROR_CATALOGUE, type ErrorCode } from '../core/errors.js';
import { OPENAPI_DOCUMENT, buildOpenApiDocument, API_PARTS } from '../gateway/openapi/index.js';
import { openApiPath } from '../gateway/route-list.js';
import { startTestGateway, wipePrefix, type TestGateway } from './support/gateway.js';
import { OpenApiMismatch, apiFetch, plantedMismatch, responseValidator } from './support/openapi.js';

let gw: TestGateway;

beforeAll(async () => {
  gw = await startTestGateway();
});

afterAll(async () => {
  await gw?.stop();
  if (gw) await wipePrefix(gw.prefix);
});

describe('the OpenAPI document', () => {
  it('is a valid OpenAPI 3.1 document', async () => {
    const result = await new Validator().validate(structuredClone(OPENAPI_DOCUMENT) as never);
    expect(result.errors ?? [], JSON.stringify(result.errors, null, 1)).toEqual([]);
    expect(result.valid).toBe(true);
    expect(OPENAPI_DOCUMENT.openapi).toBe('3.1.0');
  });

  it('is served at /openapi.json, itself checked against the document', async () => {
    const res = await apiFetch(`${gw.httpUrl}/openapi.json`);
    expect(res.status).toBe(200);
    expect(await res.json()).toEqual(JSON.parse(JSON.stringify(OPENAPI_DOCUMENT)));
  });

  it('describes every HTTP route the gateway registers (a route of a new group fails here until it is described)', () => {
    const routes = gw.node.server.routes.filter((r) => r.pattern !== '/*');
    expect(routes.length).toBeGreaterThan(10);
    const undescribed = routes.filter((r) => {
      const methods = OPENAPI_DOCUMENT.paths[openApiPath(r.pattern)] as Record<string, unknown> | undefined;
      return !methods || !(r.method in methods);
    });
    expect(undescribed.map((r) => `${r.method.toUpperCase()} ${r.pattern}`), 'describe these routes in gateway/openapi/ (see gateway/openapi/index.ts)').toEqual([]);
    // and nothing described that the gateway does not serve
    const served = new Set(routes.map((r) => `${r.method} ${openApiPath(r.pattern)}`));
    const described = Object.entries(OPENAPI_DOCUMENT.paths).flatMap(([path, methods]) => Object.keys(methods).map((m) => `${m} ${path}`));
    expect(described.filter((d) => !served.has(d))).toEqual([]);
  });

  it('pairs each refusal\'s codes with the status their catalogue entry holds (but the documented 413 and 503 of request bodies)', () => {
    const exceptions = new Set(['413 BAD_REQUEST', '503 RATE_LIMITED']);
    const mismatched: string[] = [];
    let narrowed = 0;
    for (const [path, methods] of Object.entries(OPENAPI_DOCUMENT.paths)) {
      for (const [method, operation] of Object.entries(methods)) {
        for (const [status, response] of Object.entries(operation!.responses)) {
          const schema = response.content?.['application/json']?.schema as { allOf?: { properties?: { code?: { enum?: ErrorCode[] } } }[] } | undefined;
          const codes = schema?.allOf?.[1]?.properties?.code?.enum;
          if (!codes) continue;
          narrowed++;
          for (const code of codes) {
            if (String(ERROR_CATALOGUE[code].status) !== status && !exceptions.has(`${status} ${code}`)) mismatched.push(`${method.toUpperCase()} ${path} ${status} ${code}`);
          }
        }
      }
    }
    expect(narrowed).toBeGreaterThan(50);
    expect(mismatched).toEqual([]);
  });

  it('refuses two descriptions of one route', () => {
    expect(() => buildOpenApiDocument([...API_PARTS, API_PARTS[0]!])).toThrow(/described twice/);
  });
});

describe('the response check of the HTTP tests', () => {
  it('passes what the gateway answers', async () => {
    for (const path of ['/healthz', '/readyz', '/events/no-such/availability', '/events/bad%20id', '/demo/token']) {
      await expect(apiFetch(`${gw.httpUrl}${path}`)).resolves.toBeInstanceOf(Response);
    }
  });

  it('fails on a planted mismatch, an undescribed route or status, and a wrong content type', async () => {
    const res = await fetch(`${gw.httpUrl}/healthz`);
    const body = await res.text();
    const type = res.headers.get('content-type');
    expect(() => responseValidator().check('GET', `${gw.httpUrl}/healthz`, 200, type, body)).not.toThrow();
    expect(() => responseValidator(plantedMismatch(OPENAPI_DOCUMENT)).check('GET', `${gw.httpUrl}/healthz`, 200, type, body)).toThrow(OpenApiMismatch);

    const check = responseValidator();
    expect(() => check.check('GET', `${gw.httpUrl}/no-such-route`, 404, type, body)).toThrow(/GET \/no-such-route is not described in the OpenAPI document/);
    expect(() => check.check('PUT', `${gw.httpUrl}/healthz`, 200, type, body)).toThrow(/not described/);
    expect(() => check.check('GET', `${gw.httpUrl}/healthz`, 418, type, body)).toThrow(/answered 418, which the OpenAPI document does not list/);
    expect(() => check.check('GET', `${gw.httpUrl}/healthz`, 200, 'text/plain', body)).toThrow(/the document says application\/json/);
    expect(() => check.check('GET', `${gw.httpUrl}/events/x/availability`, 404, type, '{"code":"NOPE","msg":"x"}')).toThrow(/code must be equal to one of the allowed values/);
  });

  it('makes the HTTP tests fail when the document and the gateway disagree (a mismatch planted in the document)', () => {
    const run = spawnSync('npx', ['vitest', 'run', 'test/gateway.http.test.ts', '-t', 'GET /healthz answers ok'], {
      encoding: 'utf8',
      env: { ...process.env, OPENAPI_PLANTED_MISMATCH: '1', CI: '1' },
      timeout: 120_000,
    });
    const output = `${run.stdout}${run.stderr}`;
    expect(run.status, output).not.toBe(0);
    expect(output).toMatch(/GET \/healthz 200 does not match the OpenAPI document/);
  }, 150_000);
});
