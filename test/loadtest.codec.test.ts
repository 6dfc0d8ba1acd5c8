/**
 * The load tests' MessagePack codec (the committed k6 bundle, also used by the
 * Node runner) against core/protocol's codec, and the bundle against its build.
 */
import { readFileSync } from 'node:fs';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { decodeRequest, decodeServerMessage, encodeMessage, type ClientRequest, type ServerMessage } from '../core/protocol/index.js';
import { decode, encode } from '../loadtest/k6/vendor/protocol.js';
import { VENDOR_BUNDLE, buildProtocolBundle } from '../loadtest/build.js';

const serverMessages: ServerMessage[] = [
  { t: 'hello', v: 1, sub: 'ålice 🎫', scopes: ['seats:read', 'seats:hold'], limits: { maxFrameBytes: 16384, opsPerSecond: 50, opsBurst: 100, maxSubscriptions: 16, maxSeatsPerRequest: 1000, maxConnectionsPerSubject: 5, holderOpsPerSecond: 10, holderOpsBurst: 20, upgradesPerIpPerSecond: 20 } },
  { t: 'snap', ev: 'demo', epoch: 1767225000000, seq: 41, st: Uint8Array.from({ length: 70_000 }, (_, i) => i % 4) },
  { t: 'diff', ev: 'demo', epoch: 1767225000000, from: 41, to: 300, ch: Array.from({ length: 40_000 }, (_, i) => (i % 2 ? i % 4 : i * 3)) },
  { t: 'ok', rid: 7, tok: 'q3xZ0vYb1m5Qe8Lk', exp: 1767225600000, seq: 42 },
  { t: 'ok', rid: 'r-9', id: 'b1', seats: [1, 2, 65_536], seq: 2 ** 40, replayed: false },
  { t: 'err', rid: null, code: 'NO_EVENT', msg: 'the event no longer exists — gone', ev: 'x' },
  { t: 'pong', rid: 2 ** 53 - 1 },
];

const requests: ClientRequest[] = [
  { t: 'sub', rid: 1, ev: 'demo', epoch: 1767225000000, seq: 4_000_000_000 },
  { t: 'hold', rid: 2, ev: 'demo', seats: [0, 127, 128, 255, 256, 65_535, 65_536, 199_999] },
  { t: 'book', rid: 'k', ev: 'demo', tok: 'abcdefgh', key: 'order-é-1' },
  { t: 'release', rid: 3, ev: 'demo', tok: 'abcdefgh' },
];

describe('the load-test codec', () => {
  it('decodes what core/protocol encodes', () => {
    for (const m of serverMessages) expect(decode(encodeMessage(m))).toEqual(m);
  });

  it('encodes what core/protocol decodes, for both sides', () => {
    for (const m of serverMessages) expect(decodeServerMessage(encode(m as never))).toEqual(m);
    for (const r of requests) expect(decodeRequest(encode(r as never), 1000)).toEqual({ ok: true, request: r });
  });

  it('round-trips arbitrary values byte-for-byte like @msgpack/msgpack', () => {
    const value = fc.letrec((tie) => ({
      leaf: fc.oneof(
        fc.constant(null),
        fc.boolean(),
        fc.maxSafeInteger(),
        fc.integer({ min: -200, max: 70_000 }),
        fc.double({ noNaN: true }).filter((d) => !Number.isInteger(d)),
        fc.string({ unit: 'grapheme', maxLength: 40 }),
        fc.uint8Array({ maxLength: 300 }),
      ),
      node: fc.oneof({ depthSize: 'small' }, tie('leaf'), fc.array(tie('node'), { maxLength: 20 }), fc.dictionary(fc.string({ maxLength: 8 }), tie('node'), { maxKeys: 20 })),
    })).node;
    fc.assert(
      fc.property(value, (v) => {
        const ours = encode(v as never);
        expect(Buffer.from(ours).equals(Buffer.from(encodeMessage(v as never)))).toBe(true);
        expect(decode(ours)).toEqual(v);
      }),
      { numRuns: 300 },
    );
  });

  it('encodes strings as UTF-8 the way Node does, lone surrogates included', () => {
    fc.assert(
      fc.property(fc.string({ unit: 'binary', maxLength: 300 }), (s) => {
        const bytes = encode(s);
        const header = bytes.length - Buffer.byteLength(s, 'utf8');
        expect(Buffer.from(bytes.subarray(header)).equals(Buffer.from(s, 'utf8'))).toBe(true);
        expect(decode(bytes)).toBe(Buffer.from(s, 'utf8').toString('utf8'));
      }),
    );
  });

  it('refuses trailing bytes, truncation and extension types', () => {
    expect(() => decode(Uint8Array.of(0x01, 0x02))).toThrow(/after the value/);
    expect(() => decode(Uint8Array.of(0x92, 0x01))).toThrow(/truncated/);
    expect(() => decode(Uint8Array.of(0xd4, 0x01, 0x00))).toThrow(/unsupported/);
  });
});

describe('the committed k6 bundle', () => {
  it('is what npm run build:k6 builds from loadtest/codec', async () => {
    expect(readFileSync(VENDOR_BUNDLE, 'utf8')).toBe(await buildProtocolBundle());
  });

  it('needs nothing k6 lacks', () => {
    const text = readFileSync(VENDOR_BUNDLE, 'utf8');
    for (const missing of ['TextEncoder', 'TextDecoder', 'Buffer', 'BigInt', 'require(', 'process.']) expect(text).not.toContain(missing);
  });
});
