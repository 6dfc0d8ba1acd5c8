/**
 * WebSocket upgrades per client address (UPGRADES_PER_IP_PER_SECOND and
 * _BURST, per node; docs/onsale.md): a token bucket per address, answered
 * HTTP 429 when empty. The address is the TCP peer, or, when the peer is one
 * of TRUSTED_PROXIES, the nearest address of X-Forwarded-For that is not a
 * trusted proxy itself: a client cannot pick its own address by sending the
 * header straight to the gateway.
 */
import { TokenBucket } from './rate-limit.js';

/** Past this many addresses, idle ones (whose bucket is full again) are forgotten. */
const PRUNE_AT = 50_000;

/** `::ffff:1.2.3.4` (an IPv4 peer on a dual-stack socket) is 1.2.3.4. */
export function normalizeAddress(address: string): string {
  const a = address.trim().toLowerCase();
  return a.startsWith('::ffff:') && a.includes('.') ? a.slice(7) : a;
}

/** The client's address: the peer, or from X-Forwarded-For when the peer is a trusted proxy. */
export function clientAddress(peer: string, forwardedFor: string, trusted: ReadonlySet<string>): string {
  const direct = normalizeAddress(peer);
  if (!trusted.has(direct) || forwardedFor === '') return direct;
  const hops = forwardedFor.split(',').map(normalizeAddress).filter(Boolean);
  // rightmost first: each proxy appends the address it received the request from
  for (let i = hops.length - 1; i >= 0; i--) if (!trusted.has(hops[i]!)) return hops[i]!;
  return hops[0] ?? direct;
}

export class UpgradeLimiter {
  private readonly buckets = new Map<string, { bucket: TokenBucket; last: number }>();
  readonly trusted: ReadonlySet<string>;

  constructor(
    private readonly perSecond: number,
    private readonly burst: number,
    trustedProxies: readonly string[],
    private readonly now: () => number = performance.now.bind(performance),
  ) {
    this.trusted = new Set(trustedProxies.map(normalizeAddress));
  }

  get enabled(): boolean {
    return this.perSecond > 0;
  }

  /** Takes one upgrade of the address; false: refuse it (429). */
  take(address: string): boolean {
    if (!this.enabled) return true;
    const now = this.now();
    let entry = this.buckets.get(address);
    if (!entry) {
      if (this.buckets.size >= PRUNE_AT) this.prune(now);
      entry = { bucket: new TokenBucket(this.perSecond, this.burst, this.now), last: now };
      this.buckets.set(address, entry);
    }
    entry.last = now;
    return entry.bucket.take();
  }

  /** Seconds until the address has an upgrade again (for Retry-After). */
  retryAfterSec(): number {
    return Math.max(1, Math.ceil(1 / this.perSecond));
  }

  private prune(now: number): void {
    const refillMs = (this.burst / this.perSecond) * 1000;
    for (const [address, entry] of this.buckets) if (now - entry.last > refillMs) this.buckets.delete(address);
  }
}
