/**
 * The client SDK's connection handling against real gateways: backoff with
 * full jitter (bounds checked with an injected random source), reconnecting
 * and resuming after a gateway restart, token expiry (4002) with and without
 * a token refresher, and no reconnect loop after a refused token (4001).
 */
import { SignJWT } from 'jose';
import WebSocket from 'ws';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import {
  Backoff,
  SeatMapClient,
  backoffBound,
  backoffDelay,
  closeAction,
  type ClientEvents,
  type ConnectionChange,
  type SeatMapClientOptions,
  type WebSocketConstructor,
} from '../core/client/index.js';
import { SeatStore } from '../core/store/index.js';
import { createVenueEvent, newPrefix, startTestGateway, token, wipePrefix, type TestGateway } from './support/gateway.js';
import { freePort } from './support/net.js';
import { newRedis } from './support/redis.js';

const clients: SeatMapClient[] = [];

afterEach(() => {
  for (const c of clients.splice(0)) c.close();
});

async function until(predicate: () => boolean, what: string | (() => string), timeoutMs = 10_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!predicate()) {
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${typeof what === 'string' ? what : what()}`);
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** A `ws` WebSocket that counts how many connections it was asked to open. */
function countingWebSocket(): { Impl: WebSocketConstructor; opened: () => number } {
  let opened = 0;
  class CountingWebSocket extends WebSocket {
    constructor(url: string, protocols?: string | string[]) {
      super(url, protocols);
      opened++;
    }
  }
  return { Impl: CountingWebSocket, opened: () => opened };
}

/** A deterministic random source that remembers what it returned. */
function recordingRandom(seed = 42): { random: () => number; drawn: number[] } {
  let state = seed;
  const drawn: number[] = [];
  return {
    drawn,
    random: () => {
      state = (state * 1103515245 + 12345) % 2 ** 31; // LCG: enough for jitter
      const value = state / 2 ** 31;
      drawn.push(value);
      return value;
    },
  };
}

function newClient(options: SeatMapClientOptions): SeatMapClient {
  const client = new SeatMapClient(options);
  clients.push(client);
  return client;
}

describe('backoff', () => {
  it('draws every delay from [0, min(cap, base × 2^attempt)) with the injected random source', () => {
    const policy = { baseMs: 500, capMs: 30_000 };
    for (let attempt = 0; attempt < 40; attempt++) {
      const bound = Math.min(30_000, 500 * 2 ** attempt);
      expect(backoffBound(attempt, policy)).toBe(bound);
      expect(backoffDelay(attempt, policy, () => 0)).toBe(0);
      expect(backoffDelay(attempt, policy, () => 0.5)).toBe(bound / 2);
      const top = backoffDelay(attempt, policy, () => 0.999999);
      expect(top).toBeLessThan(bound);
      expect(top).toBeGreaterThan(bound * 0.99);
    }
  });

  it('counts attempts up and starts over after reset', () => {
    const { random, drawn } = recordingRandom();
    const backoff = new Backoff({ baseMs: 100, capMs: 1000 }, random);
    const steps = Array.from({ length: 6 }, () => backoff.next());
    expect(steps.map((s) => s.attempt)).toEqual([0, 1, 2, 3, 4, 5]);
    expect(steps.map((s) => s.boundMs)).toEqual([100, 200, 400, 800, 1000, 1000]);
    steps.forEach((s, i) => expect(s.delayMs).toBe(drawn[i]! * s.boundMs));
    backoff.reset();
    expect(backoff.next()).toMatchObject({ attempt: 0, boundMs: 100 });
  });

  it('maps close codes to what the protocol says to do', () => {
    expect(closeAction(4001)).toBe('stop-unauthorized');
    expect(closeAction(4009)).toBe('stop-too-many');
    expect(closeAction(4002)).toBe('refresh-token');
    expect(closeAction(1012)).toBe('reconnect-fresh');
    for (const code of [1000, 1006, 1011, 1013, 4008, 4999]) expect(closeAction(code)).toBe('reconnect');
  });
});

describe('gateway restart', () => {
  const prefix = newPrefix();
  let gw: TestGateway;
  let port: number;

  beforeAll(async () => {
    port = await freePort();
    gw = await startTestGateway({ PORT: String(port), TICK_MS: '10' }, prefix);
    await createVenueEvent(gw.store, 'restart', 200);
  });

  afterAll(async () => {
    await gw.stop();
    await wipePrefix(prefix);
  });

  it('reconnects with jittered backoff within bounds, resumes, and ends equal to the store', async () => {
    const { random, drawn } = recordingRandom(7);
    const changes: ConnectionChange[] = [];
    const client = newClient({ url: gw.wsUrl, token: await token('restarter'), WebSocket, backoff: { baseMs: 100, capMs: 400 }, random });
    client.on('connection', (c) => changes.push(c));
    client.watch('restart');
    await client.connect();
    await until(() => client.seats('restart') !== null, 'the snapshot');
    const hold = await client.hold('restart', [1, 2]);

    await gw.stop(); // closes every client with 1012
    // while the gateway is away the event moves on
    const redis = newRedis();
    const store = new SeatStore({ redis, prefix });
    await store.hold({ eventId: 'restart', holder: 'someone-else', seats: [50, 51] });
    await until(() => changes.filter((c) => c.state === 'reconnecting').length >= 4, 'four failed attempts');
    gw = await startTestGateway({ PORT: String(port), TICK_MS: '10' }, prefix);

    await until(
      () => client.stats.opens === 2 && client.state === 'open',
      () => `the reconnection (opens ${client.stats.opens}, last changes ${JSON.stringify(changes.slice(-3))})`,
    );
    const truth = (await store.snapshot('restart'))!;
    await until(() => client.position('restart')?.seq === truth.seq, 'the resumed copy');
    expect(Buffer.from(client.seats('restart')!).equals(truth.status)).toBe(true);
    expect([client.seats('restart')![50], client.seats('restart')![51]]).toEqual([1, 1]);

    const waits = changes.filter((c) => c.state === 'reconnecting');
    expect(waits[0]).toMatchObject({ attempt: 0, code: 1012 }); // a restart starts the backoff over
    expect(waits.map((w) => w.attempt)).toEqual(waits.map((_, i) => i));
    // every delay was the injected random draw times min(cap, base × 2^attempt)
    const draws = drawn.slice(-waits.length);
    waits.forEach((w, i) => {
      const bound = Math.min(400, 100 * 2 ** w.attempt);
      expect(w.boundMs).toBe(bound);
      expect(w.delayMs).toBeGreaterThanOrEqual(0);
      expect(w.delayMs).toBeLessThan(bound);
      expect(w.delayMs).toBe(draws[i]! * bound);
    });
    expect(client.stats.attempts).toBe(waits.length + 1);

    // the hold token outlived the connection
    expect(client.holds('restart')).toMatchObject([{ tok: hold.tok, seats: [1, 2] }]);
    await expect(client.release('restart', hold.tok)).resolves.toMatchObject({ released: 2 });
    await redis.quit();
  });

  it('waits for the connection before sending a request, within the timeout', async () => {
    const client = newClient({ url: gw.wsUrl, token: await token('patient'), WebSocket });
    void client.connect();
    expect(client.state).toBe('connecting');
    await expect(client.ping()).resolves.toBeGreaterThanOrEqual(0);
    client.close();
    await expect(client.ping()).rejects.toMatchObject({ code: 'CLOSED' });
  });
});

describe('tokens', () => {
  let gw: TestGateway;

  beforeAll(async () => {
    gw = await startTestGateway({ TICK_MS: '10' });
    await createVenueEvent(gw.store, 'tokens', 100);
  });

  afterAll(async () => {
    await gw.stop();
    await wipePrefix(gw.prefix);
  });

  it('on 4002 reports the expiry, asks getToken for a fresh token, reconnects and resumes', async () => {
    let refreshes = 0;
    const expiries: ClientEvents['token-expired'][] = [];
    const changes: ConnectionChange[] = [];
    const client = newClient({
      url: gw.wsUrl,
      token: await token('renewer', undefined, 2),
      getToken: async () => {
        refreshes++;
        return token('renewer');
      },
      WebSocket,
      backoff: { baseMs: 50 },
      // the 4002 path: no refresh in band (test/gateway.tokens.test.ts has that)
      refreshBeforeMs: 0,
    });
    client.on('token-expired', (e) => expiries.push(e));
    client.on('connection', (c) => changes.push(c));
    client.watch('tokens');
    await client.connect();
    await until(() => client.seats('tokens') !== null, 'the snapshot');

    await until(() => client.stats.opens === 2 && client.state === 'open', 'the reconnection with a fresh token', 8000);
    expect(expiries).toEqual([{ refreshing: true }]);
    expect(refreshes).toBe(1);
    expect(changes.find((c) => c.state === 'reconnecting')).toMatchObject({ code: 4002 });

    // the new connection works and the copy follows
    await gw.store.hold({ eventId: 'tokens', holder: 'other', seats: [9] });
    await until(() => client.seats('tokens')![9] === 1, 'a change after the refresh');
    expect(client.session?.sub).toBe('renewer');
  });

  it('on 4002 without getToken reports the expiry and stops instead of reconnecting', async () => {
    const { Impl, opened } = countingWebSocket();
    const expiries: ClientEvents['token-expired'][] = [];
    const client = newClient({ url: gw.wsUrl, token: await token('expirer', undefined, 2), WebSocket: Impl, backoff: { baseMs: 10 } });
    client.on('token-expired', (e) => expiries.push(e));
    await client.connect();

    await until(() => client.state === 'closed', 'the stop', 8000);
    expect(client.stopped).toBe('token-expired');
    expect(expiries).toEqual([{ refreshing: false }]);
    await sleep(1000);
    expect(opened()).toBe(1);
    await expect(client.ping()).rejects.toMatchObject({ code: 'CLOSED' });
  });

  it('on 4001 reports the refusal once and never reconnects by itself', async () => {
    const { Impl, opened } = countingWebSocket();
    const refusals: ClientEvents['auth-failed'][] = [];
    const forged = await new SignJWT({ scope: 'seats:read' })
      .setProtectedHeader({ alg: 'HS256' })
      .setSubject('mallory')
      .setExpirationTime('1h')
      .sign(new TextEncoder().encode('not-the-gateway-secret-at-all'));
    // a tiny backoff: a reconnect loop would open dozens of sockets in the wait below
    const client = newClient({ url: gw.wsUrl, token: forged, WebSocket: Impl, backoff: { baseMs: 5, capMs: 20 } });
    client.on('auth-failed', (e) => refusals.push(e));

    await expect(client.connect()).rejects.toMatchObject({ code: 'CLOSED' });
    expect(client.state).toBe('closed');
    expect(client.stopped).toBe('unauthorized');
    await sleep(1000);
    expect(opened()).toBe(1);
    expect(refusals).toEqual([{ code: 4001, reason: expect.stringContaining('unauthorized') }]);

    // new credentials, then an explicit connect(): that works
    client.setToken(await token('mallory-now-signed-in'));
    await expect(client.connect()).resolves.toMatchObject({ sub: 'mallory-now-signed-in' });
    expect(opened()).toBe(2);
  });
});
