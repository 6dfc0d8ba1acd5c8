/**
 * Scenario settings from a flat map of strings: k6's __ENV, or the Node
 * runner's options. A setting `fooBar` is read from FOO_BAR; one ending in
 * `Ms` takes a duration (`500ms`, `10s`, `2m`, or plain seconds) from the
 * name without the suffix (rampMs from RAMP).
 */

/** Settings every scenario has. */
export const COMMON_DEFAULTS = {
  /** the gateway's WebSocket endpoint */
  url: 'ws://127.0.0.1:9001/ws',
  /** the event to load */
  ev: 'demo',
  /** HS256 secret to mint one token per client (the gateway's JWT_SECRET) */
  jwtSecret: '',
  /** or one ready-made token for every client (they then share one holder) */
  token: '',
  scope: 'seats:read seats:hold seats:book',
  /** prefix of the minted tokens' subjects (holders); a random suffix keeps runs apart */
  subPrefix: 'load',
  clients: 50,
  durationMs: 20000,
  requestTimeoutMs: 10000,
};

/** @param {string} key */
export function envName(key) {
  const base = key.length > 2 && key.endsWith('Ms') ? key.slice(0, -2) : key;
  return base.replace(/[A-Z]/g, (c) => `_${c}`).toUpperCase();
}

/** Milliseconds in `500ms`, `10s`, `2m`, `1h` or a plain number of seconds. @param {string} text */
export function parseDuration(text) {
  const m = /^\s*(\d+(?:\.\d+)?)\s*(ms|s|m|h)?\s*$/.exec(text);
  if (!m) throw new Error(`not a duration: ${JSON.stringify(text)}`);
  const unit = { ms: 1, s: 1000, m: 60000, h: 3600000 }[m[2] || 's'];
  return Math.round(Number(m[1]) * unit);
}

/**
 * @template {Record<string, string | number>} T
 * @param {T} defaults
 * @param {Record<string, string | undefined>} env
 * @returns {T}
 */
export function readConfig(defaults, env) {
  /** @type {Record<string, string | number>} */
  const out = {};
  for (const key of Object.keys(defaults)) {
    const fallback = defaults[key];
    const raw = env[envName(key)];
    if (raw === undefined || raw === '') out[key] = fallback;
    else if (key.endsWith('Ms')) out[key] = parseDuration(raw);
    else if (typeof fallback === 'number') {
      const n = Number(raw);
      if (!Number.isFinite(n)) throw new Error(`${envName(key)} must be a number, got ${JSON.stringify(raw)}`);
      out[key] = n;
    } else out[key] = raw;
  }
  return /** @type {T} */ (out);
}
