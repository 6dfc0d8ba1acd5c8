/**
 * Find or start the Redis and PostgreSQL servers the gateway needs.
 *
 * Order of attempts for each service:
 *   1. the URL from the environment (REDIS_URL / DATABASE_URL, or the loopback default) answers -> use it;
 *   2. the URL is a loopback address -> start a local server from installed binaries
 *      (Redis: daemonized redis-server with data in .data/redis/<port>;
 *       Postgres: an existing Debian cluster on that port, else a trust-auth cluster in .data/pg/<port>);
 *   3. no binaries, running as root with apt-get -> install redis-server / postgresql, then step 2;
 *   4. otherwise throw an Error that says exactly what to do.
 *
 * Importing this module has no side effects.
 */
import { spawn } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { Redis } from 'ioredis';
import pg from 'pg';

export const DEFAULT_REDIS_URL = 'redis://127.0.0.1:6379';
export const DEFAULT_DATABASE_URL = 'postgres://postgres@127.0.0.1:5432/postgres';

/** Repository root (this file lives in <repo>/scripts). */
export const REPO_ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
/** Everything the project starts locally keeps its data, logs and pidfiles here (git-ignored). */
export const DATA_DIR = path.join(REPO_ROOT, '.data');
const REDIS_DATA_ROOT = path.join(DATA_DIR, 'redis');
const PG_DATA_ROOT = path.join(DATA_DIR, 'pg');

const PROBE_TIMEOUT_MS = 1500;
const REDIS_START_TIMEOUT_MS = 20_000;
const PG_START_TIMEOUT_S = 60;
const PG_SYSTEM_USER = 'postgres';

export type Logger = (msg: string) => void;

export interface EnsureServicesOptions {
  /** Ensure Redis (default true). */
  redis?: boolean;
  /** Ensure PostgreSQL (default true). */
  postgres?: boolean;
  /** Progress messages; defaults to stderr with a "[services]" prefix. */
  logger?: Logger;
  /** Allow `apt-get install` when running as root and binaries are missing (default true). */
  allowInstall?: boolean;
  /** Override REDIS_URL from the environment. */
  redisUrl?: string;
  /** Override DATABASE_URL from the environment. */
  databaseUrl?: string;
}

export interface EnsureServicesResult {
  redisUrl: string;
  databaseUrl: string;
  /** Human-readable descriptions of what was started (empty when everything already answered). */
  started: string[];
}

export interface ProbeResult {
  /** The service answered and is usable at this URL. */
  ok: boolean;
  /** Something speaking the right protocol answered (it may still have refused us, e.g. auth or missing database). */
  answered: boolean;
  /** Elapsed milliseconds. */
  ms: number;
  error?: string;
  /** Redis error prefix (e.g. NOAUTH, LOADING) or Postgres SQLSTATE / Node error code (ECONNREFUSED). */
  code?: string;
}

export interface LocalServer {
  kind: 'redis' | 'postgres';
  port: number;
  pid: number | null;
  running: boolean;
  dir: string;
}

const defaultLogger: Logger = (msg) => {
  process.stderr.write(`[services] ${msg}\n`);
};

// ---------------------------------------------------------------------------
// Small helpers
// ---------------------------------------------------------------------------

export function isLoopbackHost(host: string): boolean {
  const h = host.replace(/^\[|\]$/g, '').toLowerCase();
  return h === 'localhost' || h === '::1' || h === '0:0:0:0:0:0:0:1' || /^127\.\d{1,3}\.\d{1,3}\.\d{1,3}$/.test(h);
}

interface ParsedUrl {
  host: string;
  port: number;
  user: string;
  password: string;
  database: string;
}

function parseServiceUrl(url: string, defaultPort: number): ParsedUrl {
  let u: URL;
  try {
    u = new URL(url);
  } catch {
    throw new Error(`Invalid URL: ${redact(url)}`);
  }
  return {
    host: u.hostname.replace(/^\[|\]$/g, ''),
    port: u.port ? Number(u.port) : defaultPort,
    user: decodeURIComponent(u.username),
    password: decodeURIComponent(u.password),
    database: decodeURIComponent(u.pathname.replace(/^\//, '')),
  };
}

/** Hide the password part of a URL for log lines and error messages. */
export function redact(url: string): string {
  try {
    const u = new URL(url);
    if (u.password) u.password = '***';
    return u.toString();
  } catch {
    return url;
  }
}

function withDatabase(url: string, database: string): string {
  const u = new URL(url);
  u.pathname = `/${encodeURIComponent(database)}`;
  return u.toString();
}

function quoteIdent(name: string): string {
  return `"${name.replace(/"/g, '""')}"`;
}

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

function errorMessage(err: unknown): string {
  if (err instanceof AggregateError && err.errors.length > 0) return errorMessage(err.errors[0]);
  return err instanceof Error ? err.message : String(err);
}

function errorCode(err: unknown): string | undefined {
  if (err instanceof AggregateError && err.errors.length > 0) return errorCode(err.errors[0]);
  const code = (err as { code?: unknown } | null)?.code;
  return typeof code === 'string' ? code : undefined;
}

function withTimeout<T>(promise: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(Object.assign(new Error(`${what} timed out after ${ms} ms`), { code: 'ETIMEDOUT' })), ms);
  });
  return Promise.race([promise, timeout]).finally(() => clearTimeout(timer));
}

