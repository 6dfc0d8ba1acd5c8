/**
 * Is something answering? One short, retry-free probe per service (`PING`
 * for Redis, `select 1` for Postgres) that tells "nothing there" apart from
 * "a server answered but refused us" (auth, missing database, still
 * loading), and `waitFor`, which polls a probe until it succeeds or the
 * refusal is one that will not fix itself.
 */
import { Redis } from 'ioredis';
import pg from 'pg';
import { errorCode, errorMessage, sleep, withTimeout } from './system.js';

export const PROBE_TIMEOUT_MS = 1500;

/** SQLSTATEs of a refused Postgres login. */
export const PG_AUTH_FAILURES = new Set(['28P01', '28000']);
/** SQLSTATE of a connection to a database that does not exist. */
export const PG_MISSING_DATABASE = '3D000';

export interface ProbeResult {
  /** The service answered and is usable at this URL. */
  ok: boolean;
  /** Something speaking the right protocol answered (it may still have refused us, e.g. auth or missing database). */
  answered: boolean;
  /** Elapsed milliseconds. */
  ms: number;
  error?: string;
  /** Redis error prefix (e.g. NOAUTH, LOADING) or Postgres SQLSTATE / Node error code (ECONNREFUSED). */
  code?: string;
}

/** PING the Redis at `url` with a short connect timeout and no reconnect attempts. */
export async function probeRedis(url: string, timeoutMs = PROBE_TIMEOUT_MS): Promise<ProbeResult> {
  const t0 = Date.now();
  const client = new Redis(url, {
    lazyConnect: true,
    connectTimeout: timeoutMs,
    commandTimeout: timeoutMs,
    maxRetriesPerRequest: 0,
    enableOfflineQueue: false,
    enableReadyCheck: false,
    retryStrategy: () => null,
    reconnectOnError: () => false,
  });
  let lastError: unknown;
  client.on('error', (err: unknown) => {
    lastError = err;
  });
  try {
    await withTimeout(
      (async () => {
        await client.connect();
        const pong = await client.ping();
        if (pong !== 'PONG') throw new Error(`unexpected PING reply: ${String(pong)}`);
      })(),
      timeoutMs + 500,
      'Redis probe',
    );
    return { ok: true, answered: true, ms: Date.now() - t0 };
  } catch (err) {
    // A reply error (NOAUTH, WRONGPASS, LOADING, ...) means a Redis server is there but refused us.
    const isReply = (err as Error | undefined)?.name === 'ReplyError';
    const cause = isReply ? err : (lastError ?? err);
    const message = errorMessage(cause);
    const code = isReply ? message.split(' ')[0] : errorCode(cause);
    return { ok: false, answered: isReply, ms: Date.now() - t0, error: message, ...(code ? { code } : {}) };
  } finally {
    client.disconnect();
  }
}

/** `select 1` against the Postgres at `url` with a short connect timeout. */
export async function probePostgres(url: string, timeoutMs = PROBE_TIMEOUT_MS): Promise<ProbeResult> {
  const t0 = Date.now();
  const client = new pg.Client({ connectionString: url, connectionTimeoutMillis: timeoutMs, query_timeout: timeoutMs });
  client.on('error', () => {
    // errors after connect are reported through the awaited calls
  });
  try {
    await withTimeout(
      (async () => {
        await client.connect();
        await client.query('select 1');
      })(),
      timeoutMs + 500,
      'Postgres probe',
    );
    return { ok: true, answered: true, ms: Date.now() - t0 };
  } catch (err) {
    const message = errorMessage(err);
    // The server asked for a password we do not have: pg fails client-side ("SASL: ... client password must be a string").
    const passwordNeeded = !(err instanceof pg.DatabaseError) && /^SASL:|password must be/i.test(message);
    const answered = err instanceof pg.DatabaseError || passwordNeeded;
    const code = passwordNeeded ? '28P01' : errorCode(err);
    return { ok: false, answered, ms: Date.now() - t0, error: message, ...(code ? { code } : {}) };
  } finally {
    await client.end().catch(() => undefined);
  }
}

/** Polls `probe` until it succeeds, the time is up, or the server refuses in a way that will not change. */
export async function waitFor(probe: () => Promise<ProbeResult>, timeoutMs: number): Promise<ProbeResult> {
  const deadline = Date.now() + timeoutMs;
  let last = await probe();
  while (!last.ok && Date.now() < deadline) {
    // a refused login will not fix itself; a missing database is handled by the caller
    if (last.answered && last.code && (PG_AUTH_FAILURES.has(last.code) || last.code === PG_MISSING_DATABASE)) break;
    if (last.answered && (last.code === 'NOAUTH' || last.code === 'WRONGPASS')) break;
    await sleep(250);
    last = await probe();
  }
  return last;
}
