/**
 * The frames a connection is sent in one event-loop turn (operation
 * replies, the holder's `tok` behind its reply) go out in one corked write:
 * on a session with a fake socket that records its corks and frames, the
 * queue keeps order with frames sent at once, a dropped frame closes the
 * connection as a direct send does (4008, counted once) without breaking
 * another connection's batch, and a connection closed before the turn ends
 * is sent nothing. Against a real gateway and Redis, a burst of holds on
 * one connection is answered in full, each `tok` after its own reply, and a
 * burst of releases is told what each left.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { pino } from 'pino';
import { createMetrics } from '../gateway/metrics.js';
import { Session, type SessionDeps } from '../gateway/session.js';
import { SEND_DROPPED } from '../gateway/uws.js';
import { CLOSE_CODES, decodeServerMessage, encodeMessage } from '../core/protocol/index.js';
import { createVenueEvent, startTestGateway, token, wipePrefix, type TestGateway } from './support/gateway.js';
import { TestClient } from './support/ws-client.js';

/** A session on a fake socket; its token check never ends, so nothing but what the test queues is sent. */
function session(log: string[], name: string, drop: (m: string) => boolean = () => false) {
  const metrics = createMetrics();
  const deps = {
    limits: { opsBurst: 10, maxFrameBytes: 1024 },
    metrics,
    logger: pino({ level: 'silent' }),
    connections: { add() {}, delete() {} },
    subscriptions: { closed() {} },
    queue: { closed() {} },
  } as unknown as SessionDeps;
  const s = new Session(1, new Promise(() => undefined), deps);
  const ws = {
    cork(fn: () => void) {
      log.push(`${name} cork`);
      fn();
    },
    send(frame: Uint8Array) {
      const m = decodeServerMessage(frame);
      const entry = `${name} ${m.t}${'rid' in m ? ` ${String(m.rid)}` : ''}`;
      log.push(entry);
      return drop(entry) ? SEND_DROPPED : 0;
    },
    // uWS calls the close handler from end() itself
    end(code: number) {
      log.push(`${name} end ${code}`);
      s.closed(code, new ArrayBuffer(0));
    },
  };
  s.opened(ws as never);
  return { s, metrics };
}

/** Resolves after the flush of the turn that queued (its setImmediate was queued first). */
const endOfTurn = () => new Promise<void>((resolve) => setImmediate(resolve));

const closedCount = async (metrics: ReturnType<typeof createMetrics>) => (await metrics.slowConsumers.get()).values.find((v) => v.labels.action === 'closed')?.value ?? 0;

describe('frames of one event-loop turn', () => {
  it('go out in one cork, in the order they were queued, and not before the turn ends', async () => {
    const log: string[] = [];
    const { s } = session(log, 'a');
    for (let rid = 1; rid <= 3; rid++) s.queueReply({ t: 'ok', rid });
    s.queueFrame(encodeMessage({ t: 'tok', ev: 'e', tok: 't', exp: 1, seats: [1] }));
    expect(log).toEqual([]);
    await endOfTurn();
    expect(log).toEqual(['a cork', 'a ok 1', 'a ok 2', 'a ok 3', 'a tok']);
    // the next turn is a batch of its own
    s.queueReply({ t: 'ok', rid: 4 });
    await endOfTurn();
    expect(log.slice(5)).toEqual(['a cork', 'a ok 4']);
  });

  it('frames queued by later promise continuations of the same turn join the batch', async () => {
    const log: string[] = [];
    const { s } = session(log, 'a');
    s.queueReply({ t: 'ok', rid: 1 });
    // a holder notice after a read already answered: queued a few continuations later
    await Promise.resolve();
    await Promise.resolve();
    s.queueFrame(encodeMessage({ t: 'tokend', ev: 'e', tok: 't', reason: 'released' }));
    expect(log).toEqual([]);
    await endOfTurn();
    expect(log).toEqual(['a cork', 'a ok 1', 'a tokend']);
  });

  it('a frame sent at once goes after the queued ones, and nothing is sent twice', async () => {
    const log: string[] = [];
    const { s } = session(log, 'a');
    s.queueReply({ t: 'ok', rid: 1 });
    s.reply({ t: 'pong', rid: 2 });
    expect(log).toEqual(['a ok 1', 'a pong 2']);
    await endOfTurn();
    expect(log).toEqual(['a ok 1', 'a pong 2']);
  });

  it('a dropped frame closes its connection once (4008) and its later frames are not sent; another connection’s batch is whole', async () => {
    const log: string[] = [];
    const a = session(log, 'a', (m) => m === 'a ok 2');
    const b = session(log, 'b');
    for (let rid = 1; rid <= 3; rid++) {
      a.s.queueReply({ t: 'ok', rid });
      b.s.queueReply({ t: 'ok', rid });
    }
    await endOfTurn();
    expect(log).toEqual(['a cork', 'a ok 1', 'a ok 2', `a end ${CLOSE_CODES.SLOW_CONSUMER.code}`, 'b cork', 'b ok 1', 'b ok 2', 'b ok 3']);
    expect(a.s.open).toBe(false);
    expect(await closedCount(a.metrics)).toBe(1);
    expect(b.s.open).toBe(true);
    expect(await closedCount(b.metrics)).toBe(0);
    // a closed connection queues nothing more
    a.s.queueReply({ t: 'ok', rid: 9 });
    await endOfTurn();
    expect(log).toHaveLength(8);
  });

  it('a connection closed before the turn ends is sent nothing', async () => {
    const log: string[] = [];
    const { s } = session(log, 'a');
    s.queueReply({ t: 'ok', rid: 1 });
    s.closed(1000, new ArrayBuffer(0));
    await endOfTurn();
    expect(log).toEqual([]);
  });
});