function isRoot(): boolean {
  return process.getuid?.() === 0;
}

function isExecutable(file: string): boolean {
  try {
    fs.accessSync(file, fs.constants.X_OK);
    return fs.statSync(file).isFile();
  } catch {
    return false;
  }
}

/** First executable called `name` on PATH (or in `extraDirs`), or null. */
export function findBinary(name: string, extraDirs: string[] = []): string | null {
  const dirs = [...(process.env.PATH ?? '').split(path.delimiter), ...extraDirs].filter(Boolean);
  for (const dir of dirs) {
    const candidate = path.join(dir, name);
    if (isExecutable(candidate)) return candidate;
  }
  return null;
}

/** Postgres server binaries directories, newest major version first (Debian, RHEL/PGDG, Homebrew layouts). */
function pgVersionedBinDirs(): string[] {
  const found: { version: number; dir: string }[] = [];
  const roots: [string, RegExp, (m: RegExpMatchArray) => string][] = [
    ['/usr/lib/postgresql', /^(\d+)$/, (m) => `/usr/lib/postgresql/${m[0]}/bin`],
    ['/usr', /^pgsql-(\d+)$/, (m) => `/usr/${m[0]}/bin`],
    ['/opt/homebrew/opt', /^postgresql@(\d+)$/, (m) => `/opt/homebrew/opt/${m[0]}/bin`],
    ['/usr/local/opt', /^postgresql@(\d+)$/, (m) => `/usr/local/opt/${m[0]}/bin`],
  ];
  for (const [root, pattern, toDir] of roots) {
    let entries: string[];
    try {
      entries = fs.readdirSync(root);
    } catch {
      continue;
    }
    for (const entry of entries) {
      const m = entry.match(pattern);
      if (m) found.push({ version: Number(m[1]), dir: toDir(m) });
    }
  }
  return found.sort((a, b) => b.version - a.version).map((f) => f.dir);
}

/** Path of a Postgres server binary (initdb, pg_ctl, ...): PATH first, then the versioned install dirs. */
export function findPgBin(name: string): string | null {
  return findBinary(name, pgVersionedBinDirs());
}

/** A directory holding both initdb and pg_ctl (they must come from the same version), or null. */
export function findPgBinDir(): string | null {
  const initdb = findPgBin('initdb');
  if (initdb) {
    const dir = path.dirname(initdb);
    if (isExecutable(path.join(dir, 'pg_ctl'))) return dir;
  }
  for (const dir of pgVersionedBinDirs()) {
    if (isExecutable(path.join(dir, 'initdb')) && isExecutable(path.join(dir, 'pg_ctl'))) return dir;
  }
  return null;
}

interface RunResult {
  code: number | null;
  stdout: string;
  stderr: string;
}

interface RunOptions {
  /** Run as this system user (via runuser) when we are root. */
  asUser?: string;
  /** Stream output to our stderr instead of capturing it. */
  stream?: boolean;
  env?: NodeJS.ProcessEnv;
  cwd?: string;
  timeoutMs?: number;
}

