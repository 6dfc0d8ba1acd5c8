/**
 * A redis-server of a test's own, on a free port, without persistence (a
 * restart empties it, script cache included): for tests that restart or
 * freeze Redis, or that count the commands a gateway sends, which the shared
 * test Redis cannot show apart from other test files' traffic.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { Redis } from 'ioredis';
import { expect } from 'vitest';
import { findBinary } from '../../scripts/services/index.js';
import { freePort } from './net.js';

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** A redis-server child of the test, without persistence: a restart empties it, script cache included. */
export class PrivateRedis {
  child: ChildProcess | null = null;
  readonly url: string;
  private frozen = false;

  constructor(
    readonly binary: string,
    readonly port: number,
  ) {
    this.url = `redis://127.0.0.1:${port}`;
  }

  async start(): Promise<void> {
    this.child = spawn(this.binary, ['--port', String(this.port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no'], { stdio: 'ignore' });
    const probe = new Redis(this.url, { lazyConnect: true, retryStrategy: () => null, maxRetriesPerRequest: 0 });
    probe.on('error', () => undefined);
    try {
      for (let attempt = 0; ; attempt++) {
        try {
          await probe.connect();
          await probe.ping();
          return;
        } catch (err) {
          if (attempt > 100) throw err;
          await sleep(50);
        }
      }
    } finally {
      probe.disconnect();
    }
  }

  async stop(): Promise<void> {
    const child = this.child;
    if (!child || child.exitCode !== null) return;
    this.thaw();
    const exited = new Promise((resolve) => child.once('exit', resolve));
    child.kill('SIGKILL');
    await exited;
    this.child = null;
  }

  freeze(): void {
    this.child!.kill('SIGSTOP');
    this.frozen = true;
  }

  thaw(): void {
    if (this.frozen) this.child?.kill('SIGCONT');
    this.frozen = false;
  }
}

/** Starts one on a free port; the caller stops it. */
export async function startPrivateRedis(): Promise<PrivateRedis> {
  const binary = findBinary('redis-server', ['/usr/sbin', '/usr/local/sbin']);
  expect(binary, 'redis-server binary').not.toBeNull();
  const redis = new PrivateRedis(binary!, await freePort());
  await redis.start();
  return redis;
}

