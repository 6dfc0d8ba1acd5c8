/**
 * The HTTP routes a server registered: a view of the uWS app that records
 * each `get`/`post`/`put`/`patch`/`del`/`any` pattern as it forwards it, so
 * that a test can hold every route against the OpenAPI document
 * (test/openapi.test.ts). uWS itself cannot list its routes.
 */
import type { TemplatedApp } from 'uWebSockets.js';

export interface RegisteredRoute {
  method: 'get' | 'post' | 'put' | 'patch' | 'delete' | 'options' | 'head' | 'any';
  /** the uWS pattern, e.g. /events/:id/bookings */
  pattern: string;
}

const METHODS: Record<string, RegisteredRoute['method']> = { get: 'get', post: 'post', put: 'put', patch: 'patch', del: 'delete', options: 'options', head: 'head', any: 'any' };

/** The app as route groups see it, recording into `routes`. */
export function recordingRoutes(app: TemplatedApp, routes: RegisteredRoute[]): TemplatedApp {
  const view: TemplatedApp = new Proxy(app, {
    get(target, property) {
      const value = Reflect.get(target, property) as unknown;
      if (typeof value !== 'function') return value;
      const method = typeof property === 'string' ? METHODS[property] : undefined;
      if (!method) return (value as (...args: unknown[]) => unknown).bind(target);
      return (pattern: string, ...rest: unknown[]) => {
        routes.push({ method, pattern });
        (value as (...args: unknown[]) => unknown).call(target, pattern, ...rest);
        return view;
      };
    },
  });
  return view;
}

/** The OpenAPI path of a uWS pattern: `/events/:id` → `/events/{id}`, `/events/:id/bookings/:booking` → `/events/{id}/bookings/{booking}`. */
export function openApiPath(pattern: string): string {
  return pattern.replace(/:([A-Za-z0-9_]+)/g, '{$1}');
}
