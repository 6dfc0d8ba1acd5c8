/**
 * A small MessagePack codec covering what protocol v1 uses (nil, booleans,
 * integers up to 2^53, float64, strings, bin, arrays, maps with string keys),
 * in plain JavaScript with no TextEncoder, no BigInt and no Node APIs, so that
 * the same bundle (loadtest/k6/vendor/msgpack.js, `npm run build:k6`) runs in
 * k6 and in the Node runner. Extension types are refused, as the server does.
 */
import { utf8Length, utf8Read, utf8Write } from './utf8.js';

export type Value = null | boolean | number | string | Uint8Array | Value[] | { [key: string]: Value | undefined };

const TWO_32 = 4294967296;

class Writer {
  bytes = new Uint8Array(256);
  view = new DataView(this.bytes.buffer);
  at = 0;

  ensure(n: number): void {
    if (this.at + n <= this.bytes.length) return;
    let size = this.bytes.length * 2;
    while (size < this.at + n) size *= 2;
    const grown = new Uint8Array(size);
    grown.set(this.bytes.subarray(0, this.at));
    this.bytes = grown;
    this.view = new DataView(grown.buffer);
  }

  u8(b: number): void {
    this.ensure(1);
    this.bytes[this.at++] = b;
  }

  head(tag: number, value: number, width: 1 | 2 | 4): void {
    this.ensure(1 + width);
    this.bytes[this.at++] = tag;
    if (width === 1) this.bytes[this.at] = value;
    else if (width === 2) this.view.setUint16(this.at, value);
    else this.view.setUint32(this.at, value);
    this.at += width;
  }
}

/** Encodes one value; map entries whose value is undefined are left out. Returns a fresh Uint8Array. */
export function encode(value: Value): Uint8Array {
  const w = new Writer();
  write(w, value);
  return w.bytes.slice(0, w.at);
}

function write(w: Writer, v: Value | undefined): void {
  if (v === null || v === undefined) w.u8(0xc0);
  else if (v === false) w.u8(0xc2);
  else if (v === true) w.u8(0xc3);
  else if (typeof v === 'number') writeNumber(w, v);
  else if (typeof v === 'string') writeString(w, v);
  else if (v instanceof Uint8Array) {
    const n = v.length;
    if (n < 0x100) w.head(0xc4, n, 1);
    else if (n < 0x10000) w.head(0xc5, n, 2);
    else w.head(0xc6, n, 4);
    w.ensure(n);
    w.bytes.set(v, w.at);
    w.at += n;
  } else if (Array.isArray(v)) {
    const n = v.length;
    if (n < 16) w.u8(0x90 | n);
    else if (n < 0x10000) w.head(0xdc, n, 2);
    else w.head(0xdd, n, 4);
    for (let i = 0; i < n; i++) write(w, v[i]);
  } else if (typeof v === 'object') {
    const keys = Object.keys(v).filter((k) => v[k] !== undefined);
    const n = keys.length;
    if (n < 16) w.u8(0x80 | n);
    else if (n < 0x10000) w.head(0xde, n, 2);
    else w.head(0xdf, n, 4);
    for (const k of keys) {
      writeString(w, k);
      write(w, v[k]);
    }
  } else throw new TypeError(`cannot encode a ${typeof v}`);
}

function writeNumber(w: Writer, n: number): void {
  if (!Number.isSafeInteger(n)) {
    w.ensure(9);
    w.bytes[w.at++] = 0xcb;
    w.view.setFloat64(w.at, n);
    w.at += 8;
  } else if (n >= 0) {
    if (n < 0x80) w.u8(n);
    else if (n < 0x100) w.head(0xcc, n, 1);
    else if (n < 0x10000) w.head(0xcd, n, 2);
    else if (n < TWO_32) w.head(0xce, n, 4);
    else {
      w.head(0xcf, Math.floor(n / TWO_32), 4);
      w.ensure(4);
      w.view.setUint32(w.at, n % TWO_32);
      w.at += 4;
    }
  } else if (n >= -32) w.u8(n & 0xff);
  else if (n >= -0x80) w.head(0xd0, n & 0xff, 1);
  else if (n >= -0x8000) w.head(0xd1, n & 0xffff, 2);
  else if (n >= -0x80000000) w.head(0xd2, n >>> 0, 4);
  else {
    // two's complement of a 64-bit integer from its high and low words
    const high = Math.floor(n / TWO_32);
    w.head(0xd3, high >>> 0, 4);
    w.ensure(4);
    w.view.setUint32(w.at, n - high * TWO_32);
    w.at += 4;
  }
}

function writeString(w: Writer, s: string): void {
  const n = utf8Length(s);
  if (n < 32) w.u8(0xa0 | n);
  else if (n < 0x100) w.head(0xd9, n, 1);
  else if (n < 0x10000) w.head(0xda, n, 2);
  else w.head(0xdb, n, 4);
  w.ensure(n);
  w.at = utf8Write(s, w.bytes, w.at);
}

