/**
 * Every response an HTTP test sees, checked against the OpenAPI document
 * (gateway/openapi/): `apiFetch` is fetch that throws when the response's
 * route, method, status, content type or JSON body is not what the document
 * says. A route the document does not describe throws too, loudly: describe
 * it (gateway/openapi/index.ts says how).
 *
 * The schemas are OpenAPI 3.1, that is JSON Schema 2020-12, so Ajv's 2020
 * dialect validates them as they are (with ajv-formats for date-time, uuid).
 */
import { Ajv2020, type ValidateFunction } from 'ajv/dist/2020.js';
import addFormats from 'ajv-formats';
import { OPENAPI_DOCUMENT, type OpenApiDocument } from '../../gateway/openapi/index.js';

export class OpenApiMismatch extends Error {}

interface Route {
  method: string;
  template: string;
  pattern: RegExp;
}

export interface ResponseValidator {
  /** Throws OpenApiMismatch when the response does not match the document. */
  check(method: string, url: string, status: number, contentType: string | null, body: string): void;
}

export function responseValidator(document: OpenApiDocument = OPENAPI_DOCUMENT): ResponseValidator {
  const ajv = new Ajv2020({ strict: false, allErrors: true });
  (addFormats as unknown as (a: Ajv2020) => void)(ajv);
  ajv.addSchema({ $id: 'openapi.json', components: document.components }, 'openapi.json');
  const compiled = new Map<string, ValidateFunction>();
  const routes: Route[] = [];
  for (const [template, methods] of Object.entries(document.paths)) {
    const pattern = new RegExp(`^${template.replace(/[.*+?^$()|[\]\\]/g, '\\$&').replace(/\{[^/]+?\}/g, '[^/]+')}$`);
    for (const method of Object.keys(methods)) routes.push({ method, template, pattern });
  }
  // a literal path beats a template (/events/{id} must not take /events/x/availability; no overlap today, but be exact)
  routes.sort((a, b) => (a.template.match(/\{/g)?.length ?? 0) - (b.template.match(/\{/g)?.length ?? 0));

  const schemaFor = (key: string, schema: unknown): ValidateFunction => {
    let fn = compiled.get(key);
    if (!fn) {
      // $refs point into the document's components
      const rewritten = JSON.parse(JSON.stringify(schema).replaceAll('"#/components/', '"openapi.json#/components/')) as object;
      fn = ajv.compile(rewritten);
      compiled.set(key, fn);
    }
    return fn;
  };

  return {
    check(method, url, status, contentType, body) {
      const { pathname } = new URL(url);
      const m = method.toLowerCase();
      const route = routes.find((r) => r.method === m && r.pattern.test(pathname));
      const where = `${method.toUpperCase()} ${pathname}`;
      if (!route) {
        throw new OpenApiMismatch(`${where} is not described in the OpenAPI document: describe it in gateway/openapi/ (see gateway/openapi/index.ts)`);
      }
      const operation = document.paths[route.template]![m as 'get']!;
      const response = operation.responses[String(status)];
      if (!response) throw new OpenApiMismatch(`${where} answered ${status}, which the OpenAPI document does not list for ${route.template} (it lists ${Object.keys(operation.responses).join(', ')})`);
      const media = (contentType ?? '').split(';')[0]!.trim();
      if (!response.content) {
        if (body.length > 0) throw new OpenApiMismatch(`${where} ${status} has a body, but the document describes none`);
        return;
      }
      const described = response.content[media];
      if (!described) throw new OpenApiMismatch(`${where} ${status} is ${media || 'without a content type'}; the document says ${Object.keys(response.content).join(' or ')}`);
      if (media !== 'application/json') return;
      let value: unknown;
      try {
        value = JSON.parse(body);
      } catch {
        throw new OpenApiMismatch(`${where} ${status} is not JSON`);
      }
      const validate = schemaFor(`${m} ${route.template} ${status}`, described.schema);
      if (!validate(value)) {
        const problems = (validate.errors ?? []).map((e) => `${e.instancePath || '(body)'} ${e.message}`).join('; ');
        throw new OpenApiMismatch(`${where} ${status} does not match the OpenAPI document: ${problems}`);
      }
    },
  };
}

/**
 * OPENAPI_PLANTED_MISMATCH=1 checks against a document with one planted
 * mistake (GET /healthz answering `{"status": "fine"}`): test/openapi.test.ts
 * runs the HTTP tests so and expects them to fail.
 */
export function plantedMismatch(document: OpenApiDocument): OpenApiDocument {
  const copy = structuredClone(document);
  const ok = copy.paths['/healthz']!.get!.responses['200']!.content!['application/json']!;
  ok.schema = { ...ok.schema, properties: { status: { const: 'fine' } } };
  return copy;
}

const validator = responseValidator(process.env.OPENAPI_PLANTED_MISMATCH === '1' ? plantedMismatch(OPENAPI_DOCUMENT) : OPENAPI_DOCUMENT);

/** Responses the suite checked, for the test that shows every described route was seen at least once. */
export const seenOperations = new Set<string>();

/** fetch, with the response checked against the OpenAPI document; the body stays readable. */
export async function apiFetch(input: string, init?: RequestInit, check: ResponseValidator = validator): Promise<Response> {
  const response = await fetch(input, init);
  const text = await response.clone().text();
  check.check(init?.method ?? 'GET', input, response.status, response.headers.get('content-type'), text);
  seenOperations.add(`${(init?.method ?? 'GET').toUpperCase()} ${new URL(input).pathname}`);
  return response;
}
