/**
 * UTF-8 in plain JavaScript. k6 has no TextEncoder/TextDecoder, so the load
 * tests' codec cannot rely on them; Node gets the same code, so both
 * platforms encode and decode identically.
 */

/** Bytes `text` takes in UTF-8 (lone surrogates count as U+FFFD, 3 bytes). */
export function utf8Length(text: string): number {
  let length = 0;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (c < 0x80) length += 1;
    else if (c < 0x800) length += 2;
    else if (c >= 0xd800 && c <= 0xdbff && i + 1 < text.length && isLowSurrogate(text.charCodeAt(i + 1))) {
      length += 4;
      i++;
    } else length += 3;
  }
  return length;
}

/** Writes `text` at `offset`; returns the offset after it. The caller made room (utf8Length). */
export function utf8Write(text: string, out: Uint8Array, offset: number): number {
  let at = offset;
  for (let i = 0; i < text.length; i++) {
    let c = text.charCodeAt(i);
    if (c < 0x80) {
      out[at++] = c;
      continue;
    }
    if (c < 0x800) {
      out[at++] = 0xc0 | (c >> 6);
      out[at++] = 0x80 | (c & 0x3f);
      continue;
    }
    if (c >= 0xd800 && c <= 0xdfff) {
      const next = i + 1 < text.length ? text.charCodeAt(i + 1) : 0;
      if (c <= 0xdbff && isLowSurrogate(next)) {
        c = 0x10000 + ((c - 0xd800) << 10) + (next - 0xdc00);
        i++;
        out[at++] = 0xf0 | (c >> 18);
        out[at++] = 0x80 | ((c >> 12) & 0x3f);
        out[at++] = 0x80 | ((c >> 6) & 0x3f);
        out[at++] = 0x80 | (c & 0x3f);
        continue;
      }
      c = 0xfffd; // a lone surrogate has no UTF-8 form
    }
    out[at++] = 0xe0 | (c >> 12);
    out[at++] = 0x80 | ((c >> 6) & 0x3f);
    out[at++] = 0x80 | (c & 0x3f);
  }
  return at;
}

/** Decodes `length` bytes at `offset`; malformed sequences become U+FFFD. */
export function utf8Read(bytes: Uint8Array, offset: number, length: number): string {
  const end = offset + length;
  let out = '';
  let units: number[] = [];
  for (let i = offset; i < end; ) {
    const b = bytes[i]!;
    let code: number;
    let extra: number;
    if (b < 0x80) {
      code = b;
      extra = 0;
    } else if (b >= 0xc2 && b < 0xe0) {
      code = b & 0x1f;
      extra = 1;
    } else if (b >= 0xe0 && b < 0xf0) {
      code = b & 0x0f;
      extra = 2;
    } else if (b >= 0xf0 && b < 0xf5) {
      code = b & 0x07;
      extra = 3;
    } else {
      units.push(0xfffd);
      i++;
      continue;
    }
    let j = 1;
    for (; j <= extra; j++) {
      const next = i + j < end ? bytes[i + j]! : 0;
      if ((next & 0xc0) !== 0x80) break;
      code = (code << 6) | (next & 0x3f);
    }
    const tooShort = j <= extra;
    const overlong = (extra === 2 && code < 0x800) || (extra === 3 && (code < 0x10000 || code > 0x10ffff));
    const surrogate = code >= 0xd800 && code <= 0xdfff;
    if (tooShort || overlong || surrogate) {
      units.push(0xfffd);
      i += tooShort ? j : extra + 1;
      continue;
    }
    i += extra + 1;
    if (code >= 0x10000) {
      code -= 0x10000;
      units.push(0xd800 + (code >> 10), 0xdc00 + (code & 0x3ff));
    } else units.push(code);
    // fromCharCode takes its arguments on the stack: flush in chunks
    if (units.length >= 4096) {
      out += String.fromCharCode.apply(null, units);
      units = [];
    }
  }
  return out + String.fromCharCode.apply(null, units);
}

function isLowSurrogate(c: number): boolean {
  return c >= 0xdc00 && c <= 0xdfff;
}
