/**
 * The error catalogue holds every fact about a code, and everything that
 * needs one of them derives it from there: the HTTP status of the API, the
 * client SDK's `outcomeUnknown`, and the error table of docs/protocol.md.
 */
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { ERROR_CATALOGUE, ERROR_CODES, errorText, outcomeUnknown, type ErrorCode } from '../core/errors.js';
import { RequestError } from '../core/client/requests.js';
import { errorStatus, statusLine } from '../gateway/http-util.js';

const protocol = readFileSync(new URL('../docs/protocol.md', import.meta.url), 'utf8');

describe('ERROR_CATALOGUE', () => {
  it('gives every code a status, a retry rule and a text', () => {
    for (const code of ERROR_CODES) {
      const entry = ERROR_CATALOGUE[code];
      expect(entry.status, code).toBeGreaterThanOrEqual(400);
      expect(['no', 'later', 'unknown-outcome'], code).toContain(entry.retry);
      expect(errorText(code)).toBe(entry.text);
      expect(entry.text.length, code).toBeGreaterThan(20);
    }
  });

  it('the statuses chosen for the codes that used to fall back to 400', () => {
    expect(errorStatus('NOT_HOLDER')).toBe(403);
    expect(errorStatus('HOLD_LIMIT')).toBe(409);
    expect(errorStatus('EXPIRED')).toBe(410);
    expect(errorStatus('REFUSED')).toBe(409);
  });

  it('the HTTP API answers each code with its catalogue status, and every status has a reason phrase', () => {
    for (const code of ERROR_CODES) {
      expect(errorStatus(code), code).toBe(ERROR_CATALOGUE[code].status);
      expect(statusLine(errorStatus(code)), code).toMatch(/^\d{3} [A-Z]/);
    }
  });

  it("the client's outcomeUnknown follows the catalogue; its own TIMEOUT and DISCONNECTED are unknown too", () => {
    const unknown = ERROR_CODES.filter((code) => new RequestError(code, '').outcomeUnknown).sort();
    expect(unknown).toEqual(ERROR_CODES.filter(outcomeUnknown).sort());
    expect(unknown).toEqual(['INTERNAL', 'PENDING']);
    expect(new RequestError('TIMEOUT', '').outcomeUnknown).toBe(true);
    expect(new RequestError('DISCONNECTED', '').outcomeUnknown).toBe(true);
    expect(new RequestError('CLOSED', '').outcomeUnknown).toBe(false);
    expect(new RequestError('REFUSED', '').outcomeUnknown).toBe(false);
  });

  it('docs/protocol.md lists each code with its HTTP status and retry rule', () => {
    for (const code of ERROR_CODES) {
      const row = protocol.split('\n').find((line) => line.startsWith(`| \`${code}\` |`));
      expect(row, code).toBeDefined();
      const cells = row!.split('|').map((c) => c.trim());
      const { status, retry } = ERROR_CATALOGUE[code as ErrorCode];
      expect(cells.slice(-3, -1), code).toEqual([String(status), `\`${retry}\``]);
    }
  });
});
