/**
 * A throwaway local Redis Cluster: N masters (with R replicas each, none by
 * default, for failover tests), each a
 * `redis-server` child process of the caller (not daemonized) bound to
 * 127.0.0.1 on a free port, with its files in a fresh temp dir; gone with
 * the process that started it. The test run starts one for the Cluster
 * target of the end-to-end suites (test/global-setup.ts), and `npm start`
 * with REDIS_CLUSTER=1 runs the gateway on one (scripts/start.ts).
 */
import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { accessSync, constants, mkdtempSync, rmSync } from 'node:fs';
import { createConnection, createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

const HOST = '127.0.0.1';
/** Redis Cluster's bus listens on the client port plus this offset. */
const BUS_PORT_OFFSET = 10_000;
/** Client ports are picked from here, so that the bus port stays below 65536. */
const PORT_RANGE = { min: 20_000, max: 50_000 } as const;

export interface LocalClusterOptions {
  /** number of masters (at least 3, as `redis-cli --cluster create` requires) */
  masters?: number;
  /** replicas per master (0: none); a replica is promoted when its master fails */
  replicas?: number;
  /** how long a node may be unreachable before it counts as failed (cluster-node-timeout, default 5000 ms) */
  nodeTimeoutMs?: number;
  /** overall limit for starting the cluster (ms) */
  timeoutMs?: number;
  redisServer?: string;
  redisCli?: string;
}

export interface LocalCluster {
  ports: number[];
  /** sends a signal to one node's server (failover tests: SIGKILL a master) */
  kill(port: number, signal?: NodeJS.Signals): void;
  /** Kills the cluster's processes and removes its files. */
  stop(): Promise<void>;
}

interface Node {
  port: number;
  child: ChildProcess;
  /** the last lines the server wrote, for error messages */
  output: string[];
}

/** True when `name` is an executable file in a directory of PATH. */
export function onPath(name: string): boolean {
  return (process.env.PATH ?? '').split(':').some((dir) => {
    if (!dir) return false;
    try {
      accessSync(join(dir, name), constants.X_OK);
      return true;
    } catch {
      return false;
    }
  });
}

export async function startLocalCluster(options: LocalClusterOptions = {}): Promise<LocalCluster> {
  const masters = options.masters ?? 3;
  const replicas = options.replicas ?? 0;
  const total = masters * (1 + replicas);
  const nodeTimeoutMs = options.nodeTimeoutMs ?? 5000;
  const timeoutMs = options.timeoutMs ?? 45_000;
  const redisServer = options.redisServer ?? 'redis-server';
  const redisCli = options.redisCli ?? 'redis-cli';
  if (!Number.isInteger(masters) || masters < 3) throw new Error(`a Redis Cluster needs at least 3 masters, got ${masters}`);

  const deadline = Date.now() + timeoutMs;
  const dir = mkdtempSync(join(tmpdir(), 'seatmap-cluster-'));
  const nodes: Node[] = [];
  // Should the test process exit without stop(), its servers go with it.
  const killOnExit = () => nodes.forEach((n) => n.child.kill('SIGKILL'));
  process.once('exit', killOnExit);

  let stopped: Promise<void> | undefined;
  const stop = () => {
    stopped ??= (async () => {
      await Promise.all(nodes.map((n) => killChild(n.child)));
      process.removeListener('exit', killOnExit);
      rmSync(dir, { recursive: true, force: true });
    })();
    return stopped;
  };

  try {
    const taken = new Set<number>();
    for (let i = 0; i < total; i++) nodes.push(await startNode(redisServer, dir, taken, deadline, nodeTimeoutMs));
    const ports = nodes.map((n) => n.port);

    const create = await run(
      redisCli,
      ['--cluster', 'create', ...ports.map((p) => `${HOST}:${p}`), '--cluster-replicas', String(replicas), '--cluster-yes'],
      remaining(deadline, 'redis-cli --cluster create'),
    );
    if (create.code !== 0 || !/All 16384 slots covered/.test(create.output)) {
      throw new Error(`redis-cli --cluster create failed (exit ${create.code}):\n${create.output.trim()}`);
    }

    for (const node of nodes) {
      await waitUntil(
        async () => {
          const info = await command(node.port, ['CLUSTER', 'INFO']).catch(() => '');
          return (
            info.includes('cluster_state:ok') &&
            info.includes('cluster_slots_assigned:16384') &&
            info.includes(`cluster_known_nodes:${total}`)
          );
        },
        deadline,
        () => `node ${node.port} did not reach cluster_state:ok`,
      );
    }
    const kill = (port: number, signal: NodeJS.Signals = 'SIGKILL') => nodes.find((n) => n.port === port)?.child.kill(signal);
    return { ports, stop, kill };
  } catch (error) {
    await stop();
    throw error;
  }
}

/** Starts one server on a free port, retrying on another port if it loses a race for it. */
async function startNode(redisServer: string, dir: string, taken: Set<number>, deadline: number, nodeTimeoutMs = 5000): Promise<Node> {
  let lastError: unknown;
  for (let attempt = 0; attempt < 5; attempt++) {
    const port = await freePortPair(taken);
    taken.add(port);
    const child = spawn(
      redisServer,
      [
        '--port', String(port),
        '--bind', HOST,
        '--cluster-enabled', 'yes',
        '--cluster-config-file', join(dir, `nodes-${port}.conf`),
        '--cluster-node-timeout', String(nodeTimeoutMs),
        '--save', '',
        '--appendonly', 'no',
        '--dir', dir,
        '--daemonize', 'no',
      ],
      { stdio: ['ignore', 'pipe', 'pipe'] },
    );
    const node: Node = { port, child, output: [] };
    const keep = (chunk: Buffer) => {
      node.output.push(...chunk.toString().split('\n').filter(Boolean));
      node.output.splice(0, Math.max(0, node.output.length - 20));
    };
    child.stdout!.on('data', keep);
    child.stderr!.on('data', keep);
    let exited: string | undefined;
    let spawnError: Error | undefined;
    child.once('error', (e) => (spawnError = e));
    child.once('exit', (code, signal) => (exited = `exited (code ${code}, signal ${signal})`));
    try {
      await waitUntil(
        async () => {
          if (spawnError) throw new Error(`cannot start ${redisServer}: ${spawnError.message}`);
          if (exited) throw new Error(`redis-server on port ${port} ${exited}:\n${node.output.join('\n')}`);
          return (await command(port, ['PING']).catch(() => '')) === 'PONG';
        },
        Math.min(deadline, Date.now() + 10_000),
        () => `redis-server on port ${port} did not answer PING:\n${node.output.join('\n')}`,
      );
      return node;
    } catch (error) {
      lastError = error;
      await killChild(child);
      if (spawnError) break;
    }
  }
  throw lastError;
}

/** A port whose cluster bus port (port + 10000) is free as well. */
async function freePortPair(taken: Set<number>): Promise<number> {
  for (let i = 0; i < 100; i++) {
    const port = PORT_RANGE.min + Math.floor(Math.random() * (PORT_RANGE.max - PORT_RANGE.min));
    if (taken.has(port)) continue;
    if ((await portFree(port)) && (await portFree(port + BUS_PORT_OFFSET))) return port;
  }
  throw new Error(`no free port pair (p, p+${BUS_PORT_OFFSET}) found in ${PORT_RANGE.min}-${PORT_RANGE.max}`);
}

function portFree(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const server = createServer();
    server.once('error', () => resolve(false));
    server.listen({ port, host: HOST, exclusive: true }, () => server.close(() => resolve(true)));
  });
}

