/**
 * Human-readable booking references: `SM-` + 8 characters of Crockford base32
 * derived from the booking id (a SHA-256 of its 16 bytes, so ids that share a
 * prefix, such as time-ordered ones, still spread).
 *
 * 8 characters carry 40 bits, so two bookings may, rarely, get the same short
 * reference (about one pair in a million bookings is likely). The flusher then
 * uses the next longer form: 13 hashed characters, and at last the 26-character
 * encoding of the whole id, which is unique because the id is.
 */
import { createHash } from 'node:crypto';

export const CROCKFORD = '0123456789ABCDEFGHJKMNPQRSTVWXYZ';
export const REFERENCE = /^SM-(?:[0-9A-HJKMNP-TV-Z]{8}|[0-9A-HJKMNP-TV-Z]{13}|[0-9A-HJKMNP-TV-Z]{26})$/;
const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

/** how many forms there are: level 0 (8 chars), 1 (13 chars), 2 (the whole id) */
export const REFERENCE_LEVELS = 3;

export function encodeCrockford(bytes: Uint8Array, chars: number): string {
  let out = '';
  let buffer = 0;
  let bits = 0;
  let i = 0;
  while (out.length < chars) {
    if (bits < 5) {
      buffer = ((buffer << 8) | (i < bytes.length ? bytes[i]! : 0)) & 0xffff;
      i++;
      bits += 8;
    }
    out += CROCKFORD[(buffer >> (bits - 5)) & 31];
    bits -= 5;
  }
  return out;
}

export function uuidBytes(id: string): Buffer {
  if (!UUID.test(id)) throw new TypeError(`not a uuid: ${JSON.stringify(id)}`);
  return Buffer.from(id.replace(/-/g, ''), 'hex');
}

/** The booking reference of a booking id; `level` > 0 gives the longer forms used after a collision. */
export function bookingReference(id: string, level = 0): string {
  const bytes = uuidBytes(id);
  if (level >= REFERENCE_LEVELS - 1) return `SM-${encodeCrockford(bytes, 26)}`;
  const hash = createHash('sha256').update(bytes).digest();
  return `SM-${encodeCrockford(hash, level === 0 ? 8 : 13)}`;
}
