/**
 * Event ids, the one definition shared by the key builder, the protocol, the
 * HTTP routes and the configuration: 1-64 of A-Z a-z 0-9 _ . - (they are part
 * of Redis keys and of URLs, unescaped).
 */
export const EVENT_ID = /^[A-Za-z0-9_.-]{1,64}$/;

/** In words, for error messages. */
export const EVENT_ID_RULE = '1 to 64 characters of A-Z a-z 0-9 _ . -';

export function isValidEventId(eventId: unknown): eventId is string {
  return typeof eventId === 'string' && EVENT_ID.test(eventId);
}
