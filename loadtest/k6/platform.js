/**
 * The scenario platform on k6 0.51 to 1.x: WebSockets from k6/websockets
 * where the running k6 has it (1.6 and later), from k6/experimental/websockets
 * otherwise (it logs a deprecation from 1.6 on); metrics from k6/metrics,
 * HS256 from k6/crypto; k6's global timers (0.51 and later).
 *
 * An older k6 fails the run at module load (the init context), before any
 * VU starts: k6 has no version to ask for, so the check is for the one
 * feature the scenarios need that 0.50 lacks, the global timers.
 */
import { check } from 'k6';
import crypto from 'k6/crypto';
import encoding from 'k6/encoding';
import { Counter, Rate, Trend } from 'k6/metrics';
import { METRICS } from '../lib/metrics.js';
import { runClient, scenarioConfig, scenarioThresholds } from '../lib/scenario.js';

export const K6_VERSIONS = 'k6 0.51 to 1.x';

if (typeof setTimeout !== 'function' || typeof clearTimeout !== 'function') {
  throw new Error(`these scenarios need ${K6_VERSIONS}: this k6 has no global timers (they came in 0.51)`);
}

/** k6/websockets (k6 1.6 and later), else the experimental module it replaced. */
function webSocketModule() {
  try {
    return require('k6/websockets');
  } catch (_) {
    return require('k6/experimental/websockets');
  }
}
const { WebSocket } = webSocketModule();

// k6 metrics must be created in the init context, once per VU
const metrics = {};
for (const name of Object.keys(METRICS)) {
  const kind = METRICS[name];
  metrics[name] = kind === 'trend' ? new Trend(name, true) : kind === 'rate' ? new Rate(name) : new Counter(name);
}

/** @returns {import('../lib/platform.js').Platform} */
function k6Platform() {
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
      let opened = false;
      let closed = false;
      const closedWith = (code) => {
        if (closed) return;
        closed = true;
        handlers.onClose(code);
      };
      ws.onopen = () => {
        opened = true;
        handlers.onOpen();
      };
      ws.onmessage = (e) => {
        if (typeof e.data === 'string') return handlers.onError('text frame');
        handlers.onMessage(new Uint8Array(e.data));
      };
      ws.onclose = (e) => closedWith(e && typeof e.code === 'number' ? e.code : 1005);
      ws.onerror = (e) => {
        handlers.onError(String(e && e.error));
        // a connection that never opened gets no close event in k6 (the VU would wait for it forever)
        if (!opened) closedWith(1006);
      };
      return {
        // k6 sends an ArrayBuffer as a binary frame, and nothing else as one: never pass a view
        send: (frame) => ws.send(frame.slice().buffer),
        close: () => {
          if (opened && !closed) ws.close();
        },
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
