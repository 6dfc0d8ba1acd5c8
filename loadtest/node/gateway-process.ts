/**
 * A gateway as its own process (`gateway/main.ts` under tsx), for the Node
 * runner's --spawn-gateway and for the benchmarks, which measure its CPU and
 * memory apart from the load generator's (/proc/<pid>).
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';

const REPO_ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');

export interface GatewayProcess {
  child: ChildProcess;
  pid: number;
  port: number;
  wsUrl: string;
  httpUrl: string;
  /** SIGTERM, then SIGKILL after `graceMs`; resolves on exit */
  stop(graceMs?: number): Promise<void>;
}

/** Starts `gateway/main.ts` with `env` over the current environment; resolves once it listens. */
export function startGatewayProcess(env: Record<string, string>, timeoutMs = 60_000, nodeArgs: string[] = []): Promise<GatewayProcess> {
  return startServerProcess('gateway/main.ts', env, timeoutMs, nodeArgs);
}

/**
 * Starts a server entry point (repo-relative .ts) that logs a JSON line with
 * `gateway node ready` and its `port` once it listens, as gateway/main.ts does
 * (with WORKERS above 1, `gateway workers ready` once every worker listens).
 */
export function startServerProcess(entry: string, env: Record<string, string>, timeoutMs = 60_000, nodeArgs: string[] = []): Promise<GatewayProcess> {
  const child = spawn(process.execPath, [...nodeArgs, '--import', 'tsx', entry], {
    cwd: REPO_ROOT,
    // info at least: the ready line is logged at info
    env: { ...process.env, ...env, LOG_LEVEL: 'info' },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  const output: string[] = [];
  child.stderr!.on('data', (chunk: Buffer) => output.push(chunk.toString()));
  // several workers (WORKERS=N): ready once the supervisor says all of them listen
  const ready = Number(env.WORKERS ?? 1) > 1 ? 'gateway workers ready' : 'gateway node ready';
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`gateway not ready after ${timeoutMs} ms:\n${output.join('\n')}`)), timeoutMs);
    void exited.then(() => reject(new Error(`gateway exited before it was ready:\n${output.join('\n')}`)));
    const lines = createInterface({ input: child.stdout! });
    lines.on('line', (line) => {
      if (output.length < 200) output.push(line);
      if (!line.includes(ready)) return;
      clearTimeout(timer);
      const port = Number((JSON.parse(line) as { port: number }).port);
      resolve({
        child,
        pid: child.pid!,
        port,
        wsUrl: `ws://127.0.0.1:${port}/ws`,
        httpUrl: `http://127.0.0.1:${port}`,
        async stop(graceMs = 15_000) {
          if (child.exitCode !== null || child.signalCode !== null) return;
          child.kill('SIGTERM');
          const killer = setTimeout(() => child.kill('SIGKILL'), graceMs);
          await exited;
          clearTimeout(killer);
        },
      });
    });
  });
}

/** User and system (kernel) CPU seconds a process has used (/proc/<pid>/stat utime, stime). */
export function processCpuTimes(pid: number): { userS: number; systemS: number } {
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  return { userS: Number(fields[11]) / 100, systemS: Number(fields[12]) / 100 }; // in USER_HZ
}

/** User + system CPU seconds a process has used. */
export function processCpuSeconds(pid: number): number {
  const { userS, systemS } = processCpuTimes(pid);
  return userS + systemS;
}

/** Resident memory of a process in bytes (/proc/<pid>/status VmRSS). */
export function processRssBytes(pid: number): number {
  const status = readFileSync(`/proc/${pid}/status`, 'utf8');
  return Number(/^VmRSS:\s+(\d+)\s+kB/m.exec(status)?.[1] ?? Number.NaN) * 1024;
}
