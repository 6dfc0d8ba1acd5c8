/**
 * A local Redis for a loopback URL nothing answers at: a daemonized
 * `redis-server` on the URL's port, bound to loopback, AOF on, with its data,
 * log and pidfile in `.data/redis/<port>/`; and stopping it again (SIGTERM to
 * the pid in its pidfile). Never touches a Redis this project did not start.
 */
import fs from 'node:fs';
import path from 'node:path';
import { probeRedis, waitFor } from './probe.js';
import {
  DATA_DIR,
  defaultLogger,
  displayPath,
  findBinary,
  readPid,
  run,
  tail,
  waitForExit,
  type Logger,
} from './system.js';
import { parseServiceUrl } from './urls.js';

export const REDIS_DATA_ROOT = path.join(DATA_DIR, 'redis');
export const REDIS_START_TIMEOUT_MS = 20_000;
const REDIS_SBIN_DIRS = ['/usr/sbin', '/usr/local/sbin'];

export function findRedisServer(): string | null {
  return findBinary('redis-server', REDIS_SBIN_DIRS);
}

export function redisDir(port: number): string {
  return path.join(REDIS_DATA_ROOT, String(port));
}

export function redisPidfile(port: number): string {
  return path.join(redisDir(port), 'redis.pid');
}

/** Start a daemonized redis-server on the URL's port, bound to loopback, AOF on, data in .data/redis/<port>. */
export async function startLocalRedis(url: string, logger: Logger = defaultLogger): Promise<string> {
  const { port, password } = parseServiceUrl(url, 6379);
  const bin = findRedisServer();
  if (!bin) throw new Error('redis-server not found on PATH');
  const dir = redisDir(port);
  fs.mkdirSync(dir, { recursive: true });
  const pidfile = redisPidfile(port);
  const logfile = path.join(dir, 'redis.log');
  const args = [
    '--port', String(port),
    // "-::1": also listen on IPv6 loopback when it exists (the leading dash makes it optional)
    '--bind', '127.0.0.1', '-::1',
    '--protected-mode', 'yes',
    '--dir', dir,
    '--appendonly', 'yes',
    '--daemonize', 'yes',
    '--pidfile', pidfile,
    '--logfile', logfile,
    ...(password ? ['--requirepass', password] : []),
  ];
  logger(`starting redis-server on 127.0.0.1:${port} (data in ${displayPath(dir)})`);
  const res = await run(bin, args, { cwd: dir, timeoutMs: 15_000 });
  const probe = await waitFor(() => probeRedis(url), res.code === 0 ? REDIS_START_TIMEOUT_MS : 2000);
  if (!probe.ok) {
    throw new Error(
      `redis-server on port ${port} did not come up (${probe.error ?? `exit code ${res.code}`}).\n` +
        `${res.stderr.trim()}\nLast lines of ${logfile}:\n${tail(logfile)}`,
    );
  }
  return `redis-server on 127.0.0.1:${port} (pid ${readPid(pidfile) ?? '?'}, data in ${displayPath(dir)})`;
}

/** SIGTERM to a redis-server this project started; resolves once it exited. */
export async function stopLocalRedis(port: number, pid: number | null, logger: Logger): Promise<void> {
  if (pid === null) return;
  logger(`stopping redis-server on port ${port} (pid ${pid})`);
  process.kill(pid, 'SIGTERM'); // redis shuts down gracefully on SIGTERM (flushes the AOF)
  if (!(await waitForExit(pid, 15_000))) throw new Error(`redis-server pid ${pid} did not exit within 15 s`);
}
