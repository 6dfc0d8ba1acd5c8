/**
 * The machine the services run on: where the checkout and its `.data/`
 * directory are, finding executables, running commands (as the `postgres`
 * system user when we are root), pidfiles and live processes, system users,
 * and the small error/timing helpers every services module shares (one
 * `withTimeout`, one `errorCode`). No Redis or Postgres knowledge here.
 */
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

/** Repository root (this file lives in <repo>/scripts/services). */
export const REPO_ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..');
/** Everything the project starts locally keeps its data, logs and pidfiles here (git-ignored). */
export const DATA_DIR = path.join(REPO_ROOT, '.data');

export type Logger = (msg: string) => void;

export const defaultLogger: Logger = (msg) => {
  process.stderr.write(`[services] ${msg}\n`);
};

/**
 * A directory as log lines show it: relative to the checkout when it is
 * inside it (`.data/pg/5432/data`), absolute otherwise (a cluster moved under
 * /var/tmp), never as a `../../` climb out of the checkout.
 */
export function displayPath(dir: string, root = REPO_ROOT): string {
  const relative = path.relative(root, dir);
  const outside = relative === '' || relative === '..' || relative.startsWith(`..${path.sep}`) || path.isAbsolute(relative);
  return outside ? path.resolve(dir) : relative;
}

export function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

export function errorMessage(err: unknown): string {
  if (err instanceof AggregateError && err.errors.length > 0) return errorMessage(err.errors[0]);
  return err instanceof Error ? err.message : String(err);
}

export function errorCode(err: unknown): string | undefined {
  if (err instanceof AggregateError && err.errors.length > 0) return errorCode(err.errors[0]);
  const code = (err as { code?: unknown } | null)?.code;
  return typeof code === 'string' ? code : undefined;
}

/** Rejects with an ETIMEDOUT error naming `what` when `promise` takes longer than `ms` (the project's one helper). */
export { withTimeout } from '../../core/timeout.js';

export function isRoot(): boolean {
  return process.getuid?.() === 0;
}

export function isExecutable(file: string): boolean {
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

export interface RunResult {
  code: number | null;
  stdout: string;
  stderr: string;
}

export interface RunOptions {
  /** Run as this system user (via runuser) when we are root. */
  asUser?: string;
  /** Stream output to our stderr instead of capturing it. */
  stream?: boolean;
  env?: NodeJS.ProcessEnv;
  cwd?: string;
  timeoutMs?: number;
}

export function run(cmd: string, args: string[], opts: RunOptions = {}): Promise<RunResult> {
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

export async function runOrThrow(cmd: string, args: string[], opts: RunOptions = {}): Promise<RunResult> {
  const res = await run(cmd, args, opts);
  if (res.code !== 0) {
    const who = opts.asUser && isRoot() ? ` (as ${opts.asUser})` : '';
    const output = `${res.stdout}\n${res.stderr}`.trim();
    throw new Error(`${path.basename(cmd)} ${args.join(' ')}${who} failed with exit code ${res.code}${output ? `:\n${output}` : ''}`);
  }
  return res;
}

/** The last lines of a log file, for error messages. */
export function tail(file: string, lines = 20): string {
  try {
    return fs.readFileSync(file, 'utf8').trimEnd().split('\n').slice(-lines).join('\n');
  } catch {
    return '(no log)';
  }
}

export function processAlive(pid: number): boolean {
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
export function processLooksLike(pid: number, needle: string): boolean {
  try {
    const cmdline = fs.readFileSync(`/proc/${pid}/cmdline`, 'utf8');
    return cmdline.includes(needle);
  } catch {
    return processAlive(pid);
  }
}

export async function waitForExit(pid: number, timeoutMs: number): Promise<boolean> {
  const deadline = Date.now() + timeoutMs;
  while (processAlive(pid)) {
    if (Date.now() > deadline) return false;
    await sleep(100);
  }
  return true;
}

export function readPid(file: string): number | null {
  try {
    const pid = Number.parseInt(fs.readFileSync(file, 'utf8').split('\n')[0] ?? '', 10);
    return Number.isInteger(pid) && pid > 0 ? pid : null;
  } catch {
    return null;
  }
}

export interface SystemUser {
  uid: number;
  gid: number;
}

export function lookupSystemUser(name: string): SystemUser | null {
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

export function chownRecursive(target: string, owner: SystemUser): void {
  fs.chownSync(target, owner.uid, owner.gid);
  if (fs.lstatSync(target).isDirectory()) {
    for (const entry of fs.readdirSync(target)) chownRecursive(path.join(target, entry), owner);
  }
}