function run(cmd: string, args: string[], opts: RunOptions = {}): Promise<RunResult> {
  let file = cmd;
  let argv = args;
  if (opts.asUser && isRoot()) {
    const runuser = findBinary('runuser', ['/usr/sbin', '/sbin']);
    if (!runuser) {
      return Promise.reject(new Error(`runuser not found; cannot run ${path.basename(cmd)} as user "${opts.asUser}"`));
    }
    file = runuser;
    argv = ['-u', opts.asUser, '--', cmd, ...args];
  }
  return new Promise((resolve, reject) => {
    const child = spawn(file, argv, {
      cwd: opts.cwd ?? os.tmpdir(),
      env: opts.env ?? process.env,
      stdio: opts.stream ? ['ignore', 'inherit', 'inherit'] : ['ignore', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    child.stdout?.setEncoding('utf8').on('data', (d: string) => (stdout += d));
    child.stderr?.setEncoding('utf8').on('data', (d: string) => (stderr += d));
    const timer = opts.timeoutMs
      ? setTimeout(() => {
          stderr += `\n(timed out after ${opts.timeoutMs} ms)`;
          child.kill('SIGTERM');
        }, opts.timeoutMs)
      : undefined;
    child.on('error', (err) => {
      clearTimeout(timer);
      reject(err);
    });
    child.on('close', (code) => {
      clearTimeout(timer);
      resolve({ code, stdout, stderr });
    });
  });
}

async function runOrThrow(cmd: string, args: string[], opts: RunOptions = {}): Promise<RunResult> {
  const res = await run(cmd, args, opts);
  if (res.code !== 0) {
    const who = opts.asUser && isRoot() ? ` (as ${opts.asUser})` : '';
    const output = `${res.stdout}\n${res.stderr}`.trim();
    throw new Error(`${path.basename(cmd)} ${args.join(' ')}${who} failed with exit code ${res.code}${output ? `:\n${output}` : ''}`);
  }
  return res;
}

function tail(file: string, lines = 20): string {
  try {
    return fs.readFileSync(file, 'utf8').trimEnd().split('\n').slice(-lines).join('\n');
  } catch {
    return '(no log)';
  }
}

function processAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
  } catch (err) {
    return errorCode(err) === 'EPERM';
  }
  try {
    // an exited process that nobody has reaped yet still "exists"
    return !/^\d+ \(.*\) Z/.test(fs.readFileSync(`/proc/${pid}/stat`, 'utf8'));
  } catch {
    return true; // no /proc (not Linux)
  }
}

/** True unless /proc says the process is something else (guards against recycled pids in stale pidfiles). */
function processLooksLike(pid: number, needle: string): boolean {
  try {
    const cmdline = fs.readFileSync(`/proc/${pid}/cmdline`, 'utf8');
    return cmdline.includes(needle);
  } catch {
    return processAlive(pid);
  }
}

function readPid(file: string): number | null {
  try {
    const pid = Number.parseInt(fs.readFileSync(file, 'utf8').split('\n')[0] ?? '', 10);
    return Number.isInteger(pid) && pid > 0 ? pid : null;
  } catch {
    return null;
  }
}

interface SystemUser {
  uid: number;
  gid: number;
}

function lookupSystemUser(name: string): SystemUser | null {
  try {
    for (const line of fs.readFileSync('/etc/passwd', 'utf8').split('\n')) {
      const [user, , uid, gid] = line.split(':');
      if (user === name && uid !== undefined && gid !== undefined) return { uid: Number(uid), gid: Number(gid) };
    }
  } catch {
    // no /etc/passwd (not Linux)
  }
  return null;
}

function chownRecursive(target: string, owner: SystemUser): void {
  fs.chownSync(target, owner.uid, owner.gid);
  if (fs.lstatSync(target).isDirectory()) {
    for (const entry of fs.readdirSync(target)) chownRecursive(path.join(target, entry), owner);
  }
}

// ---------------------------------------------------------------------------
// Probes
// ---------------------------------------------------------------------------

/** PING the Redis at `url` with a short connect timeout and no reconnect attempts. */
export async function probeRedis(url: string, timeoutMs = PROBE_TIMEOUT_MS): Promise<ProbeResult> {
  const t0 = Date.now();
  const client = new Redis(url, {
    lazyConnect: true,
    connectTimeout: timeoutMs,
    commandTimeout: timeoutMs,
    maxRetriesPerRequest: 0,
    enableOfflineQueue: false,
    enableReadyCheck: false,
    retryStrategy: () => null,
    reconnectOnError: () => false,
  });
  let lastError: unknown;
  client.on('error', (err: unknown) => {
    lastError = err;
  });
  try {
    await withTimeout(
      (async () => {
        await client.connect();
        const pong = await client.ping();
        if (pong !== 'PONG') throw new Error(`unexpected PING reply: ${String(pong)}`);
      })(),
      timeoutMs + 500,
      'Redis probe',
    );
    return { ok: true, answered: true, ms: Date.now() - t0 };
  } catch (err) {
    // A reply error (NOAUTH, WRONGPASS, LOADING, ...) means a Redis server is there but refused us.
    const isReply = (err as Error | undefined)?.name === 'ReplyError';
    const cause = isReply ? err : (lastError ?? err);
    const message = errorMessage(cause);
    const code = isReply ? message.split(' ')[0] : errorCode(cause);
    return { ok: false, answered: isReply, ms: Date.now() - t0, error: message, ...(code ? { code } : {}) };
  } finally {
    client.disconnect();
  }
}

/** `select 1` against the Postgres at `url` with a short connect timeout. */
export async function probePostgres(url: string, timeoutMs = PROBE_TIMEOUT_MS): Promise<ProbeResult> {
  const t0 = Date.now();
  const client = new pg.Client({ connectionString: url, connectionTimeoutMillis: timeoutMs, query_timeout: timeoutMs });
  client.on('error', () => {
    // errors after connect are reported through the awaited calls
  });
  try {
    await withTimeout(
      (async () => {
        await client.connect();
        await client.query('select 1');
      })(),
      timeoutMs + 500,
      'Postgres probe',
    );
    return { ok: true, answered: true, ms: Date.now() - t0 };
  } catch (err) {
    const message = errorMessage(err);
    // The server asked for a password we do not have: pg fails client-side ("SASL: ... client password must be a string").
    const passwordNeeded = !(err instanceof pg.DatabaseError) && /^SASL:|password must be/i.test(message);
    const answered = err instanceof pg.DatabaseError || passwordNeeded;
    const code = passwordNeeded ? '28P01' : errorCode(err);
    return { ok: false, answered, ms: Date.now() - t0, error: message, ...(code ? { code } : {}) };
  } finally {
    await client.end().catch(() => undefined);
  }
}

const PG_AUTH_FAILURES = new Set(['28P01', '28000']);
const PG_MISSING_DATABASE = '3D000';

async function waitFor(probe: () => Promise<ProbeResult>, timeoutMs: number): Promise<ProbeResult> {
  const deadline = Date.now() + timeoutMs;
  let last = await probe();
  while (!last.ok && Date.now() < deadline) {
    // a refused login will not fix itself; a missing database is handled by the caller
    if (last.answered && last.code && (PG_AUTH_FAILURES.has(last.code) || last.code === PG_MISSING_DATABASE)) break;
    if (last.answered && (last.code === 'NOAUTH' || last.code === 'WRONGPASS')) break;
    await sleep(250);
    last = await probe();
  }
  return last;
}

// ---------------------------------------------------------------------------
// Redis
// ---------------------------------------------------------------------------

function redisDir(port: number): string {
  return path.join(REDIS_DATA_ROOT, String(port));
}

/** Start a daemonized redis-server on the URL's port, bound to loopback, AOF on, data in .data/redis/<port>. */
export async function startLocalRedis(url: string, logger: Logger = defaultLogger): Promise<string> {
  const { port, password } = parseServiceUrl(url, 6379);
  const bin = findBinary('redis-server', ['/usr/sbin', '/usr/local/sbin']);
  if (!bin) throw new Error('redis-server not found on PATH');
  const dir = redisDir(port);
  fs.mkdirSync(dir, { recursive: true });
  const pidfile = path.join(dir, 'redis.pid');
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
  logger(`starting redis-server on 127.0.0.1:${port} (data in ${path.relative(REPO_ROOT, dir)})`);
  const res = await run(bin, args, { cwd: dir, timeoutMs: 15_000 });
  const probe = await waitFor(() => probeRedis(url), res.code === 0 ? REDIS_START_TIMEOUT_MS : 2000);
  if (!probe.ok) {
    throw new Error(
      `redis-server on port ${port} did not come up (${probe.error ?? `exit code ${res.code}`}).\n` +
        `${res.stderr.trim()}\nLast lines of ${logfile}:\n${tail(logfile)}`,
    );
  }
  return `redis-server on 127.0.0.1:${port} (pid ${readPid(pidfile) ?? '?'}, data in ${path.relative(REPO_ROOT, dir)})`;
}

// ---------------------------------------------------------------------------
// PostgreSQL
// ---------------------------------------------------------------------------

export interface DebianCluster {
  version: string;
  name: string;
  port: number;
  status: string;
  owner: string;
  dataDir: string;
}

/** Clusters managed by Debian's postgresql-common (`pg_lsclusters`), or [] when the tools are absent. */
export async function listDebianClusters(): Promise<DebianCluster[]> {
  const bin = findBinary('pg_lsclusters');
  if (!bin) return [];
  const res = await run(bin, ['--no-header']).catch(() => null);
  if (!res || res.code !== 0) return [];
  return res.stdout
    .split('\n')
    .map((line) => line.trim().split(/\s+/))
    .filter((cols) => cols.length >= 6)
    .map(([version = '', name = '', port = '', status = '', owner = '', dataDir = '']) => ({
      version,
      name,
      port: Number(port),
      status,
      owner,
      dataDir,
    }));
}

/** A file in .data/pg/<port> naming the cluster's directory when it had to live outside the checkout. */
const PG_LOCATION_FILE = 'location';
/** Where clusters live when the `postgres` user cannot reach the checkout (root, private parent directory). */
const PG_OUTSIDE_ROOT = path.join('/var/tmp', 'seatmap-pg', createHash('sha1').update(REPO_ROOT).digest('hex').slice(0, 12));

/** The cluster directory of a port: .data/pg/<port>, or where its `location` file points. */
function pgDir(port: number): string {
  const local = path.join(PG_DATA_ROOT, String(port));
  try {
    return fs.readFileSync(path.join(local, PG_LOCATION_FILE), 'utf8').trim() || local;
  } catch {
    return local;
  }
}

/** Whether `user` can write into and traverse `dir` (every parent must be traversable). */
async function reachableBy(user: string, dir: string): Promise<boolean> {
  return (await run('/bin/sh', ['-c', 'test -w "$1" && test -x "$1"', 'sh', dir], { asUser: user })).code === 0;
}

/**
 * As root, initdb runs as the `postgres` user, which cannot enter a checkout
 * under a private directory (a mode 700 home or temp dir). Then the cluster
 * lives under /var/tmp instead, and .data/pg/<port>/location points to it.
 */
async function relocateIfUnreachable(port: number, owner: SystemUser, logger: Logger): Promise<string> {
  const local = pgDir(port);
  chownRecursive(local, owner);
  if (await reachableBy(PG_SYSTEM_USER, local)) return local;
  const outside = path.join(PG_OUTSIDE_ROOT, String(port));
  fs.mkdirSync(path.join(outside, 'run'), { recursive: true });
  chownRecursive(outside, owner);
  fs.writeFileSync(path.join(PG_DATA_ROOT, String(port), PG_LOCATION_FILE), `${outside}\n`);
  logger(`the "${PG_SYSTEM_USER}" user cannot reach ${local}; the cluster lives in ${outside} instead`);
  return outside;
}

function pgDataDir(port: number): string {
  return path.join(pgDir(port), 'data');
}

/** Start an existing Debian cluster with pg_ctlcluster. */
async function startDebianCluster(cluster: DebianCluster, logger: Logger): Promise<string> {
  const bin = findBinary('pg_ctlcluster');
  if (!bin) throw new Error('pg_ctlcluster not found');
  logger(`starting Postgres cluster ${cluster.version}/${cluster.name} on port ${cluster.port} (pg_ctlcluster)`);
  const res = await run(bin, ['--skip-systemctl-redirect', cluster.version, cluster.name, 'start'], { timeoutMs: 90_000 });
  if (res.code !== 0) {
    const hint = isRoot() ? '' : `\nTry: sudo pg_ctlcluster ${cluster.version} ${cluster.name} start`;
    throw new Error(`pg_ctlcluster ${cluster.version} ${cluster.name} start failed:\n${(res.stdout + res.stderr).trim()}${hint}`);
  }
  return `postgres cluster ${cluster.version}/${cluster.name} on port ${cluster.port} (pg_ctlcluster)`;
}

/**
 * Create (if needed) and start a trust-auth cluster in .data/pg/<port>/data listening on loopback,
 * with its unix socket inside .data. As root, initdb/pg_ctl run as the `postgres` system user.
 */
async function startDataDirCluster(url: string, logger: Logger): Promise<string> {
  const { port, user, host } = parseServiceUrl(url, 5432);
  const binDir = findPgBinDir();
  if (!binDir) throw new Error('initdb/pg_ctl not found (looked on PATH and in /usr/lib/postgresql/*/bin)');
  const initdb = path.join(binDir, 'initdb');
  const pgCtl = path.join(binDir, 'pg_ctl');

  let dir = pgDir(port);
  fs.mkdirSync(path.join(dir, 'run'), { recursive: true });

  let asUser: string | undefined;
  if (isRoot()) {
    const owner = lookupSystemUser(PG_SYSTEM_USER);
    if (!owner) {
      throw new Error(
        `initdb refuses to run as root and there is no "${PG_SYSTEM_USER}" system user.\n` +
          `Do one of:\n  - create it: useradd --system --create-home ${PG_SYSTEM_USER}   (then re-run)\n` +
          `  - run this command as a regular user\n  - set DATABASE_URL to a running Postgres`,
      );
    }
    asUser = PG_SYSTEM_USER;
    dir = await relocateIfUnreachable(port, owner, logger);
    if (!(await reachableBy(asUser, dir))) {
      throw new Error(
        `The "${PG_SYSTEM_USER}" user cannot reach ${dir} (a parent directory is not accessible to it).\n` +
          `Do one of:\n  - make the parents traversable, e.g. chmod o+x ${path.dirname(dir)}\n` +
          `  - set DATABASE_URL to a running Postgres`,
      );
    }
  }
  const dataDir = path.join(dir, 'data');
  const socketDir = path.join(dir, 'run');
  const logfile = path.join(dir, 'postgres.log');

  const superuser = user || process.env.PGUSER || os.userInfo().username;
  if (!fs.existsSync(path.join(dataDir, 'PG_VERSION'))) {
    logger(`creating Postgres cluster in ${path.relative(REPO_ROOT, dataDir)} (superuser "${superuser}", trust auth)`);
    await runOrThrow(
      initdb,
      ['-D', dataDir, '-U', superuser, '--auth=trust', '--encoding=UTF8', '--locale=C', '--no-instructions'],
      { asUser, timeoutMs: 120_000 },
    );
    const listen = /^127\./.test(host) ? '127.0.0.1' : '127.0.0.1,::1';
    // unix socket paths are limited to ~107 bytes; skip the socket rather than fail on deep checkouts
    const socketPath = path.join(socketDir, `.s.PGSQL.${port}`);
    const sockets = Buffer.byteLength(socketPath) < 100 ? socketDir : '';
    const settings = [
      '',
      '# --- local development settings written by scripts/services.ts ---',
      `listen_addresses = '${listen}'`,
      `port = ${port}`,
      `unix_socket_directories = '${sockets.replace(/'/g, "''")}'`,
      'max_connections = 200',
      '',
    ].join('\n');
    fs.appendFileSync(path.join(dataDir, 'postgresql.conf'), settings);
  }

  logger(`starting Postgres on 127.0.0.1:${port} (data in ${path.relative(REPO_ROOT, dataDir)})`);
  if (asUser) {
    // the log file must be writable by the server's user
    if (!fs.existsSync(logfile)) fs.writeFileSync(logfile, '');
    const owner = lookupSystemUser(asUser);
    if (owner) fs.chownSync(logfile, owner.uid, owner.gid);
  }
  const res = await run(pgCtl, ['-D', dataDir, '-l', logfile, '-w', '-t', String(PG_START_TIMEOUT_S), 'start'], {
    asUser,
    timeoutMs: (PG_START_TIMEOUT_S + 15) * 1000,
  });
  if (res.code !== 0) {
    throw new Error(`pg_ctl start failed for ${dataDir}:\n${(res.stdout + res.stderr).trim()}\nLast lines of ${logfile}:\n${tail(logfile)}`);
  }
  const pid = readPid(path.join(dataDir, 'postmaster.pid'));
  return `postgres on 127.0.0.1:${port} (pid ${pid ?? '?'}, data in ${path.relative(REPO_ROOT, dataDir)})`;
}

/**
 * Start a local Postgres for a loopback URL: an existing Debian cluster on that port, else a cluster in .data/pg.
 * Resolves once the server answers (it may still refuse the login; ensureDatabase reports that).
 */
export async function startLocalPostgres(url: string, logger: Logger = defaultLogger): Promise<string> {
  const { port } = parseServiceUrl(url, 5432);
  const cluster = (await listDebianClusters()).find((c) => c.port === port);
  const description = cluster ? await startDebianCluster(cluster, logger) : await startDataDirCluster(url, logger);
  const probe = await waitFor(() => probePostgres(withDatabase(url, 'postgres')), PG_START_TIMEOUT_S * 1000);
  if (!probe.ok && !probe.answered) {
    throw new Error(`Postgres on port ${port} was started but does not answer at ${redact(url)}: ${probe.error}`);
  }
  return description;
}

/** Create the database named in `url` when the server answers but the database does not exist. */
export async function ensureDatabase(url: string, logger: Logger = defaultLogger): Promise<void> {
  const probe = await probePostgres(url);
  if (probe.ok) return;
  const { database, port } = parseServiceUrl(url, 5432);
  if (probe.answered && probe.code && PG_AUTH_FAILURES.has(probe.code)) {
    const cluster = (await listDebianClusters()).find((c) => c.port === port);
    const hba = cluster ? `/etc/postgresql/${cluster.version}/${cluster.name}/pg_hba.conf` : 'pg_hba.conf';
    throw new Error(
      `Postgres at ${redact(url)} answers but refuses the login: ${probe.error}\n` +
        `Do one of:\n  - put the right user/password in DATABASE_URL\n` +
        `  - for local development allow trust auth: add "host all all 127.0.0.1/32 trust" at the top of ${hba} and reload Postgres`,
    );
  }
  if (probe.code !== PG_MISSING_DATABASE) {
    throw new Error(`Postgres at ${redact(url)} does not answer: ${probe.error}`);
  }
  const adminDb = database === 'postgres' ? 'template1' : 'postgres';
  logger(`creating database "${database}"`);
  const client = new pg.Client({ connectionString: withDatabase(url, adminDb), connectionTimeoutMillis: 5000 });
  await client.connect();
  try {
    await client.query(`CREATE DATABASE ${quoteIdent(database)}`);
  } catch (err) {
    if (errorCode(err) !== '42P04') throw err; // created concurrently by someone else
  } finally {
    await client.end();
  }
}

/**
 * After we installed postgresql ourselves, Debian's fresh cluster only accepts password logins over TCP.
 * Let loopback connections in with trust auth (the same setup docker-compose uses) and reload.
 */
export async function trustLoopbackOnDebianCluster(port: number, logger: Logger = defaultLogger): Promise<boolean> {
  const cluster = (await listDebianClusters()).find((c) => c.port === port);
  if (!cluster) return false;
  const hba = `/etc/postgresql/${cluster.version}/${cluster.name}/pg_hba.conf`;
  if (!fs.existsSync(hba)) return false;
  const marker = '# seatmap-gateway: trust loopback TCP connections (added by scripts/services.ts)';
  const current = fs.readFileSync(hba, 'utf8');
  if (current.includes(marker)) return false;
  logger(`allowing trust auth for 127.0.0.1 and ::1 in ${hba} (freshly installed cluster)`);
  fs.writeFileSync(hba, `${marker}\nhost all all 127.0.0.1/32 trust\nhost all all ::1/128 trust\n\n${current}`);
  const ctl = findBinary('pg_ctlcluster');
  if (ctl) await runOrThrow(ctl, ['--skip-systemctl-redirect', cluster.version, cluster.name, 'reload']);
  return true;
}

// ---------------------------------------------------------------------------
// Installing
// ---------------------------------------------------------------------------

/** `apt-get update` + `apt-get install -y <packages>` with output streamed to stderr (root only). */
export async function installPackages(packages: string[], logger: Logger = defaultLogger): Promise<void> {
  const aptGet = findBinary('apt-get');
  if (!aptGet) throw new Error('apt-get not found');
  const env = { ...process.env, DEBIAN_FRONTEND: 'noninteractive' };
  logger(`installing ${packages.join(' ')} with apt-get (running as root)`);
  await runOrThrow(aptGet, ['update'], { stream: true, env });
  await runOrThrow(aptGet, ['install', '-y', ...packages], { stream: true, env });
}

function canInstall(opts: EnsureServicesOptions): boolean {
  return isRoot() && opts.allowInstall !== false && findBinary('apt-get') !== null;
}

function hasRedisBinary(): boolean {
  return findBinary('redis-server', ['/usr/sbin', '/usr/local/sbin']) !== null;
}

async function hasPostgresBinaries(port: number): Promise<boolean> {
  if (findPgBinDir()) return true;
  return (await listDebianClusters()).some((c) => c.port === port) && findBinary('pg_ctlcluster') !== null;
}

function whatToDo(problems: string[]): string {
  return [
    ...problems,
    '',
    'Do one of:',
    '  - point the URLs at running servers:   export REDIS_URL=redis://HOST:6379 DATABASE_URL=postgres://USER@HOST:5432/DB',
    '  - install the servers (they are then started automatically, data under .data/):',
    '        sudo apt-get install -y redis-server postgresql        (Debian/Ubuntu)',
    '        brew install redis postgresql@15                         (macOS)',
    '  - run them in containers:               docker compose up -d redis postgres',
    '',
    'See docs/services.md.',
  ].join('\n');
}

// ---------------------------------------------------------------------------
// Public entry points
// ---------------------------------------------------------------------------

/** Make sure Redis and/or Postgres answer at their URLs, starting or installing them locally when possible. */
export async function ensureServices(opts: EnsureServicesOptions = {}): Promise<EnsureServicesResult> {
  const logger = opts.logger ?? defaultLogger;
  const wantRedis = opts.redis ?? true;
  const wantPg = opts.postgres ?? true;
  const redisUrl = opts.redisUrl ?? (process.env.REDIS_URL || DEFAULT_REDIS_URL);
  const databaseUrl = opts.databaseUrl ?? (process.env.DATABASE_URL || DEFAULT_DATABASE_URL);
  const redis = parseServiceUrl(redisUrl, 6379);
  const db = parseServiceUrl(databaseUrl, 5432);
  const started: string[] = [];

  const [redisProbe, pgProbe] = await Promise.all([
    wantRedis ? probeRedis(redisUrl) : null,
    wantPg ? probePostgres(databaseUrl) : null,
  ]);
  if (redisProbe?.ok) logger(`redis answers at ${redact(redisUrl)}`);
  if (pgProbe?.ok) logger(`postgres answers at ${redact(databaseUrl)}`);

  let needRedis = redisProbe !== null && !redisProbe.ok;
  // A Postgres that answers but refuses (missing database, auth) needs no new server: ensureDatabase deals with it.
  let needPg = pgProbe !== null && !pgProbe.ok && !pgProbe.answered;

  if (needRedis && redisProbe?.answered) {
    // Something speaking Redis answered but refused us: starting another server would not help.
    const ready = redisProbe.code === 'LOADING' ? await waitFor(() => probeRedis(redisUrl), REDIS_START_TIMEOUT_MS) : redisProbe;
    if (!ready.ok) {
      throw new Error(`Redis at ${redact(redisUrl)} answers but refuses: ${ready.error}\nFix REDIS_URL (password?) or the server's configuration.`);
    }
    needRedis = false;
  }

  // Remote URLs that do not answer are a configuration problem we cannot fix locally.
  const remoteProblems: string[] = [];
  if (needRedis && !isLoopbackHost(redis.host)) {
    remoteProblems.push(`Redis does not answer at ${redact(redisUrl)} (${redisProbe?.error}); it is not a local address, so nothing can be started for it.`);
  }
  if (needPg && !isLoopbackHost(db.host)) {
    remoteProblems.push(`Postgres does not answer at ${redact(databaseUrl)} (${pgProbe?.error}); it is not a local address, so nothing can be started for it.`);
  }
  if (remoteProblems.length > 0) throw new Error(whatToDo(remoteProblems));

  // Binaries: install what is missing when allowed.
  let installedPostgres = false;
  const missing: string[] = [];
  if (needRedis && !hasRedisBinary()) missing.push('redis-server');
  if (needPg && !(await hasPostgresBinaries(db.port))) missing.push('postgresql');
  if (missing.length > 0) {
    if (!canInstall(opts)) {
      const problems: string[] = [];
      if (missing.includes('redis-server')) {
        problems.push(`Redis does not answer at ${redact(redisUrl)} (${redisProbe?.error}) and redis-server is not installed.`);
      }
      if (missing.includes('postgresql')) {
        problems.push(`Postgres does not answer at ${redact(databaseUrl)} (${pgProbe?.error}) and no Postgres server binaries (initdb, pg_ctl) were found.`);
      }
      throw new Error(whatToDo(problems));
    }
    await installPackages(missing, logger);
    installedPostgres = missing.includes('postgresql');
    // the packages' own service start may already have brought the servers up
    if (needRedis) needRedis = !(await waitFor(() => probeRedis(redisUrl), 3000)).ok;
    if (needPg) {
      const probe = await probePostgres(databaseUrl);
      needPg = !probe.ok && !(probe.answered && probe.code === PG_MISSING_DATABASE);
    }
  }

  if (needRedis) started.push(await startLocalRedis(redisUrl, logger));
  if (needPg) started.push(await startLocalPostgres(databaseUrl, logger));
  if (wantPg) {
    if (installedPostgres) {
      const probe = await probePostgres(withDatabase(databaseUrl, 'postgres'));
      if (probe.answered && probe.code && PG_AUTH_FAILURES.has(probe.code)) await trustLoopbackOnDebianCluster(db.port, logger);
    }
    await ensureDatabase(databaseUrl, logger);
  }
  for (const s of started) logger(`started ${s}`);
  return { redisUrl, databaseUrl, started };
}

/** Servers this project started under .data/ (from their pidfiles). */
export function listLocalServers(): LocalServer[] {
  const servers: LocalServer[] = [];
  const ports = (root: string): number[] => {
    try {
      return fs
        .readdirSync(root)
        .filter((e) => /^\d+$/.test(e))
        .map(Number)
        .sort((a, b) => a - b);
    } catch {
      return [];
    }
  };
  for (const port of ports(REDIS_DATA_ROOT)) {
    const dir = redisDir(port);
    const pid = readPid(path.join(dir, 'redis.pid'));
    servers.push({ kind: 'redis', port, pid, running: pid !== null && processLooksLike(pid, 'redis-server'), dir });
  }
  for (const port of ports(PG_DATA_ROOT)) {
    const dir = pgDataDir(port);
    const pid = readPid(path.join(dir, 'postmaster.pid'));
    servers.push({ kind: 'postgres', port, pid, running: pid !== null && processLooksLike(pid, 'postgres'), dir });
  }
  return servers;
}

async function waitForExit(pid: number, timeoutMs: number): Promise<boolean> {
  const deadline = Date.now() + timeoutMs;
  while (processAlive(pid)) {
    if (Date.now() > deadline) return false;
    await sleep(100);
  }
  return true;
}

async function stopLocalRedis(server: LocalServer, logger: Logger): Promise<void> {
  if (server.pid === null) return;
  logger(`stopping redis-server on port ${server.port} (pid ${server.pid})`);
  process.kill(server.pid, 'SIGTERM'); // redis shuts down gracefully on SIGTERM (flushes the AOF)
  if (!(await waitForExit(server.pid, 15_000))) throw new Error(`redis-server pid ${server.pid} did not exit within 15 s`);
}

async function stopLocalPostgres(server: LocalServer, logger: Logger): Promise<void> {
  if (server.pid === null) return;
  logger(`stopping postgres on port ${server.port} (pid ${server.pid})`);
  const binDir = findPgBinDir();
  if (binDir) {
    let asUser: string | undefined;
    if (isRoot()) {
      const owner = fs.statSync(server.dir).uid;
      asUser = owner === 0 ? undefined : PG_SYSTEM_USER;
    }
    await runOrThrow(path.join(binDir, 'pg_ctl'), ['stop', '-D', server.dir, '-m', 'fast', '-w', '-t', '60'], {
      asUser,
      timeoutMs: 75_000,
    });
  } else {
    process.kill(server.pid, 'SIGINT'); // "fast" shutdown
    if (!(await waitForExit(server.pid, 60_000))) throw new Error(`postgres pid ${server.pid} did not exit within 60 s`);
  }
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
    if (server.kind === 'redis') await stopLocalRedis(server, logger);
    else await stopLocalPostgres(server, logger);
    stopped.push(`${server.kind} on port ${server.port} (pid ${server.pid})`);
  }
  return stopped;
}

