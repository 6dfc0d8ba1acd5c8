/**
 * The script registry, the Lua headers and the error catalogue agree with
 * each other; scripts load through NOSCRIPT; an event's keys share one slot.
 */
import { readdirSync, readFileSync } from 'node:fs';
import { afterAll, describe, expect, it } from 'vitest';
import calculateSlot from 'cluster-key-slot';
import { ERROR_CATALOGUE, ERROR_CODES } from '../core/errors.js';
import { SCRIPTS, ScriptLoadError, eventKeys, loadScripts, resolveIncludes, scriptFileName, type ScriptDef } from '../core/store/internal.js';
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
    for (const code of ERROR_CODES) expect(ERROR_CATALOGUE[code].text.length).toBeGreaterThan(20);
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

const INCLUDES_DIR = new URL('includes/', LUA_DIR);
const includeFiles = readdirSync(INCLUDES_DIR).filter((f) => f.endsWith('.lua')).sort();
const includeSource = (file: string) => readFileSync(new URL(file, INCLUDES_DIR), 'utf8');

/** Lua without its comments (`--[[ … ]]` blocks and `--` to the end of the line). */
function withoutComments(lua: string): string {
  return lua.replace(/--\[\[[\s\S]*?\]\]/g, '').replace(/--.*$/gm, '');
}

/** Every top-level local an include defines: `local function name` and `local A, B = …`. */
function definedLocals(lua: string): string[] {
  const names: string[] = [];
  for (const m of withoutComments(lua).matchAll(/^local function (\w+)|^local ([\w, ]+?)\s*=/gm)) {
    if (m[1]) names.push(m[1]);
    else names.push(...m[2]!.split(',').map((n) => n.trim()));
  }
  return names;
}

/** Names from `names` used in `lua` before their definition there (or never defined in it). */
function usedBeforeDefined(lua: string, names: readonly string[]): string[] {
  const code = withoutComments(lua);
  const wrong: string[] = [];
  for (const name of names) {
    const definition = new RegExp(`^local (function ${name}\\b|[\\w, ]*\\b${name}\\b[\\w, ]*=)`, 'm').exec(code);
    const firstUse = new RegExp(`\\b${name}\\b`).exec(code);
    if (firstUse && (!definition || definition.index > firstUse.index)) wrong.push(name);
  }
  return wrong;
}

describe('includes', () => {
  const everyLocal = [...new Set(includeFiles.flatMap((f) => definedLocals(includeSource(f))))];

  it('each include is named after the function it defines, or is one of the helper sets (seats, tokens, geometry, gaAreas, channels)', () => {
    for (const file of includeFiles) {
      const name = file.replace(/\.lua$/, '');
      const functions = [...withoutComments(includeSource(file)).matchAll(/^local function (\w+)/gm)].map((m) => m[1]);
      if (name === 'seats' || name === 'tokens' || name === 'geometry' || name === 'gaAreas' || name === 'channels') expect(functions.length, file).toBeGreaterThan(1);
      else expect(functions, file).toContain(name);
    }
  });

  it.each(includeFiles)('%s resolves on its own, and every helper it uses is defined before its first use', (file) => {
    const lua = resolveIncludes(`includes/${file}`, includeSource(file));
    expect(lua).not.toMatch(/@include/);
    expect(usedBeforeDefined(lua, everyLocal), file).toEqual([]);
  });

  it('every script uses only helpers defined before their first use, and reads KEYS/ARGV itself (no include does)', () => {
    for (const { lua, def } of loadScripts().values()) expect(usedBeforeDefined(lua, everyLocal), def.name).toEqual([]);
    for (const file of includeFiles) expect(withoutComments(includeSource(file)), file).not.toMatch(/\b(KEYS|ARGV)\[/);
  });

  it('the usage check catches a helper used before its include (setStates without its own includes)', () => {
    const bare = includeSource('setStates.lua').replace(/^--- @include .*$/gm, '');
    expect(usedBeforeDefined(resolveIncludes('includes/setStates', bare), everyLocal)).toEqual(
      expect.arrayContaining(['getNow', 'loadEventSeats', 'getSeatState', 'setSeatState', 'appendChange']),
    );
  });
});

describe('script loader errors', () => {
  const FIXTURES = new URL('./fixtures/lua/', import.meta.url);
  const fixture = (file: string) => readFileSync(new URL(file, FIXTURES), 'utf8');
  const load = (file: string) => () => resolveIncludes(file, fixture(file), FIXTURES);

  it('a missing include names the chain of files that asked for it', () => {
    expect(load('missing-1.lua')).toThrow(ScriptLoadError);
    expect(load('missing-1.lua')).toThrow('includes/nowhere not found (missing-1.lua → includes/outer)');
    try {
      load('missing-1.lua')();
    } catch (err) {
      expect((err as ScriptLoadError).chain).toEqual(['missing-1.lua', 'includes/outer', 'includes/nowhere']);
    }
  });

  it('a circular include is refused with its cycle', () => {
    expect(load('circular-1.lua')).toThrow(ScriptLoadError);
    expect(load('circular-1.lua')).toThrow('circular include of includes/cycleA (circular-1.lua → includes/cycleA → includes/cycleB → includes/cycleA)');
  });

  it('an include two others need is inlined once, before both', () => {
    const lua = load('shared-1.lua')();
    expect(lua.match(/local function shared/g)).toHaveLength(1);
    expect(lua.indexOf('local function shared')).toBeLessThan(lua.indexOf('local function left'));
    expect(lua.indexOf('local function left')).toBeLessThan(lua.indexOf('local function right'));
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