/** SIGTERM, then SIGKILL if the process is still there after 5 s. */
function killChild(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve();
  return new Promise((resolve) => {
    const force = setTimeout(() => child.kill('SIGKILL'), 5000);
    child.once('exit', () => {
      clearTimeout(force);
      resolve();
    });
    if (!child.kill('SIGTERM')) {
      clearTimeout(force);
      resolve();
    }
  });
}

/** Sends one command over a fresh connection; resolves with a simple, bulk or integer reply. */
function command(port: number, args: string[], timeoutMs = 2000): Promise<string> {
  return new Promise((resolve, reject) => {
    const socket = createConnection({ host: HOST, port });
    let data = Buffer.alloc(0);
    const done = (error: Error | undefined, value?: string) => {
      socket.destroy();
      if (error) reject(error);
      else resolve(value!);
    };
    socket.setTimeout(timeoutMs, () => done(new Error(`no reply from ${HOST}:${port} within ${timeoutMs} ms`)));
    socket.once('error', (e) => done(e));
    socket.once('connect', () => {
      socket.write(`*${args.length}\r\n${args.map((a) => `$${Buffer.byteLength(a)}\r\n${a}\r\n`).join('')}`);
    });
    socket.on('data', (chunk) => {
      data = Buffer.concat([data, chunk]);
      const lineEnd = data.indexOf('\r\n');
      if (lineEnd < 0) return;
      const type = String.fromCharCode(data[0]!);
      const line = data.subarray(1, lineEnd).toString();
      if (type === '+' || type === ':') return done(undefined, line);
      if (type === '-') return done(new Error(line));
      if (type === '$') {
        const length = Number(line);
        if (length < 0) return done(undefined, '');
        if (data.length < lineEnd + 2 + length + 2) return;
        return done(undefined, data.subarray(lineEnd + 2, lineEnd + 2 + length).toString());
      }
      done(new Error(`unexpected reply type ${type}`));
    });
  });
}

function run(file: string, args: string[], timeoutMs: number): Promise<{ code: number | null; output: string }> {
  return new Promise((resolve, reject) => {
    execFile(file, args, { timeout: timeoutMs, killSignal: 'SIGKILL' }, (error, stdout, stderr) => {
      const output = `${stdout}${stderr}`;
      if (error && (error as NodeJS.ErrnoException).code === 'ENOENT') {
        return reject(new Error(`cannot run ${file}: not found on PATH`));
      }
      if (error && error.killed) return reject(new Error(`${file} ${args.join(' ')} timed out after ${timeoutMs} ms:\n${output}`));
      resolve({ code: error ? (typeof error.code === 'number' ? error.code : 1) : 0, output });
    });
  });
}

function remaining(deadline: number, what: string): number {
  const ms = deadline - Date.now();
  if (ms <= 0) throw new Error(`timed out before ${what}`);
  return ms;
}

async function waitUntil(check: () => Promise<boolean>, deadline: number, message: () => string): Promise<void> {
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`timed out: ${message()}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}
