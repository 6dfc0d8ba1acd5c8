/**
 * The servers this project started itself, as recorded by their pidfiles
 * under `.data/` (redis/<port>/redis.pid, pg/<port>/data/postmaster.pid):
 * listing them with whether they still run, and stopping them, all or those
 * on given ports. System services, Debian clusters and containers never
 * appear here and are never stopped.
 */
import fs from 'node:fs';
import path from 'node:path';
import { PG_DATA_ROOT, pgDataDir, stopLocalPostgres } from './postgres.js';
import { REDIS_DATA_ROOT, redisDir, redisPidfile, stopLocalRedis } from './redis.js';
import { defaultLogger, processLooksLike, readPid, type Logger } from './system.js';

export interface LocalServer {
  kind: 'redis' | 'postgres';
  port: number;
  pid: number | null;
  running: boolean;
  dir: string;
}

function ports(root: string): number[] {
  try {
    return fs
      .readdirSync(root)
      .filter((e) => /^\d+$/.test(e))
      .map(Number)
      .sort((a, b) => a - b);
  } catch {
    return [];
  }
}

/** Servers this project started under .data/ (from their pidfiles). */
export function listLocalServers(): LocalServer[] {
  const servers: LocalServer[] = [];
  for (const port of ports(REDIS_DATA_ROOT)) {
    const pid = readPid(redisPidfile(port));
    servers.push({ kind: 'redis', port, pid, running: pid !== null && processLooksLike(pid, 'redis-server'), dir: redisDir(port) });
  }
  for (const port of ports(PG_DATA_ROOT)) {
    const dir = pgDataDir(port);
    const pid = readPid(path.join(dir, 'postmaster.pid'));
    servers.push({ kind: 'postgres', port, pid, running: pid !== null && processLooksLike(pid, 'postgres'), dir });
  }
  return servers;
}

/**
 * Stop only the servers this project started (pidfiles under .data/), or only
 * those on the given ports. Returns what was stopped.
 */
export async function stopLocalServices(opts: { logger?: Logger; ports?: number[] } = {}): Promise<string[]> {
  const logger = opts.logger ?? defaultLogger;
  const stopped: string[] = [];
  for (const server of listLocalServers()) {
    if (!server.running || (opts.ports && !opts.ports.includes(server.port))) continue;
    if (server.kind === 'redis') await stopLocalRedis(server.port, server.pid, logger);
    else await stopLocalPostgres(server.port, server.pid, server.dir, logger);
    stopped.push(`${server.kind} on port ${server.port} (pid ${server.pid})`);
  }
  return stopped;
}
