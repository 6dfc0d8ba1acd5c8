/**
 * The script registry, the Lua headers and the error catalogue agree with
 * each other; scripts load through NOSCRIPT; an event's keys share one slot.
 */
import { readdirSync, readFileSync } from 'node:fs';
import { afterAll, describe, expect, it } from 'vitest';
import calculateSlot from 'cluster-key-slot';
import { ERROR_CATALOGUE, ERROR_CODES } from '../core/errors.js';
import { SCRIPTS, eventKeys, loadScripts, scriptFileName, type ScriptDef } from '../core/store/index.js';
import { createTestStore } from './support/redis.js';

const LUA_DIR = new URL('../core/store/lua/', import.meta.url);
const defs = Object.values(SCRIPTS) as ScriptDef[];
const source = (def: ScriptDef) => readFileSync(new URL(scriptFileName(def), LUA_DIR), 'utf8');

/** `KEYS[1] meta` / `ARGV[2] holder` lines of a script's header comment. */
function headerNames(text: string, kind: 'KEYS' | 'ARGV'): string[] {
  return [...text.matchAll(new RegExp(`^\\s+${kind}\\[(\\d+)\\]\\s+(\\S+)`, 'gm'))].map((m) => m[2]!);
}

/** Status codes a script can return: `return {'CODE'` and codes passed on to shared helpers. */
function returnedCodes(text: string): string[] {
  const codes = [...text.matchAll(/\{'([A-Z_]+)'[,}]/g), ...text.matchAll(/return nil, '([A-Z_]+)'/g), ...text.matchAll(/setStates\([^)]*'([A-Z_]+)'\)/g)].map((m) => m[1]!);
  return [...new Set(codes)];
}

describe('script registry', () => {
  it('registers every script file in lua/ and nothing else', () => {
    const files = readdirSync(LUA_DIR).filter((f) => f.endsWith('.lua')).sort();
    expect(defs.map(scriptFileName).sort()).toEqual(files);
  });

  it.each(defs.map((d) => [d.name, d] as const))('%s: header lists the registry keys in order and the right number of arguments', (_name, def) => {
    const text = source(def);
    expect(headerNames(text, 'KEYS')).toEqual([...def.keys]);
    expect(headerNames(text, 'ARGV')).toHaveLength(def.args.length);
    expect(text).toMatch(/Output:/);
  });

  it('every code a script returns is in the error catalogue, and every catalogue entry is described', () => {
    const all = new Set<string>();
    for (const def of defs) for (const code of returnedCodes(source(def))) all.add(code);
    for (const file of readdirSync(new URL('includes/', LUA_DIR))) {
      for (const code of returnedCodes(readFileSync(new URL(`includes/${file}`, LUA_DIR), 'utf8'))) all.add(code);
    }
    all.delete('OK');
    expect(all.size).toBeGreaterThan(5);
    for (const code of all) expect(ERROR_CODES, `code ${code}`).toContain(code);
    for (const code of ERROR_CODES) expect(ERROR_CATALOGUE[code].length).toBeGreaterThan(20);
  });

  it('docs/store.md documents every error code and every script', () => {
    const doc = readFileSync(new URL('../docs/store.md', import.meta.url), 'utf8');
    for (const def of defs) expect(doc, scriptFileName(def)).toContain(scriptFileName(def));
    for (const code of ERROR_CODES) expect(doc, code).toContain(`\`${code}\``);
  });

  it('inlines each include once and leaves no include line behind', () => {
    for (const { lua, def } of loadScripts().values()) {
      expect(lua, def.name).not.toMatch(/@include/);
      const fns = [...lua.matchAll(/^local function (\w+)/gm)].map((m) => m[1]);
      expect(new Set(fns).size, `${def.name} defines a helper twice`).toBe(fns.length);
    }
  });

  it('every key of an event carries the {event} hash tag and maps to one Cluster slot', () => {
    for (const eventId of ['e1', 'concert-2026.07', 'A_b']) {
      const keys = Object.values(eventKeys('seatmap:', eventId));
      for (const key of keys) expect(key).toContain(`{${eventId}}`);
      expect(new Set(keys.map((k) => calculateSlot(k))).size).toBe(1);
    }
    expect(() => eventKeys('p:', 'bad{id}')).toThrow(/invalid event id/);
    expect(() => eventKeys('p:', '')).toThrow(/invalid event id/);
  });
});

describe('script loading', () => {
  const t = createTestStore();
  afterAll(() => t.cleanup());

  it('runs after the server forgot its scripts (EVALSHA falls back on NOSCRIPT) and preloads them', async () => {
    await t.store.createEvent({ eventId: 'load1', seatCount: 5, rules: { holdTtlMs: 1000, maxHoldLifetimeMs: 2000, maxSeatsPerToken: 2, maxSeatsPerHolder: 2 } });
    await t.redis.script('FLUSH');
    const hold = await t.store.hold({ eventId: 'load1', holder: 'ann', seats: [1] });
    expect(hold.ok).toBe(true);
    await t.redis.script('FLUSH');
    await t.store.scripts.preload();
    const shas = [...loadScripts().values()].map((s) => s.sha);
    expect(await t.redis.script('EXISTS', ...shas)).toEqual(shas.map(() => 1));
  });
});
