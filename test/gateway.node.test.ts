/**
 * The gateway process as users run it: two processes on one Redis create the
 * demo event once, log JSON, and stop cleanly on SIGTERM.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { afterAll, describe, expect, it } from 'vitest';
import { loadConfig } from '../gateway/config.js';
import { createTestStore } from './support/redis.js';
import { testRedisUrl } from './support/env.js';

const t = createTestStore();
afterAll(() => t.cleanup());

interface RunningNode { child: ChildProcess; lines: string[]; ready: Promise<void> }

function startNode(): RunningNode {
  const child = spawn(process.execPath, ['--import', 'tsx', 'gateway/main.ts'], {
    env: { ...process.env, REDIS_URL: testRedisUrl(), KEY_PREFIX: t.prefix, DEMO_SEATS: '500', DEMO_EVENT_ID: 'demo', LOG_LEVEL: 'info' },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const lines: string[] = [];
  const ready = new Promise<void>((resolve, reject) => {
    let buffer = '';
    child.stdout!.on('data', (chunk: Buffer) => {
      buffer += chunk.toString();
      const parts = buffer.split('\n');
      buffer = parts.pop()!;
      for (const line of parts) {
        lines.push(line);
        if (line.includes('gateway node ready')) resolve();
      }
    });
    child.stderr!.on('data', (chunk: Buffer) => lines.push(chunk.toString()));
    child.once('exit', (code) => reject(new Error(`exited with ${code} before ready:\n${lines.join('\n')}`)));
  });
  return { child, lines, ready };
}

describe('gateway process', () => {
  it('two processes create the demo event once, log JSON and exit 0 on SIGTERM', async () => {
    const nodes = [startNode(), startNode()];
    await Promise.all(nodes.map((n) => n.ready));

    const meta = await t.store.meta('demo');
    expect(meta).toMatchObject({ seatCount: 500, seq: 0 });
    const created = nodes.flatMap((n) => n.lines).filter((l) => l.includes('demo event created'));
    expect(created).toHaveLength(1);
    for (const line of nodes.flatMap((n) => n.lines).filter((l) => l.startsWith('{'))) {
      expect(JSON.parse(line)).toHaveProperty('level');
    }
    // The layout document is stored beside the seat map.
    expect(await t.store.layout('demo')).toMatchObject({ version: 1, name: 'Demo Arena' });

    for (const n of nodes) n.child.kill('SIGTERM');
    const codes = await Promise.all(nodes.map(async (n) => (await once(n.child, 'exit'))[0]));
    expect(codes).toEqual([0, 0]);
  }, 60_000);
});

describe('configuration', () => {
  it('has defaults for everything', () => {
    expect(loadConfig({})).toMatchObject({ redisUrl: 'redis://127.0.0.1:6379', port: 9001, keyPrefix: 'seatmap:', demo: { eventId: 'demo', seats: 20_000 } });
  });

  it('names every invalid variable', () => {
    const attempt = () => loadConfig({ PORT: 'abc', DEMO_SEATS: '5', LOG_LEVEL: 'loud' });
    expect(attempt).toThrow(/^invalid configuration: /);
    const message = (() => {
      try {
        attempt();
      } catch (err) {
        return (err as Error).message;
      }
    })();
    for (const name of ['PORT', 'DEMO_SEATS', 'LOG_LEVEL']) expect(message).toContain(name);
  });
});
