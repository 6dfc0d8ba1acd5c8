/**
 * MessagePack encoding and decoding of protocol frames, with the decoder's
 * limits set so that a hostile frame cannot make the server allocate much.
 */
import { Decoder, Encoder } from '@msgpack/msgpack';
import type { ClientRequest, ServerMessage } from './messages.js';
import { validateRequest, type DecodeResult } from './messages.js';

const LIMITS = {
  maxStrLength: 4096,
  maxBinLength: 1 << 20,
  maxArrayLength: 100_000,
  maxMapLength: 64,
  maxExtLength: 0,
};

// Encoder and Decoder instances reuse their buffers; one of each per process is enough
// because encode/decode are synchronous.
const encoder = new Encoder({ ignoreUndefined: true });
const serverDecoder = strictUtf8(new Decoder(LIMITS));
const clientDecoder = new Decoder({ ...LIMITS, maxStrLength: 1 << 20, maxBinLength: 16 << 20, maxArrayLength: 4_000_000 });

/**
 * Makes a decoder refuse a string that is not valid UTF-8. @msgpack/msgpack
 * decodes short strings with a lenient decoder that turns invalid bytes into
 * other characters (`c3 28` becomes "è"), so an identifier could change on the
 * way in. Its string decoding is a private method; the wrapper checks the
 * bytes first (ASCII, the usual case, costs one pass) and leaves the decoding
 * to it. test/protocol.validation.test.ts guards this against library changes.
 */
function strictUtf8(decoder: Decoder): Decoder {
  const fatal = new TextDecoder('utf-8', { fatal: true });
  const internals = decoder as unknown as { bytes: Uint8Array; pos: number; decodeUtf8String(byteLength: number, headerOffset: number): string };
  const decodeUtf8String = internals.decodeUtf8String;
  if (typeof decodeUtf8String !== 'function') throw new Error('@msgpack/msgpack no longer has Decoder.decodeUtf8String: update core/protocol/codec.ts');
  internals.decodeUtf8String = function (this: typeof internals, byteLength: number, headerOffset: number): string {
    const start = this.pos + headerOffset;
    const end = Math.min(start + byteLength, this.bytes.byteLength);
    for (let i = start; i < end; i++) {
      if (this.bytes[i]! >= 0x80) {
        try {
          fatal.decode(this.bytes.subarray(start, end));
        } catch {
          throw new Error('a string is not valid UTF-8');
        }
        break;
      }
    }
    return decodeUtf8String.call(this, byteLength, headerOffset);
  };
  return decoder;
}

/** Encodes a message to a fresh Uint8Array (safe to keep or publish). */
export function encodeMessage(message: ServerMessage | ClientRequest): Uint8Array {
  return encoder.encode(message);
}

/**
 * Server side: decodes and validates one client frame. Never throws: a frame
 * that is not MessagePack, has trailing bytes, is nested too deep or has the
 * wrong shape comes back as `ok: false` with the reason.
 */
export function decodeRequest(frame: ArrayBuffer | Uint8Array, maxSeats: number): DecodeResult {
  let value: unknown;
  try {
    value = serverDecoder.decode(frame);
  } catch (err) {
    return { ok: false, rid: null, msg: `not a MessagePack frame: ${(err as Error).message.slice(0, 120)}` };
  }
  return validateRequest(value, maxSeats);
}

/** Client side: decodes a server frame. Throws on a malformed frame (the server never sends one). */
export function decodeServerMessage(frame: ArrayBuffer | Uint8Array): ServerMessage {
  const value = clientDecoder.decode(frame) as ServerMessage;
  if (value === null || typeof value !== 'object' || typeof (value as { t?: unknown }).t !== 'string') {
    throw new Error('server frame is not a protocol message');
  }
  return value;
}
