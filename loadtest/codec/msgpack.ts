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

/** Decodes exactly one value from a frame (ArrayBuffer or a view); throws on trailing bytes, truncation or extensions. */
export function decode(frame: ArrayBuffer | Uint8Array): Value {
  const bytes = frame instanceof Uint8Array ? frame : new Uint8Array(frame);
  const r = new Reader(bytes);
  const value = r.value();
  if (r.at !== bytes.length) throw new RangeError(`${bytes.length - r.at} bytes after the value`);
  return value;
}

class Reader {
  readonly view: DataView;
  at = 0;

  constructor(readonly bytes: Uint8Array) {
    this.view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  }

  need(n: number): number {
    const at = this.at;
    if (at + n > this.bytes.length) throw new RangeError('truncated MessagePack value');
    this.at = at + n;
    return at;
  }

  value(): Value {
    const b = this.bytes[this.need(1)]!;
    if (b < 0x80) return b;
    if (b >= 0xe0) return b - 0x100;
    if (b < 0x90) return this.map(b & 0x0f);
    if (b < 0xa0) return this.array(b & 0x0f);
    if (b < 0xc0) return this.string(b & 0x1f);
    const v = this.view;
    switch (b) {
      case 0xc0: return null;
      case 0xc2: return false;
      case 0xc3: return true;
      case 0xc4: return this.bin(v.getUint8(this.need(1)));
      case 0xc5: return this.bin(v.getUint16(this.need(2)));
      case 0xc6: return this.bin(v.getUint32(this.need(4)));
      case 0xca: return v.getFloat32(this.need(4));
      case 0xcb: return v.getFloat64(this.need(8));
      case 0xcc: return v.getUint8(this.need(1));
      case 0xcd: return v.getUint16(this.need(2));
      case 0xce: return v.getUint32(this.need(4));
      case 0xcf: {
        const at = this.need(8);
        return v.getUint32(at) * TWO_32 + v.getUint32(at + 4);
      }
      case 0xd0: return v.getInt8(this.need(1));
      case 0xd1: return v.getInt16(this.need(2));
      case 0xd2: return v.getInt32(this.need(4));
      case 0xd3: {
        const at = this.need(8);
        return v.getInt32(at) * TWO_32 + v.getUint32(at + 4);
      }
      case 0xd9: return this.string(v.getUint8(this.need(1)));
      case 0xda: return this.string(v.getUint16(this.need(2)));
      case 0xdb: return this.string(v.getUint32(this.need(4)));
      case 0xdc: return this.array(v.getUint16(this.need(2)));
      case 0xdd: return this.array(v.getUint32(this.need(4)));
      case 0xde: return this.map(v.getUint16(this.need(2)));
      case 0xdf: return this.map(v.getUint32(this.need(4)));
      default: throw new RangeError(`unsupported MessagePack type 0x${b.toString(16)}`);
    }
  }

  string(n: number): string {
    const at = this.need(n);
    // short ASCII strings (every key of the protocol) without the general decoder
    if (n <= 16) {
      let s = '';
      for (let i = at; i < at + n; i++) {
        const c = this.bytes[i]!;
        if (c >= 0x80) return utf8Read(this.bytes, at, n);
        s += String.fromCharCode(c);
      }
      return s;
    }
    return utf8Read(this.bytes, at, n);
  }

  bin(n: number): Uint8Array {
    const at = this.need(n);
    return this.bytes.subarray(at, at + n);
  }

  array(n: number): Value[] {
    const out: Value[] = new Array(n);
    for (let i = 0; i < n; i++) out[i] = this.value();
    return out;
  }

  map(n: number): { [key: string]: Value } {
    const out: { [key: string]: Value } = {};
    for (let i = 0; i < n; i++) {
      const key = this.value();
      if (typeof key !== 'string') throw new TypeError('map keys must be strings');
      out[key] = this.value();
    }
    return out;
  }
}
