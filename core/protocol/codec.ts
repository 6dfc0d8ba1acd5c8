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
const serverDecoder = new Decoder(LIMITS);
const clientDecoder = new Decoder({ ...LIMITS, maxStrLength: 1 << 20, maxBinLength: 16 << 20, maxArrayLength: 4_000_000 });

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
