/**
 * Headless Chromium for the browser tests and the page benchmark: Debian's
 * `chromium` package (/usr/bin/chromium, or CHROMIUM_PATH), driven by
 * playwright-core. No browser is downloaded. `ensureChromium` finds or
 * installs it the way scripts/services/ does Redis and Postgres: CHROMIUM_PATH
 * when set, else /usr/bin/chromium, else (as root, with apt-get) Debian's
 * `chromium` package; otherwise the browser tests are skipped with a warning.
 */
import { existsSync } from 'node:fs';
import { chromium, type Browser } from 'playwright-core';
import { canInstall, installPackages, type Logger } from './services/index.js';

export const CHROMIUM_ARGS = [
  '--headless',
  '--no-sandbox',
  '--disable-gpu',
  '--disable-quic',
  '--no-first-run',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
];

/** Where Debian's `chromium` package puts the browser. */
export const DEBIAN_CHROMIUM = '/usr/bin/chromium';
export const CHROMIUM_PACKAGE = 'chromium';

export function chromiumPath(): string {
  return process.env.CHROMIUM_PATH || DEBIAN_CHROMIUM;
}

export function chromiumAvailable(): boolean {
  return existsSync(chromiumPath());
}

/** What to do about Chromium, from the facts of this machine. */
export type ChromiumPlan =
  | { action: 'use'; path: string }
  | { action: 'install'; path: string; packages: string[] }
  | { action: 'skip'; path: string; reason: string };

export interface ChromiumFacts {
  /** CHROMIUM_PATH, when set (a path of the caller's choosing is never replaced by an install) */
  envPath?: string;
  exists: (path: string) => boolean;
  /** root, apt-get present, installing allowed */
  canInstall: boolean;
}

export function planChromium(facts: ChromiumFacts): ChromiumPlan {
  if (facts.envPath) {
    return facts.exists(facts.envPath)
      ? { action: 'use', path: facts.envPath }
      : { action: 'skip', path: facts.envPath, reason: `CHROMIUM_PATH=${facts.envPath} does not exist` };
  }
  if (facts.exists(DEBIAN_CHROMIUM)) return { action: 'use', path: DEBIAN_CHROMIUM };
  if (facts.canInstall) return { action: 'install', path: DEBIAN_CHROMIUM, packages: [CHROMIUM_PACKAGE] };
  return { action: 'skip', path: DEBIAN_CHROMIUM, reason: `no Chromium at ${DEBIAN_CHROMIUM} (apt-get install ${CHROMIUM_PACKAGE}, or set CHROMIUM_PATH)` };
}

export interface ChromiumResult {
  path: string;
  available: boolean;
  /** set when it was installed just now */
  installed?: boolean;
  /** why the browser tests will be skipped */
  reason?: string;
}

/** Finds Chromium, or installs Debian's package when root with apt-get; never throws (a missing browser skips tests). */
export async function ensureChromium(opts: { logger?: Logger; allowInstall?: boolean } = {}): Promise<ChromiumResult> {
  const logger = opts.logger ?? ((msg: string) => process.stderr.write(`[chromium] ${msg}\n`));
  const plan = planChromium({ envPath: process.env.CHROMIUM_PATH || undefined, exists: existsSync, canInstall: canInstall(opts.allowInstall) });
  if (plan.action === 'use') return { path: plan.path, available: true };
  if (plan.action === 'skip') return { path: plan.path, available: false, reason: plan.reason };
  try {
    await installPackages(plan.packages, logger);
  } catch (err) {
    const reason = `installing ${plan.packages.join(' ')} failed: ${err instanceof Error ? err.message : String(err)}`;
    return { path: plan.path, available: false, reason };
  }
  return existsSync(plan.path)
    ? { path: plan.path, available: true, installed: true }
    : { path: plan.path, available: false, reason: `${plan.packages.join(' ')} was installed but ${plan.path} is missing` };
}

/** Launches Chromium with a fresh temporary profile (Playwright makes a new user data dir per launch). */
export function launchChromium(): Promise<Browser> {
  return chromium.launch({ executablePath: chromiumPath(), args: CHROMIUM_ARGS, timeout: 30_000 });
}
