/**
 * The one rule for text that enters the system from outside and may reach
 * Redis, Postgres or a log: idempotency keys, JWT subjects, booking
 * references, labels, reasons, query parameters. Postgres refuses a NUL in
 * `text` for good (22021), and control characters or undecodable bytes in an
 * identifier are never meant, so such values are refused where they enter,
 * with BAD_REQUEST, before anything is changed.
 *
 * Safe text is 1..max UTF-16 code units with none of:
 * - C0 and C1 control characters (U+0000–U+001F, U+007F–U+009F), NUL included;
 * - unpaired surrogates (not encodable as UTF-8);
 * - U+FFFD, the replacement character decoders put in place of invalid UTF-8.
 *
 * Pure and free of Node-only APIs: the protocol and the client SDK use it too.
 */

// eslint-disable-next-line no-control-regex
const UNSAFE = /[\u0000-\u001f\u007f-\u009f\ufffd]|[\ud800-\udbff](?![\udc00-\udfff])|(?<![\ud800-\udbff])[\udc00-\udfff]/;

/** What safe text excludes, in words, for error messages and docs. */
export const SAFE_TEXT_RULE = 'no control characters (U+0000–U+001F, U+007F–U+009F), unpaired surrogates or U+FFFD (invalid UTF-8)';

/** Why `value` is not safe text of at most `max` characters, or null when it is. */
export function textProblem(value: unknown, max: number, min = 1): string | null {
  if (typeof value !== 'string') return 'must be a string';
  if (value.length < min) return min === 1 ? 'must not be empty' : `must have at least ${min} characters`;
  if (value.length > max) return `must have at most ${max} characters`;
  if (UNSAFE.test(value)) return `must contain ${SAFE_TEXT_RULE}`;
  return null;
}

/** Whether `value` is safe text of `min`..`max` characters. */
export function isSafeText(value: unknown, max: number, min = 1): value is string {
  return textProblem(value, max, min) === null;
}
