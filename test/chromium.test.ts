/**
 * Finding Chromium for the browser tests the way Redis and Postgres are found:
 * CHROMIUM_PATH, else Debian's /usr/bin/chromium, else install Debian's
 * package when root with apt-get, else skip with the reason. The decision is
 * checked for every case; finding it is checked on this machine as it is.
 */
import { existsSync } from 'node:fs';
import { afterEach, describe, expect, it } from 'vitest';
import { DEBIAN_CHROMIUM, ensureChromium, planChromium } from '../scripts/chromium.js';

const only = (...paths: string[]) => (p: string) => paths.includes(p);

describe('planChromium', () => {
  it('uses CHROMIUM_PATH when it exists, and never installs over it when it does not', () => {
    expect(planChromium({ envPath: '/opt/chrome/chrome', exists: only('/opt/chrome/chrome'), canInstall: true })).toEqual({ action: 'use', path: '/opt/chrome/chrome' });
    expect(planChromium({ envPath: '/opt/chrome/chrome', exists: only(DEBIAN_CHROMIUM), canInstall: true })).toEqual({
      action: 'skip',
      path: '/opt/chrome/chrome',
      reason: 'CHROMIUM_PATH=/opt/chrome/chrome does not exist',
    });
  });

  it("uses Debian's /usr/bin/chromium when it is there, whether or not it could install", () => {
    for (const canInstall of [true, false]) {
      expect(planChromium({ exists: only(DEBIAN_CHROMIUM), canInstall })).toEqual({ action: 'use', path: DEBIAN_CHROMIUM });
    }
  });

  it("installs Debian's chromium package when missing and installing is possible (root, apt-get)", () => {
    expect(planChromium({ exists: only(), canInstall: true })).toEqual({ action: 'install', path: DEBIAN_CHROMIUM, packages: ['chromium'] });
  });

  it('skips with the way out when missing and installing is not possible', () => {
    const plan = planChromium({ exists: only(), canInstall: false });
    expect(plan).toMatchObject({ action: 'skip', path: DEBIAN_CHROMIUM });
    expect(plan.action === 'skip' && plan.reason).toMatch(/apt-get install chromium, or set CHROMIUM_PATH/);
  });
});

describe('ensureChromium on this machine', () => {
  const saved = process.env.CHROMIUM_PATH;
  afterEach(() => {
    if (saved === undefined) delete process.env.CHROMIUM_PATH;
    else process.env.CHROMIUM_PATH = saved;
  });

  it.skipIf(!existsSync(DEBIAN_CHROMIUM) || saved !== undefined)('finds the installed /usr/bin/chromium without installing anything', async () => {
    const logged: string[] = [];
    expect(await ensureChromium({ logger: (m) => logged.push(m) })).toEqual({ path: DEBIAN_CHROMIUM, available: true });
    expect(logged).toEqual([]);
  });

  it('reports a CHROMIUM_PATH that does not exist as unavailable, with the reason, and installs nothing', async () => {
    process.env.CHROMIUM_PATH = '/nonexistent/chromium';
    const logged: string[] = [];
    expect(await ensureChromium({ logger: (m) => logged.push(m) })).toEqual({
      path: '/nonexistent/chromium',
      available: false,
      reason: 'CHROMIUM_PATH=/nonexistent/chromium does not exist',
    });
    expect(logged).toEqual([]);
  });
});
