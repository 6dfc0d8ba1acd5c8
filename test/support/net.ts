import { readFileSync } from 'node:fs';
import net from 'node:net';

/**
 * The lowest port the kernel hands out on its own (bind to port 0, outgoing
 * connections). Ports below it are never picked by anything but a caller
 * that names them.
 */
function ephemeralLow(): number {
  try {
    const low = Number(readFileSync('/proc/sys/net/ipv4/ip_local_port_range', 'utf8').trim().split(/\s+/)[0]);
    if (Number.isInteger(low) && low > 12_000) return low;
  } catch {
    // not Linux: assume the IANA dynamic range
  }
  return 49_152;
}

const LOWEST = 10_000;
const HIGHEST = ephemeralLow() - 1;

function tryListen(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const server = net.createServer();
    server.once('error', () => resolve(false));
    server.listen({ port, host: '127.0.0.1', exclusive: true }, () => server.close(() => resolve(true)));
  });
}

/**
 * A loopback port nothing listens on, chosen at random below the kernel's
 * ephemeral range. A test that stops a server and starts it again on the same
 * port leaves it free for a moment; a port the kernel could hand to any other
 * test's `PORT=0` server or outgoing connection in that moment could be taken,
 * one outside that range only by another `freePort` draw (1 in ~20,000).
 */
export async function freePort(): Promise<number> {
  for (let attempt = 0; attempt < 100; attempt++) {
    const port = LOWEST + Math.floor(Math.random() * (HIGHEST - LOWEST + 1));
    if (await tryListen(port)) return port;
  }
  throw new Error(`no free port between ${LOWEST} and ${HIGHEST}`);
}
