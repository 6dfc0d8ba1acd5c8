/**
 * What a server process got from the machine over a stretch of a run: CPU
 * split into user and kernel time, and how long its main thread (the event
 * loop) ran or was runnable but waited for a core (/proc/<pid>/schedstat).
 * On a machine shared with the load generators, a server with low CPU use
 * and a long wait is starved, not idle.
 */
import { readFileSync } from 'node:fs';
import { processCpuTimes } from '../../loadtest/node/gateway-process.js';

export interface ProcessUsage {
  /** CPU seconds in user space and in the kernel (system calls: the socket writes) */
  userS: number;
  systemS: number;
  /** the main thread's seconds on a core, and runnable but waiting for one */
  ranS: number;
  waitedS: number;
}

export function processUsage(pid: number): ProcessUsage {
  const [ran, waited] = readFileSync(`/proc/${pid}/schedstat`, 'utf8').trim().split(' ').map(Number);
  return { ...processCpuTimes(pid), ranS: ran! / 1e9, waitedS: waited! / 1e9 };
}

export function usageSince(pid: number, start: ProcessUsage): ProcessUsage {
  const now = processUsage(pid);
  return { userS: now.userS - start.userS, systemS: now.systemS - start.systemS, ranS: now.ranS - start.ranS, waitedS: now.waitedS - start.waitedS };
}

export const cpuSeconds = (u: ProcessUsage) => u.userS + u.systemS;
