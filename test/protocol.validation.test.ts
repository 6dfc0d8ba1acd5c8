/**
 * Frame validation where frames enter (core/protocol): the string rule
 * (core/text.ts), strict UTF-8, integers sent as floats, and the map key the
 * decoder refuses. Pure: no server needed. docs/protocol.md states each rule.
 */
import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { decodeRequest, encodeMessage, validateRequest } from '../core/protocol/index.js';
import { isSafeText, textProblem } from '../core/text.js';

const MAX_SEATS = 1000;

/** A MessagePack map from [key, already-encoded value bytes] pairs. */
function rawMap(entries: [string, number[]][]): Uint8Array {
  const out: number[] = [0x80 | entries.length];
  for (const [key, value] of entries) {
    out.push(0xa0 | key.length, ...Buffer.from(key, 'latin1'), ...value);
  }
  return Uint8Array.from(out);
}
const str = (s: string) => [0xa0 | Buffer.byteLength(s), ...Buffer.from(s)];
const float64 = (n: number) => {
  const b = Buffer.alloc(9);
  b[0] = 0xcb;
  b.writeDoubleBE(n, 1);
  return [...b];
};

describe('safe text', () => {
  it('refuses control characters, NUL, unpaired surrogates and U+FFFD, and accepts ordinary text', () => {
    for (const bad of ['a\u0000b', '\u0007', 'tab\there', 'new\nline', '\u007f', '\u0085', '\ud800', 'x\udc00', '\ufffd', '']) {
      expect(isSafeText(bad, 64), JSON.stringify(bad)).toBe(false);
    }
    for (const good of ['order-123', 'Élodie Müller', '日本語', '🎟️ seat', 'a b c', 'x'.repeat(64)]) {
      expect(isSafeText(good, 64), good).toBe(true);
    }
    expect(textProblem('x'.repeat(65), 64)).toMatch(/at most 64/);
    expect(textProblem(42, 64)).toMatch(/string/);
  });

  it('agrees with a character-by-character definition on random strings', () => {
    const unsafe = (s: string) => {
      for (let i = 0; i < s.length; i++) {
        const c = s.charCodeAt(i);
        if (c <= 0x1f || (c >= 0x7f && c <= 0x9f) || c === 0xfffd) return true;
        if (c >= 0xd800 && c <= 0xdbff) {
          const next = s.charCodeAt(i + 1);
          if (!(next >= 0xdc00 && next <= 0xdfff)) return true;
          i++;
        } else if (c >= 0xdc00 && c <= 0xdfff) return true;
      }
      return false;
    };
    fc.assert(
      fc.property(fc.string({ unit: 'binary', maxLength: 20 }), (s) => {
        expect(isSafeText(s, 100)).toBe(s.length > 0 && !unsafe(s));
      }),
      { numRuns: 2000 },
    );
  });
});

