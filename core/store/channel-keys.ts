/**
 * Sales-channel keys (docs/store.md#sales-channels): what a key is, and the
 * JWT `chan` claim read as keys. Hostile input: a key is safe text of a
 * bounded length, a claim a bounded list of them.
 */

/** A channel key: what a path segment and a claim entry may be. */
export const CHANNEL_KEY = /^[A-Za-z0-9_.-]{1,32}$/;
/** keys one caller (one token's `chan` claim) may carry */
export const MAX_CHANNEL_KEYS = 16;
/** channels one event may have (includes/channels.lua CHANNELS_MAX) */
export const MAX_CHANNELS = 100;

export function isChannelKey(key: unknown): key is string {
  return typeof key === 'string' && CHANNEL_KEY.test(key);
}

/**
 * The `chan` claim as channel keys: a string or an array of strings, each a
 * channel key, at most MAX_CHANNEL_KEYS; absent is none. Anything else is
 * null: the token is refused (a claim nobody can read is the issuer's mistake,
 * and ignoring it would lock its holder out of a presale without a word).
 */
export function parseChannelClaim(value: unknown): string[] | null {
  if (value === undefined) return [];
  const list = typeof value === 'string' ? [value] : value;
  if (!Array.isArray(list) || list.length > MAX_CHANNEL_KEYS || !list.every(isChannelKey)) return null;
  return [...new Set(list as string[])];
}

/** The scripts' argument: keys comma-separated ('' = none); keys that are not channel keys are dropped. */
export function channelArg(keys: readonly string[] | undefined): string {
  if (!keys || keys.length === 0) return '';
  return keys.filter(isChannelKey).slice(0, MAX_CHANNEL_KEYS).join(',');
}

