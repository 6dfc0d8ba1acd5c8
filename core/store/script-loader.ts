/**
 * The one script loader. Reads each registered script, inlines its
 * `--- @include "includes/x"` lines (each include once, wherever it is first
 * asked for: every include lists the includes it needs itself), and runs it
 * on an ioredis client: EVALSHA, falling back to EVAL on NOSCRIPT (per node
 * in a Cluster: the client sends both to the master of the keys' slot),
 * pipelined like any other command. A missing or circular include is a ScriptLoadError naming the
 * chain of files that led to it.
 */
import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import type { Cluster, Redis } from 'ioredis';
import { isCluster, type RedisClient } from './redis-client.js';
import { SCRIPTS, scriptFileName, type ScriptArgs, type ScriptDef, type ScriptKeys } from './scripts.js';

const LUA_DIR = new URL('./lua/', import.meta.url);
const INCLUDE = /^--- @include "([\w/]+)"\s*$/gm;

export type { RedisClient } from './redis-client.js';

export interface LoadedScript {
  readonly def: ScriptDef;
  readonly lua: string;
  readonly sha: string;
}

/** A script that cannot be assembled: an include is missing or includes itself through others. */
export class ScriptLoadError extends Error {
  constructor(
    message: string,
    /** the files from the script down to the failing include, e.g. `['hold-12.lua', 'includes/holdSeats']` */
    readonly chain: readonly string[],
  ) {
    super(message);
    this.name = 'ScriptLoadError';
  }
}

function readLua(dir: URL, relativePath: string): string | undefined {
  try {
    return readFileSync(new URL(relativePath, dir), 'utf8');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw err;
  }
}

/**
 * Source of a script with every include inlined once, in first-use order.
 * `fileName` names the script in error messages; includes are read from
 * `dir` (the store's lua/ directory unless a test gives fixtures).
 */
export function resolveIncludes(fileName: string, source: string, dir: URL = LUA_DIR): string {
  const included = new Set<string>();
  const resolve = (text: string, stack: readonly string[]): string =>
    text.replace(INCLUDE, (_line, name: string) => {
      const chain = [...stack, name];
      if (stack.includes(name)) throw new ScriptLoadError(`circular include of ${name} (${chain.join(' → ')})`, chain);
      if (included.has(name)) return '';
      included.add(name);
      const body = readLua(dir, `${name}.lua`);
      if (body === undefined) throw new ScriptLoadError(`${name} not found (${stack.join(' → ')})`, chain);
      return resolve(body, chain);
    });
  return resolve(source, [fileName]);
}

let cache: Map<string, LoadedScript> | undefined;

/** Every registered script, read and resolved once per process. */
export function loadScripts(): ReadonlyMap<string, LoadedScript> {
  if (!cache) {
    cache = new Map();
    for (const def of Object.values(SCRIPTS) as ScriptDef[]) {
      const fileName = scriptFileName(def);
      const source = readLua(LUA_DIR, fileName);
      if (source === undefined) throw new ScriptLoadError(`${fileName} not found (script ${def.name} of the registry)`, [fileName]);
      const lua = resolveIncludes(fileName, source);
      cache.set(def.name, { def, lua, sha: createHash('sha1').update(lua).digest('hex') });
    }
  }
  return cache;
}

type Eval = (scriptOrSha: string, numberOfKeys: number, ...keysAndArgs: (string | number | Buffer)[]) => Promise<unknown>;

const isNoScript = (err: unknown) => err instanceof Error && err.message.startsWith('NOSCRIPT');

/**
 * Runs registered scripts on one client, with typed keys and arguments:
 * EVALSHA, and EVAL of the source when Redis answers NOSCRIPT (a restarted or
 * flushed Redis, a new master after a failover), which puts the script back in
 * that node's cache. Not ioredis's defineCommand: every pipeline object (one
 * per auto-pipelined batch) copies every defined command onto itself, which
 * at a low rate, one operation per batch, cost a few percent of the gateway's
 * CPU.
 */
export class ScriptRunner {
  private readonly scripts = loadScripts();

  constructor(readonly redis: RedisClient) {}

  /** Loads every script into the script cache up front (readiness), on every master of a Cluster. */
  async preload(): Promise<void> {
    const nodes = isCluster(this.redis) ? await clusterMasters(this.redis) : [this.redis];
    const scripts = [...this.scripts.values()];
    await Promise.all(nodes.flatMap((node) => scripts.map((s) => node.script('LOAD', s.lua))));
  }

  run<S extends ScriptDef>(def: S, keys: ScriptKeys<S>, args: ScriptArgs<S>): Promise<unknown> {
    return this.call(def, false, this.flatten(def, keys, args));
  }

  /** Same as run, with bulk replies as Buffers (binary status strings). */
  runBuffer<S extends ScriptDef>(def: S, keys: ScriptKeys<S>, args: ScriptArgs<S>): Promise<unknown> {
    return this.call(def, true, this.flatten(def, keys, args));
  }

  private call(def: ScriptDef, buffer: boolean, keysAndArgs: (string | number | Buffer)[]): Promise<unknown> {
    const script = this.scripts.get(def.name);
    if (!script) throw new Error(`script ${def.name} is not registered`);
    const redis = this.redis as unknown as { evalsha: Eval; evalshaBuffer: Eval; eval: Eval; evalBuffer: Eval };
    const n = def.keys.length;
    const sent = buffer ? redis.evalshaBuffer(script.sha, n, ...keysAndArgs) : redis.evalsha(script.sha, n, ...keysAndArgs);
    return sent.catch((err: unknown) => {
      if (!isNoScript(err)) throw err;
      return buffer ? redis.evalBuffer(script.lua, n, ...keysAndArgs) : redis.eval(script.lua, n, ...keysAndArgs);
    });
  }

  private flatten<S extends ScriptDef>(def: S, keys: ScriptKeys<S>, args: ScriptArgs<S>): (string | number | Buffer)[] {
    const k = keys as Record<string, string>;
    const a = args as Record<string, string | number | Buffer>;
    const out: (string | number | Buffer)[] = [];
    for (const name of def.keys) out.push(k[name]!);
    for (const name of def.args) out.push(a[name]!);
    return out;
  }
}

/**
 * The masters of a Cluster client. A Cluster knows its nodes only once it is
 * ready (it has read the slot map): before that `nodes('master')` is empty,
 * and a preload right after `new Cluster(...)` would load nothing. So wait
 * for readiness first (connecting a lazyConnect client), and refuse an empty
 * node list rather than report success.
 */
async function clusterMasters(cluster: Cluster): Promise<Redis[]> {
  if (cluster.status === 'wait') {
    await cluster.connect();
  } else if (cluster.status === 'end') {
    throw new Error('cannot preload scripts: the Cluster connection is closed');
  } else if (cluster.status !== 'ready') {
    await new Promise<void>((resolve, reject) => {
      const onReady = () => {
        cluster.off('end', onEnd);
        resolve();
      };
      const onEnd = () => {
        cluster.off('ready', onReady);
        reject(new Error('cannot preload scripts: the Cluster connection closed before it was ready'));
      };
      cluster.once('ready', onReady);
      cluster.once('end', onEnd);
    });
  }
  const masters = cluster.nodes('master');
  if (masters.length === 0) throw new Error('cannot preload scripts: the Cluster reports no master nodes');
  return masters;
}