describe('frame validation', () => {
  it('a book key with a NUL, a control character or over 128 characters is BAD_REQUEST with the rid', () => {
    for (const key of ['order\u0000123', 'a\u001bb', 'x'.repeat(129), '\u0085', '']) {
      const r = decodeRequest(encodeMessage({ t: 'book', rid: 7, ev: 'e1', tok: 'AAAAAAAAAAAAAAAA', key }), MAX_SEATS);
      expect(r).toMatchObject({ ok: false, rid: 7 });
      expect((r as { msg: string }).msg).toMatch(/key/);
    }
    expect(decodeRequest(encodeMessage({ t: 'book', rid: 7, ev: 'e1', tok: 'AAAAAAAAAAAAAAAA', key: 'Bestellung-äöü-1' }), MAX_SEATS).ok).toBe(true);
  });

  it('checkout takes exactly what book takes, and refuses what book refuses', () => {
    const good = { t: 'checkout', rid: 8, ev: 'e1', tok: 'AAAAAAAAAAAAAAAA', key: 'order-1' } as const;
    expect(decodeRequest(encodeMessage({ ...good, extra: 'ignored' } as never), MAX_SEATS)).toEqual({ ok: true, request: good });
    for (const bad of [{ key: 'a\u0000b' }, { key: undefined }, { tok: 'short' }, { tok: undefined }, { ev: 'bad ev' }]) {
      const r = decodeRequest(encodeMessage({ ...good, ...bad } as never), MAX_SEATS);
      expect(r, JSON.stringify(bad)).toMatchObject({ ok: false, rid: 8 });
    }
  });

  it('a hold token not of the form the server issues is BAD_REQUEST', () => {
    for (const tok of ['short', 'has space inside!', 'x'.repeat(65), 'tok\u0000en-1234', 'ÄÖÜÄÖÜÄÖÜ']) {
      for (const t of ['release', 'extend'] as const) {
        expect(decodeRequest(encodeMessage({ t, rid: 1, ev: 'e1', tok }), MAX_SEATS), `${t} ${tok}`).toMatchObject({ ok: false, rid: 1 });
      }
      expect(decodeRequest(encodeMessage({ t: 'hold', rid: 1, ev: 'e1', seats: [1], tok }), MAX_SEATS)).toMatchObject({ ok: false, rid: 1 });
    }
  });

  it('a string rid with a control character is no rid', () => {
    expect(decodeRequest(encodeMessage({ t: 'ping', rid: 'a\u0000' }), MAX_SEATS)).toMatchObject({ ok: false, rid: null });
    expect(decodeRequest(encodeMessage({ t: 'ping', rid: 'req-1' }), MAX_SEATS)).toEqual({ ok: true, request: { t: 'ping', rid: 'req-1' } });
  });

  it('a string that is not valid UTF-8 makes the frame undecodable (BAD_REQUEST, rid null)', () => {
    for (const bytes of [[0xc3, 0x28], [0xff], [0xed, 0xa0, 0x80], [0xe2, 0x82]]) {
      const frame = rawMap([
        ['t', str('book')],
        ['rid', [0x05]],
        ['ev', str('e1')],
        ['tok', str('AAAAAAAAAAAAAAAA')],
        ['key', [0xa0 | bytes.length, ...bytes]],
      ]);
      const r = decodeRequest(frame, MAX_SEATS);
      expect(r).toMatchObject({ ok: false, rid: null });
      expect((r as { msg: string }).msg).toMatch(/UTF-8/);
    }
    // valid multi-byte UTF-8 decodes
    expect(decodeRequest(rawMap([['t', str('book')], ['rid', [0x05]], ['ev', str('e1')], ['tok', str('AAAAAAAAAAAAAAAA')], ['key', str('größe-🎫')]]), MAX_SEATS)).toMatchObject({
      ok: true,
      request: { key: 'größe-🎫' },
    });
  });

  it('integers sent as floats with an integral value are taken as integers; others are refused', () => {
    const hold = (seats: number[][]) => rawMap([['t', str('hold')], ['rid', [0x01]], ['ev', str('e1')], ['seats', [0x90 | seats.length, ...seats.flat()]]]);
    const ok = decodeRequest(hold([float64(3), float64(-0)]), MAX_SEATS);
    expect(ok).toEqual({ ok: true, request: { t: 'hold', rid: 1, ev: 'e1', seats: [3, 0] } });
    expect(Object.is((ok as { request: { seats: number[] } }).request.seats[1], 0)).toBe(true);
    expect(decodeRequest(hold([float64(2.5)]), MAX_SEATS)).toMatchObject({ ok: false, rid: 1 });
    expect(decodeRequest(hold([float64(Number.NaN)]), MAX_SEATS)).toMatchObject({ ok: false, rid: 1 });
  });

  it('a map key __proto__ makes the frame undecodable (BAD_REQUEST, rid null); other unknown keys are ignored', () => {
    const withProto = rawMap([['t', str('ping')], ['rid', [0x01]], ['__proto__', [0x01]]]);
    expect(decodeRequest(withProto, MAX_SEATS)).toMatchObject({ ok: false, rid: null });
    const withUnknown = rawMap([['t', str('ping')], ['rid', [0x01]], ['future', [0x01]]]);
    expect(decodeRequest(withUnknown, MAX_SEATS)).toEqual({ ok: true, request: { t: 'ping', rid: 1 } });
    expect(validateRequest({ t: 'ping', rid: 1, constructor: 5 }, MAX_SEATS)).toEqual({ ok: true, request: { t: 'ping', rid: 1 } });
  });
});

describe('queue and auth requests', () => {
  it('queue needs a valid ev; auth a token string of 1 to 8192 characters, no ev', () => {
    expect(validateRequest({ t: 'queue', rid: 1, ev: 'e1' }, MAX_SEATS)).toEqual({ ok: true, request: { t: 'queue', rid: 1, ev: 'e1' } });
    expect(validateRequest({ t: 'queue', rid: 1 }, MAX_SEATS)).toMatchObject({ ok: false, rid: 1, msg: 'missing or invalid ev' });
    expect(validateRequest({ t: 'queue', rid: 1, ev: 'bad id!' }, MAX_SEATS)).toMatchObject({ ok: false });
    expect(validateRequest({ t: 'auth', rid: 2, token: 'a.b.c' }, MAX_SEATS)).toEqual({ ok: true, request: { t: 'auth', rid: 2, token: 'a.b.c' } });
    for (const token of [undefined, '', 42, 'x'.repeat(8193)]) {
      expect(validateRequest({ t: 'auth', rid: 2, token }, MAX_SEATS), String(token).slice(0, 10)).toMatchObject({ ok: false, rid: 2 });
    }
    // decoded from a real frame
    expect(decodeRequest(encodeMessage({ t: 'queue', rid: 'r', ev: 'e1' } as never), MAX_SEATS)).toMatchObject({ ok: true, request: { t: 'queue' } });
  });
});

