/**
 * The remote key set (JWKS) tokens are verified against, for gateway/auth.ts.
 *
 * A token's key is looked up in the set last fetched. The set is fetched on
 * first use and again once it is older than `maxAgeMs`, and at once when a
 * token names a key the set lacks: that is how a rotated signing key is
 * learnt. Fetches, failed ones included, start at most once per
 * `refetchIntervalMs` whatever the traffic, so neither a flood of unknown
 * `kid`s nor a key server that is down is hammered; concurrent lookups share
 * one fetch.
 *
 * Every lookup ends in one of three ways:
 * - the key;
 * - `JWKSNoMatchingKey` (jose's): the token's key is not in a set fetched for
 *   it, i.e. after the token arrived (or joined while it was being fetched),
 *   or found missing from the current set by an earlier token less than
 *   `refetchIntervalMs` ago. That verdict is final: the token is refused for good;
 * - `KeySetUnavailable`: cannot tell. The set could not be fetched (down,
 *   slow, not a key set), or the token names an unknown key and the rate limit
 *   allows no fetch yet. The client should come back later with the same token.
 */
import { createLocalJWKSet, errors, type CryptoKey, type FlattenedJWSInput, type JWSHeaderParameters } from 'jose';

/** The key set could not be consulted: the token was not judged. */
export class KeySetUnavailable extends Error {
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'KeySetUnavailable';
  }
}

export interface RemoteKeySetOptions {
  /** a fetch that has not answered by then counts as failed */
  timeoutMs: number;
  /** least time between the starts of two fetches */
  refetchIntervalMs: number;
  /** a set older than this is fetched again before it is used */
  maxAgeMs: number;
  /** replaces the global fetch (tests) */
  fetch?: typeof fetch;
}

type LocalKeySet = ReturnType<typeof createLocalJWKSet>;

export class RemoteKeySet {
  /** fetches started (for metrics and tests) */
  fetches = 0;
  private local: LocalKeySet | null = null;
  /** when the fetch that gave `local` started (performance.now()) */
  private fetchedAt = -Infinity;
  /** when the last fetch, successful or not, started */
  private attemptedAt = -Infinity;
  private pending: Promise<void> | null = null;
  /** keys (alg and kid) found missing from `local` after a fetch made for them */
  private missing = new Set<string>();

  constructor(
    private readonly url: URL,
    private readonly options: RemoteKeySetOptions,
  ) {}

  /** A jose key resolver: `jwtVerify(token, (header, token) => keySet.getKey(header, token))`. */
  async getKey(header: JWSHeaderParameters, token?: FlattenedJWSInput): Promise<CryptoKey> {
    const arrivedAt = performance.now();
    let waited = false;
    if (!this.local || arrivedAt - this.fetchedAt >= this.options.maxAgeMs) {
      await this.refetch();
      waited = true;
    }
    try {
      return await this.local!(header, token);
    } catch (err) {
      if (!(err instanceof errors.JWKSNoMatchingKey)) throw err;
      const selector = selectorOf(header, token);
      // The set was fetched for this token (or since it arrived), or lacked its key a moment ago: final.
      const recentlyMissing = this.missing.has(selector) && performance.now() - this.fetchedAt < this.options.refetchIntervalMs;
      if (waited || this.fetchedAt >= arrivedAt || recentlyMissing) throw this.noteMissing(selector, err);
    }
    // A key the set lacks: perhaps one rotated in since the last fetch.
    await this.refetch();
    try {
      return await this.local!(header, token);
    } catch (err) {
      if (err instanceof errors.JWKSNoMatchingKey) throw this.noteMissing(selectorOf(header, token), err);
      throw err;
    }
  }

  private noteMissing(selector: string, err: Error): Error {
    this.missing.add(selector);
    return err;
  }

  /** Fetches the set, or joins the fetch in flight; throws KeySetUnavailable when it fails or the rate limit allows none. */
  private async refetch(): Promise<void> {
    if (!this.pending) {
      const now = performance.now();
      if (now - this.attemptedAt < this.options.refetchIntervalMs) {
        throw new KeySetUnavailable('key set fetched too recently to fetch it again');
      }
      this.attemptedAt = now;
      this.fetches++;
      this.pending = this.fetchSet(now).finally(() => {
        this.pending = null;
      });
    }
    await this.pending;
  }

  private async fetchSet(startedAt: number): Promise<void> {
    let local: LocalKeySet;
    try {
      const response = await (this.options.fetch ?? fetch)(this.url, {
        method: 'GET',
        redirect: 'manual',
        headers: { accept: 'application/json, application/jwk-set+json' },
        signal: AbortSignal.timeout(this.options.timeoutMs),
      });
      if (response.status !== 200) {
        await response.body?.cancel().catch(() => undefined);
        throw new Error(`key set answered HTTP ${response.status}`);
      }
      local = createLocalJWKSet((await response.json()) as Parameters<typeof createLocalJWKSet>[0]);
    } catch (err) {
      throw new KeySetUnavailable('key set unavailable', { cause: err });
    }
    this.local = local;
    this.fetchedAt = startedAt;
    this.missing = new Set();
  }
}

/** What jose selects a key by: the token header's alg and kid. */
function selectorOf(header: JWSHeaderParameters, token?: FlattenedJWSInput): string {
  const { alg, kid } = { ...header, ...token?.header };
  return `${String(alg)}\u0000${kid === undefined ? '' : String(kid)}`;
}
