/**
 * Connections opened together all stay open. uWebSockets.js v20.30 can close
 * a socket it has just upgraded from an asynchronous token check when a frame
 * is sent inside that upgrade's cork (the client sees the 101, then a close
 * with no frame): the gateway sends `hello` after the cork has ended.
 */
import WebSocket from 'ws';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestGateway, token, wipePrefix, type TestGateway } from './support/gateway.js';

let gw: TestGateway;
beforeAll(async () => {
  gw = await startTestGateway({ DEMO: '0' });
});
afterAll(async () => {
  await gw.stop();
  await wipePrefix(gw.prefix);
});

describe('upgrade', () => {
  it('keeps every one of 5 × 64 connections opened at once open after its hello', async () => {
    const tokens = await Promise.all(Array.from({ length: 64 }, (_, i) => token(`buyer-${i}`)));
    let lost = 0;
    for (let round = 0; round < 5; round++) {
      const sockets = await Promise.all(
        tokens.map(
          (tok) =>
            new Promise<WebSocket>((resolve, reject) => {
              const ws = new WebSocket(gw.wsUrl, ['seatmap.v1', `bearer.${tok}`]);
              ws.once('error', reject);
              ws.once('message', () => resolve(ws));
            }),
        ),
      );
      const closes: number[] = [];
      for (const ws of sockets) ws.on('close', (code) => closes.push(code));
      await new Promise((resolve) => setTimeout(resolve, 300));
      lost += closes.length;
      expect(closes, `round ${round}: connections closed after their hello`).toEqual([]);
      await Promise.all(sockets.map((ws) => new Promise((resolve) => (ws.once('close', resolve), ws.close()))));
    }
    expect(lost).toBe(0);
  });
});
