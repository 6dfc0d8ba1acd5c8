/**
 * A local Postgres for a loopback URL nothing answers at. Either an existing
 * Debian cluster on that port (`pg_lsclusters`, started with
 * `pg_ctlcluster`), or a trust-auth cluster of our own made by `initdb` in
 * `.data/pg/<port>/` and run by `pg_ctl` (as root: as the `postgres` system
 * user, moved under /var/tmp when that user cannot reach the checkout).
 * Also finds the server binaries of any installed major version, lets
 * loopback logins into a cluster we installed ourselves, and stops the
 * clusters this project started. Databases inside a server: databases.ts.
 */
import { createHash } from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { probePostgres, waitFor } from './probe.js';
import {
  DATA_DIR,
  REPO_ROOT,
  chownRecursive,
  defaultLogger,
  displayPath,
  findBinary,
  isExecutable,
  isRoot,
  lookupSystemUser,
  readPid,
  run,
  runOrThrow,
  tail,
  waitForExit,
  type Logger,
  type SystemUser,
} from './system.js';
import { parseServiceUrl, redact, withDatabase } from './urls.js';

export const PG_DATA_ROOT = path.join(DATA_DIR, 'pg');
const PG_START_TIMEOUT_S = 60;
const PG_SYSTEM_USER = 'postgres';
/** A file in .data/pg/<port> naming the cluster's directory when it had to live outside the checkout. */
const PG_LOCATION_FILE = 'location';
/** Where clusters live when the `postgres` user cannot reach the checkout (root, private parent directory). */
const PG_OUTSIDE_ROOT = path.join('/var/tmp', 'seatmap-pg', createHash('sha1').update(REPO_ROOT).digest('hex').slice(0, 12));

// ---------------------------------------------------------------------------
// Binaries
// ---------------------------------------------------------------------------

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

/** Whether a Postgres could be started on `port`: server binaries, or a Debian cluster there and its tools. */
export async function hasPostgresBinaries(port: number): Promise<boolean> {
  if (findPgBinDir()) return true;
  return (await listDebianClusters()).some((c) => c.port === port) && findBinary('pg_ctlcluster') !== null;
}

// ---------------------------------------------------------------------------
// Debian clusters (postgresql-common)
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

/** The pg_hba.conf of the Debian cluster on `port` (for hints), or null. */
export async function debianClusterHba(port: number): Promise<string | null> {
  const cluster = (await listDebianClusters()).find((c) => c.port === port);
  return cluster ? `/etc/postgresql/${cluster.version}/${cluster.name}/pg_hba.conf` : null;
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
 * After we installed postgresql ourselves, Debian's fresh cluster only accepts password logins over TCP.
 * Let loopback connections in with trust auth (the same setup docker-compose uses) and reload.
 */
export async function trustLoopbackOnDebianCluster(port: number, logger: Logger = defaultLogger): Promise<boolean> {
  const cluster = (await listDebianClusters()).find((c) => c.port === port);
  if (!cluster) return false;
  const hba = `/etc/postgresql/${cluster.version}/${cluster.name}/pg_hba.conf`;
  if (!fs.existsSync(hba)) return false;
  const marker = '# seatmap-gateway: trust loopback TCP connections (added by scripts/services)';
  const current = fs.readFileSync(hba, 'utf8');
  if (current.includes('# seatmap-gateway: trust loopback TCP connections')) return false;
  logger(`allowing trust auth for 127.0.0.1 and ::1 in ${hba} (freshly installed cluster)`);
  fs.writeFileSync(hba, `${marker}\nhost all all 127.0.0.1/32 trust\nhost all all ::1/128 trust\n\n${current}`);
  const ctl = findBinary('pg_ctlcluster');
  if (ctl) await runOrThrow(ctl, ['--skip-systemctl-redirect', cluster.version, cluster.name, 'reload']);
  return true;
}

// ---------------------------------------------------------------------------
// Clusters of our own (.data/pg/<port>)
// ---------------------------------------------------------------------------

/** The cluster directory of a port: .data/pg/<port>, or where its `location` file points. */
function pgDir(port: number): string {
  const local = path.join(PG_DATA_ROOT, String(port));
  try {
    return fs.readFileSync(path.join(local, PG_LOCATION_FILE), 'utf8').trim() || local;
  } catch {
    return local;
  }
}

/** The data directory (postmaster.pid inside) of the cluster this project made for `port`. */
export function pgDataDir(port: number): string {
  return path.join(pgDir(port), 'data');
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
    logger(`creating Postgres cluster in ${displayPath(dataDir)} (superuser "${superuser}", trust auth)`);
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
      '# --- local development settings written by scripts/services ---',
      `listen_addresses = '${listen}'`,
      `port = ${port}`,
      `unix_socket_directories = '${sockets.replace(/'/g, "''")}'`,
      'max_connections = 200',
      '',
    ].join('\n');
    fs.appendFileSync(path.join(dataDir, 'postgresql.conf'), settings);
  }

  logger(`starting Postgres on 127.0.0.1:${port} (data in ${displayPath(dataDir)})`);
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
  return `postgres on 127.0.0.1:${port} (pid ${pid ?? '?'}, data in ${displayPath(dataDir)})`;
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

/** Stop a cluster this project started (`pg_ctl stop -m fast`, as its owner), given its data directory. */
export async function stopLocalPostgres(port: number, pid: number | null, dataDir: string, logger: Logger): Promise<void> {
  if (pid === null) return;
  logger(`stopping postgres on port ${port} (pid ${pid})`);
  const binDir = findPgBinDir();
  if (binDir) {
    let asUser: string | undefined;
    if (isRoot()) {
      const owner = fs.statSync(dataDir).uid;
      asUser = owner === 0 ? undefined : PG_SYSTEM_USER;
    }
    await runOrThrow(path.join(binDir, 'pg_ctl'), ['stop', '-D', dataDir, '-m', 'fast', '-w', '-t', '60'], {
      asUser,
      timeoutMs: 75_000,
    });
  } else {
    process.kill(pid, 'SIGINT'); // "fast" shutdown
    if (!(await waitForExit(pid, 60_000))) throw new Error(`postgres pid ${pid} did not exit within 60 s`);
  }
}