describe('best available, swap and extend with ms', () => {
  const base = { rid: 1, ev: 'e1' };
  const ok = (frame: object) => validateRequest({ ...base, ...frame }, MAX_SEATS);
  const refused = (frame: object) => {
    const r = ok(frame);
    expect(r.ok, JSON.stringify(frame)).toBe(false);
    return r.ok ? '' : r.msg;
  };

  it('accepts best with its optional fields, and keeps only those given', () => {
    expect(ok({ t: 'hold', best: { n: 2 } })).toEqual({ ok: true, request: { t: 'hold', ...base, best: { n: 2 } } });
    expect(ok({ t: 'hold', best: { n: 4.0, categories: ['premium'], sections: ['A', 'B'], together: false, accessible: 1 }, tok: 'abcdefgh' })).toEqual({
      ok: true,
      request: { t: 'hold', ...base, tok: 'abcdefgh', best: { n: 4, categories: ['premium'], sections: ['A', 'B'], together: false, accessible: 1 } },
    });
  });

  it('refuses a malformed best, and best beside seats', () => {
    expect(refused({ t: 'hold', best: { n: 2 }, seats: [1] })).toMatch(/not both/);
    expect(refused({ t: 'hold', best: 2 })).toMatch(/best must be a map/);
    for (const n of [0, -1, 1.5, MAX_SEATS + 1, '2', null]) expect(refused({ t: 'hold', best: { n } })).toMatch(/best\.n/);
    expect(refused({ t: 'hold', best: { n: 2, categories: [] } })).toMatch(/best\.categories/);
    expect(refused({ t: 'hold', best: { n: 2, sections: ['a\u0000'] } })).toMatch(/best\.sections/);
    expect(refused({ t: 'hold', best: { n: 2, together: 'yes' } })).toMatch(/best\.together/);
    expect(refused({ t: 'hold', best: { n: 2, accessible: 3 } })).toMatch(/must not exceed best\.n/);
    expect(refused({ t: 'hold', best: { n: 2, accessible: -1 } })).toMatch(/best\.accessible/);
  });

  it('swap takes two seat lists, either may be empty, not both', () => {
    expect(ok({ t: 'swap', tok: 'abcdefgh', release: [1, 2], hold: [] })).toEqual({ ok: true, request: { t: 'swap', ...base, tok: 'abcdefgh', release: [1, 2], hold: [] } });
    expect(refused({ t: 'swap', tok: 'abcdefgh', release: [], hold: [] })).toMatch(/both be empty/);
    expect(refused({ t: 'swap', tok: 'abcdefgh', release: [1] })).toMatch(/hold must be an array/);
    expect(refused({ t: 'swap', tok: 'abcdefgh', release: [1.5], hold: [] })).toMatch(/integers/);
    expect(refused({ t: 'swap', release: [1], hold: [2] })).toMatch(/tok/);
  });

  it('extend takes ms from 0 to a day', () => {
    expect(ok({ t: 'extend', tok: 'abcdefgh', ms: 0 })).toEqual({ ok: true, request: { t: 'extend', ...base, tok: 'abcdefgh', ms: 0 } });
    expect(ok({ t: 'extend', tok: 'abcdefgh', ms: 60_000 })).toMatchObject({ ok: true, request: { ms: 60_000 } });
    for (const ms of [-1, 1.5, 86_400_001, '1000']) expect(refused({ t: 'extend', tok: 'abcdefgh', ms })).toMatch(/ms must be an integer/);
  });
});

describe('general-admission places in hold and release', () => {
  const tok = 'tok_abcdefgh';
  it('takes ga beside seats or instead of them, and in a release', () => {
    expect(validateRequest({ t: 'hold', rid: 1, ev: 'e', seats: [1], ga: [[0, 2]] }, 10)).toEqual({ ok: true, request: { t: 'hold', rid: 1, ev: 'e', seats: [1], ga: [[0, 2]] } });
    expect(validateRequest({ t: 'hold', rid: 1, ev: 'e', ga: [[3, 4]], tok }, 10)).toEqual({ ok: true, request: { t: 'hold', rid: 1, ev: 'e', seats: [], ga: [[3, 4]], tok } });
    expect(validateRequest({ t: 'release', rid: 2, ev: 'e', tok, ga: [[0, 1]] }, 10)).toEqual({ ok: true, request: { t: 'release', rid: 2, ev: 'e', tok, ga: [[0, 1]] } });
  });

  it.each([[[]], [[[0, 0]]], [[[0, 1001]]], [[[0, 1], [0, 2]]], [[[-1, 1]]], [[[0, 1.5]]], [[[0]]], ['0:1'], [[['0', 1]]]])('refuses ga %j as BAD_REQUEST', (ga) => {
    for (const request of [{ t: 'hold', rid: 1, ev: 'e', ga }, { t: 'release', rid: 1, ev: 'e', tok, ga }]) {
      const result = validateRequest(request, 10);
      expect(result.ok).toBe(false);
    }
  });

  it('still refuses a hold with neither seats nor places', () => {
    expect(validateRequest({ t: 'hold', rid: 1, ev: 'e' }, 10).ok).toBe(false);
    expect(validateRequest({ t: 'hold', rid: 1, ev: 'e', seats: [] }, 10).ok).toBe(false);
  });
});