/**
 * Create a uniquely named, empty database next to `baseUrl` (e.g. seatmap_t_3f9c0a1b2c4d).
 * `drop()` removes it again, closing any connections still open to it.
 */
export async function createTestDatabase(baseUrl: string): Promise<{ url: string; name: string; drop(): Promise<void> }> {
  const name = `seatmap_t_${randomBytes(6).toString('hex')}`;
  const url = await createNamedDatabase(baseUrl, name);
  let dropped = false;
  return {
    url,
    name,
    async drop() {
      if (dropped) return;
      await dropDatabase(baseUrl, name);
      dropped = true;
    },
  };
}

async function withAdminClient<T>(baseUrl: string, fn: (client: pg.Client) => Promise<T>): Promise<T> {
  const client = new pg.Client({ connectionString: baseUrl, connectionTimeoutMillis: 5000 });
  await client.connect();
  try {
    return await fn(client);
  } finally {
    await client.end();
  }
}

/** Creates the database `name` unless it exists; resolves to its URL. */
export async function createNamedDatabase(baseUrl: string, name: string): Promise<string> {
  await withAdminClient(baseUrl, async (c) => {
    try {
      await c.query(`CREATE DATABASE ${quoteIdent(name)}`);
    } catch (err) {
      // 42P04: it exists; 23505: a concurrent CREATE of the same name won
      if (errorCode(err) !== '42P04' && errorCode(err) !== '23505') throw err;
    }
  });
  return withDatabase(baseUrl, name);
}

export async function dropDatabase(baseUrl: string, name: string): Promise<void> {
  await withAdminClient(baseUrl, async (c) => {
    try {
      await c.query(`DROP DATABASE IF EXISTS ${quoteIdent(name)} WITH (FORCE)`);
    } catch (err) {
      if (errorCode(err) !== '42601') throw err; // servers before 13 have no WITH (FORCE)
      await c.query('SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = $1 AND pid <> pg_backend_pid()', [name]);
      await c.query(`DROP DATABASE IF EXISTS ${quoteIdent(name)}`);
    }
  });
}

/** Drops every database whose name starts with `prefix`; resolves to their names. */
export async function dropDatabasesStartingWith(baseUrl: string, prefix: string): Promise<string[]> {
  const names = await withAdminClient(baseUrl, async (c) => {
    const res = await c.query<{ datname: string }>('SELECT datname FROM pg_database WHERE starts_with(datname, $1)', [prefix]);
    return res.rows.map((r) => r.datname);
  });
  for (const name of names) await dropDatabase(baseUrl, name);
  return names;
}
