/**
 * The scenario platform on k6: WebSockets from k6/experimental/websockets
 * (k6 0.40 to 1.x), metrics from k6/metrics, HS256 from k6/crypto. Timers are
 * k6's global ones (k6 0.50 and later).
 */
import { check } from 'k6';
import crypto from 'k6/crypto';
import encoding from 'k6/encoding';
import { WebSocket } from 'k6/experimental/websockets';
import { Counter, Rate, Trend } from 'k6/metrics';
import { METRICS } from '../lib/metrics.js';
import { runClient, scenarioConfig, scenarioThresholds } from '../lib/scenario.js';

// k6 metrics must be created in the init context, once per VU
const metrics = {};
for (const name of Object.keys(METRICS)) {
  const kind = METRICS[name];
  metrics[name] = kind === 'trend' ? new Trend(name, true) : kind === 'rate' ? new Rate(name) : new Counter(name);
}

/** @returns {import('../lib/platform.js').Platform} */
function k6Platform() {
  if (typeof setTimeout !== 'function') throw new Error('these scenarios need k6 0.50 or later (global timers)');
  return {
    connect(url, token, handlers) {
      // the query string carries the token: every k6 release sends it, whatever it does with headers and subprotocols
      const target = token ? `${url}${url.indexOf('?') >= 0 ? '&' : '?'}token=${encodeURIComponent(token)}` : url;
      const ws = new WebSocket(target, 'seatmap.v1');
      try {
        ws.binaryType = 'arraybuffer'; // k6 1.x delivers Blobs otherwise; 0.4x has only ArrayBuffers and throws here
      } catch (_) {
        // older k6: binary frames already arrive as ArrayBuffer
      }
      ws.onopen = () => handlers.onOpen();
      ws.onmessage = (e) => {
        if (typeof e.data === 'string') return handlers.onError('text frame');
        handlers.onMessage(new Uint8Array(e.data));
      };
      ws.onclose = (e) => handlers.onClose(e && typeof e.code === 'number' ? e.code : 1005);
      ws.onerror = (e) => handlers.onError(String(e && e.error));
      return {
        // k6 sends an ArrayBuffer as a binary frame, and nothing else as one: never pass a view
        send: (frame) => ws.send(frame.slice().buffer),
        close: () => ws.close(),
      };
    },
    now: () => Date.now(),
    random: Math.random,
    setTimeout: (fn, ms) => setTimeout(fn, ms),
    clearTimeout: (handle) => clearTimeout(handle),
    hmacSha256Base64Url: (secret, text) => crypto.hmac('sha256', secret, text, 'base64rawurl'),
    base64Url: (text) => encoding.b64encode(text, 'rawurl'),
    trend: (name, value, tags) => metrics[name].add(value, tags),
    rate: (name, ok, tags) => metrics[name].add(ok, tags),
    count: (name, n, tags) => metrics[name].add(n, tags),
    check: (name, ok) => check(ok, { [name]: (v) => v === true }),
    note: () => {},
  };
}

/**
 * k6 options for a scenario: one VU per client, one iteration each (a
 * client's whole life), with the scenario's thresholds.
 */
export function k6Options(scenario) {
  const cfg = scenarioConfig(scenario, __ENV);
  return {
    scenarios: {
      [scenario.name]: {
        executor: 'per-vu-iterations',
        vus: cfg.clients,
        iterations: 1,
        maxDuration: `${Math.ceil(cfg.durationMs / 1000) + 30}s`,
      },
    },
    thresholds: scenarioThresholds(scenario),
  };
}

/** Shared by all VUs: when the run started, and a run id that keeps holders of different runs apart. */
export function k6Setup() {
  return { startedAt: Date.now() + 1000, runId: Date.now().toString(36) };
}

/** One VU = client __VU-1. */
export function k6Client(scenario, data) {
  const cfg = scenarioConfig(scenario, __ENV);
  cfg.subPrefix = `${cfg.subPrefix}-${data.runId}`;
  runClient(scenario, k6Platform(), cfg, __VU - 1, data.startedAt, () => {});
}
