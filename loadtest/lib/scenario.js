/**
 * What every scenario module provides, and how one client of a scenario is
 * run: wait for its arrival time, connect, subscribe, act, and stop at the
 * run's end. k6 runs one client per VU; the Node runner many per process.
 *
 * @typedef {import('./platform.js').Platform} Platform
 *
 * @typedef {object} ClientContext
 * @property {Platform} platform
 * @property {Record<string, any>} cfg
 * @property {number} index  0 … clients-1
 * @property {number} endAt  platform.now() at which the run ends
 * @property {() => boolean} over
 * @property {(fn: () => void, ms: number) => void} later  a timer that does not fire past the end
 *
 * @typedef {object} Scenario
 * @property {string} name
 * @property {string} description
 * @property {Record<string, string | number>} defaults  besides COMMON_DEFAULTS
 * @property {Record<string, string[]>} thresholds
 * @property {(index: number, cfg: Record<string, any>, random: () => number) => number} arrivalMs  ms after the start
 * @property {(ctx: ClientContext, done: () => void) => void} run  one client's life; calls done once closed
 */
import { LoadClient } from './client.js';
import { COMMON_DEFAULTS, readConfig } from './config.js';
import { tokenFor } from './jwt.js';
import { COMMON_THRESHOLDS } from './metrics.js';

/** @param {Scenario} scenario @param {Record<string, string | undefined>} env */
export function scenarioConfig(scenario, env) {
  return readConfig(Object.assign({}, COMMON_DEFAULTS, scenario.defaults), env);
}

/** The scenario's thresholds with the common ones. @param {Scenario} scenario */
export function scenarioThresholds(scenario) {
  return Object.assign({}, COMMON_THRESHOLDS, scenario.thresholds);
}

/**
 * Runs client `index`: waits until startedAt + its arrival time, then the scenario's client.
 * @param {Scenario} scenario @param {Platform} platform @param {Record<string, any>} cfg
 * @param {number} index @param {number} startedAt  platform.now() of the run's start
 * @param {() => void} done
 */
export function runClient(scenario, platform, cfg, index, startedAt, done) {
  const endAt = startedAt + cfg.durationMs;
  /** @type {ClientContext} */
  const ctx = {
    platform,
    cfg,
    index,
    endAt,
    over: () => platform.now() >= endAt,
    later: (fn, ms) => {
      if (platform.now() + ms < endAt) platform.setTimeout(fn, ms);
      else platform.setTimeout(fn, Math.max(0, endAt - platform.now()));
    },
  };
  const wait = startedAt + scenario.arrivalMs(index, cfg, platform.random) - platform.now();
  platform.setTimeout(() => scenario.run(ctx, done), Math.max(0, wait));
}

/**
 * Connects client `subject`, subscribes to the event, hands the client to
 * `onSubscribed`, and at the run's end, once its replies are in, releases the
 * holds it still has, closes it and then calls `done` (at once
 * when the connection drops unasked; a scenario that reconnects replaces
 * `client.handlers.onClose` meanwhile).
 * @param {ClientContext} ctx @param {string} subject
 * @param {(client: LoadClient) => void} onSubscribed @param {() => void} done
 */
export function startClient(ctx, subject, onSubscribed, done) {
  const { platform, cfg } = ctx;
  let finished = false;
  const finish = () => {
    if (finished) return;
    finished = true;
    done();
  };
  const client = new LoadClient(platform, cfg, tokenFor(platform, cfg, subject), {
    onReady: (c) =>
      c.subscribe(cfg.ev, (reply) => {
        if (reply.t === 'ok' && !ctx.over()) onSubscribed(c);
      }),
    onClose: finish,
  });
  // at the end: no new requests; wait (briefly) for the replies in flight, so that what the
  // clients report matches what the server did, then close
  const closeWhenSettled = (deadline) => {
    if (!client.socket) return finish();
    if (Object.keys(client.pending).length > 0 && platform.now() < deadline) return platform.setTimeout(() => closeWhenSettled(deadline), 20);
    // a load run leaves no seat held behind it
    client.releaseHolds(platform.now() + cfg.requestTimeoutMs, () => {
      if (!client.socket) return finish();
      client.handlers.onClose = finish;
      client.close();
    });
  };
  platform.setTimeout(() => {
    client.stopping = true;
    closeWhenSettled(platform.now() + cfg.requestTimeoutMs);
  }, Math.max(0, ctx.endAt - platform.now()));
  return client;
}