/**
 * Decodes exactly one value from a frame (ArrayBuffer or a view); throws on
 * trailing bytes, truncation or extensions.
 *
 * Written for k6's interpreter, where every property access and call counts
 * (a small diff frame took ~75 µs in k6 1.3 with a Reader class): the state
 * is two module variables, multi-byte integers are read from the bytes
 * (no DataView unless a float comes), short ASCII strings (every key of the
 * protocol, state names, event ids) come from an intern table, and bin
 * values are views into the frame. loadtest/README.md has the figures.
 */
export function decode(frame: ArrayBuffer | Uint8Array): Value {
  const bytes = frame instanceof Uint8Array ? frame : new Uint8Array(frame);
  src = bytes;
  pos = 0;
  end = bytes.length;
  try {
    const value = readValue();
    if (pos !== end) throw new RangeError(`${end - pos} bytes after the value`);
    return value;
  } finally {
    src = EMPTY; // do not keep the frame alive
  }
}

const EMPTY = new Uint8Array(0);
let src: Uint8Array = EMPTY;
let pos = 0;
let end = 0;

/** Short ASCII strings by their bytes (length and base-128 digits, exact below 2^53): no string is built twice. */
const interned = new Map<number, string>();
const MAX_INTERNED = 4096;
const MAX_INTERNED_LENGTH = 7;

function truncated(): never {
  throw new RangeError('truncated MessagePack value');
}

function u8(): number {
  if (pos >= end) truncated();
  return src[pos++]!;
}

function u16(): number {
  if (pos + 2 > end) truncated();
  const b = src;
  const at = pos;
  pos = at + 2;
  return (b[at]! << 8) | b[at + 1]!;
}

function u32(): number {
  if (pos + 4 > end) truncated();
  const b = src;
  const at = pos;
  pos = at + 4;
  return b[at]! * 0x1000000 + ((b[at + 1]! << 16) | (b[at + 2]! << 8) | b[at + 3]!);
}

function floatAt(width: 4 | 8): number {
  if (pos + width > end) truncated();
  const view = new DataView(src.buffer, src.byteOffset + pos, width);
  pos += width;
  return width === 4 ? view.getFloat32(0) : view.getFloat64(0);
}

function readValue(): Value {
  if (pos >= end) truncated();
  const b = src[pos++]!;
  if (b < 0x80) return b;
  if (b >= 0xe0) return b - 0x100;
  if (b < 0x90) return readMap(b & 0x0f);
  if (b < 0xa0) return readArray(b & 0x0f);
  if (b < 0xc0) return readString(b & 0x1f);
  switch (b) {
    case 0xc0: return null;
    case 0xc2: return false;
    case 0xc3: return true;
    case 0xc4: return readBin(u8());
    case 0xc5: return readBin(u16());
    case 0xc6: return readBin(u32());
    case 0xca: return floatAt(4);
    case 0xcb: return floatAt(8);
    case 0xcc: return u8();
    case 0xcd: return u16();
    case 0xce: return u32();
    case 0xcf: {
      const high = u32();
      return high * TWO_32 + u32();
    }
    case 0xd0: {
      const v = u8();
      return v < 0x80 ? v : v - 0x100;
    }
    case 0xd1: {
      const v = u16();
      return v < 0x8000 ? v : v - 0x10000;
    }
    case 0xd2: return u32() | 0;
    case 0xd3: {
      const high = u32() | 0;
      return high * TWO_32 + u32();
    }
    case 0xd9: return readString(u8());
    case 0xda: return readString(u16());
    case 0xdb: return readString(u32());
    case 0xdc: return readArray(u16());
    case 0xdd: return readArray(u32());
    case 0xde: return readMap(u16());
    case 0xdf: return readMap(u32());
    default: throw new RangeError(`unsupported MessagePack type 0x${b.toString(16)}`);
  }
}

function readString(n: number): string {
  const at = pos;
  if (at + n > end) truncated();
  pos = at + n;
  const b = src;
  if (n <= MAX_INTERNED_LENGTH) {
    let code = n;
    for (let i = at; i < at + n; i++) {
      const c = b[i]!;
      if (c >= 0x80) return utf8Read(b, at, n);
      code = code * 128 + c;
    }
    let s = interned.get(code);
    if (s === undefined) {
      s = '';
      for (let i = at; i < at + n; i++) s += String.fromCharCode(b[i]!);
      if (interned.size < MAX_INTERNED) interned.set(code, s);
    }
    return s;
  }
  return utf8Read(b, at, n);
}

function readBin(n: number): Uint8Array {
  const at = pos;
  if (at + n > end) truncated();
  pos = at + n;
  return src.subarray(at, at + n);
}

function readArray(n: number): Value[] {
  const out: Value[] = [];
  const b = src;
  for (let i = 0; i < n; i++) {
    // positive fixints (seat states, small indexes) without a call
    const c = pos < end ? b[pos]! : 0xff;
    if (c < 0x80) {
      pos++;
      out.push(c);
    } else out.push(readValue());
  }
  return out;
}

function readMap(n: number): { [key: string]: Value } {
  const out: { [key: string]: Value } = {};
  for (let i = 0; i < n; i++) {
    const key = readValue();
    if (typeof key !== 'string') throw new TypeError('map keys must be strings');
    out[key] = readValue();
  }
  return out;
}
