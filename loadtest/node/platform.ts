/**
 * The scenario platform on Node: `ws` sockets bound to a chosen loopback
 * source address (each address has its own ~28k ephemeral ports, so several
 * addresses let one machine open 100,000 connections), node:crypto for HS256,
 * and a MetricSink.
 */
import { createHmac } from 'node:crypto';
import WebSocket from 'ws';
import type { Platform, SocketHandlers } from '../lib/platform.js';
import type { MetricSink } from './metrics.js';

/** One clock for every process of a run: wall-clock based, sub-millisecond. */
export const now = (): number => performance.timeOrigin + performance.now();

export function nodePlatform(sink: MetricSink, localAddress?: string): Platform {
  return {
    connect(url: string, token: string | null, handlers: SocketHandlers) {
      const ws = new WebSocket(url, ['seatmap.v1'], {
        headers: token ? { authorization: `Bearer ${token}` } : {},
        perMessageDeflate: false,
        ...(localAddress ? { localAddress } : {}),
      });
      ws.binaryType = 'nodebuffer';
      ws.on('open', () => handlers.onOpen());
      ws.on('message', (data: Buffer, isBinary: boolean) => {
        if (!isBinary) return handlers.onError('text frame');
        handlers.onMessage(data);
      });
      ws.on('close', (code: number) => handlers.onClose(code));
      ws.on('error', (err: Error) => handlers.onError(err.message));
      return {
        send: (frame: Uint8Array) => {
          if (ws.readyState === WebSocket.OPEN) ws.send(frame);
        },
        close: () => {
          if (ws.readyState === WebSocket.CONNECTING) ws.terminate();
          else ws.close();
        },
      };
    },
    now,
    random: Math.random,
    setTimeout: (fn: () => void, ms: number) => setTimeout(fn, ms),
    clearTimeout: (handle: unknown) => clearTimeout(handle as NodeJS.Timeout),
    hmacSha256Base64Url: (secret: string, text: string) => createHmac('sha256', secret).update(text).digest('base64url'),
    base64Url: (text: string) => Buffer.from(text, 'utf8').toString('base64url'),
    trend: (name, value, tags) => sink.trend(name, value, tags),
    rate: (name, ok, tags) => sink.rate(name, ok, tags),
    count: (name, n, tags) => sink.count(name, n, tags),
    check: (name, ok) => sink.rate('checks', ok, { check: name }),
    note: (kind, value) => sink.note(kind, value),
  };
}
