/**
 * Installing what is missing on Debian and Ubuntu: `apt-get update` and
 * `apt-get install -y` of the named packages, output shown, only when we run
 * as root, apt-get exists and the caller allows it. Used for redis-server and
 * postgresql here, and for chromium by the test setup (scripts/chromium.ts).
 */
import { findBinary, isRoot, defaultLogger, runOrThrow, type Logger } from './system.js';

/** Whether packages can be installed here: root, apt-get on PATH, and `allowInstall` not false. */
export function canInstall(allowInstall: boolean | undefined): boolean {
  return isRoot() && allowInstall !== false && findBinary('apt-get') !== null;
}

/** `apt-get update` + `apt-get install -y <packages>` with output streamed to stderr (root only). */
export async function installPackages(packages: string[], logger: Logger = defaultLogger): Promise<void> {
  const aptGet = findBinary('apt-get');
  if (!aptGet) throw new Error('apt-get not found');
  const env = { ...process.env, DEBIAN_FRONTEND: 'noninteractive' };
  logger(`installing ${packages.join(' ')} with apt-get (running as root)`);
  await runOrThrow(aptGet, ['update'], { stream: true, env });
  await runOrThrow(aptGet, ['install', '-y', ...packages], { stream: true, env });
}