describe('a burst of holds on one connection, real gateway', () => {
  let gw: TestGateway;

  beforeAll(async () => {
    gw = await startTestGateway({ OPS_PER_SECOND: '1000', OPS_BURST: '1000' });
    await createVenueEvent(gw.store, 'burst', 200, { maxSeatsPerToken: 10, maxSeatsPerHolder: 1000 });
  }, 60_000);

  afterAll(async () => {
    await gw.stop();
    await wipePrefix(gw.prefix);
  });

  it('answers every hold, each hold’s tok comes after its reply with the seats Redis keeps, and each release’s tok has what it left', async () => {
    const c = await TestClient.connect(gw.wsUrl, { token: await token('burster') });
    const replies = await Promise.all(Array.from({ length: 40 }, (_, i) => c.ok({ t: 'hold', ev: 'burst', seats: [i * 2, i * 2 + 1] })));
    const toks = () => c.messages.filter((m) => m.t === 'tok');
    for (const deadline = Date.now() + 5000; toks().length < 40 && Date.now() < deadline; ) await c.next((m) => m.t === 'tok', 1000).catch(() => undefined);
    expect(toks()).toHaveLength(40);
    for (const [i, r] of replies.entries()) {
      const tok = r.tok as string;
      const replyAt = c.messages.findIndex((m) => m.t === 'ok' && m.tok === tok);
      const tokAt = c.messages.findIndex((m) => m.t === 'tok' && m.tok === tok);
      expect(replyAt).toBeGreaterThanOrEqual(0);
      expect(tokAt).toBeGreaterThan(replyAt);
      const info = (await gw.store.tokenInfo('burst', tok))!;
      expect(info.seats.sort((x, y) => x - y)).toEqual([i * 2, i * 2 + 1]);
      expect(c.messages[tokAt]).toMatchObject({ ev: 'burst', seats: [i * 2, i * 2 + 1], exp: info.expiresAt });
      expect(r.exp).toBe(info.expiresAt);
    }
    // a release of some seats: the token is read on the holder's connection behind the release, so its tok has what the release left
    const before = c.messages.length;
    await Promise.all(replies.map((r, i) => c.ok({ t: 'release', ev: 'burst', tok: r.tok as string, seats: [i * 2] })));
    const left = () => c.messages.slice(before).filter((m) => m.t === 'tok');
    for (const deadline = Date.now() + 5000; left().length < 40 && Date.now() < deadline; ) await c.next((m) => m.t === 'tok', 1000).catch(() => undefined);
    for (const [i, r] of replies.entries()) expect(left().filter((m) => m.t === 'tok' && m.tok === r.tok)).toMatchObject([{ seats: [i * 2 + 1] }]);
    await c.close();
  });
});
