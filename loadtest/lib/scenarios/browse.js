/**
 * browse: watchers arrive, ramping up to `clients`, and hold their
 * connections to the end, checking every diff's continuity (no gap, no
 * duplicate). The first `pulseClients` clients keep seats changing.
 */
import { startClient } from '../scenario.js';
import { pulse, pulseRange } from '../pulse.js';

/** @type {import('../scenario.js').Scenario} */
export const browse = {
  name: 'browse',
  description: 'watchers ramp up and hold their connections; every diff checked for continuity',
  defaults: {
    clients: 200,
    durationMs: 30000,
    /** arrivals spread evenly over this */
    rampMs: 10000,
    pulseClients: 2,
    pulseSeats: 100,
    pulseEveryMs: 500,
  },
  thresholds: {
    ws_connect_time: ['p(95)<2000'],
    seat_update_delay: ['p(95)<500'],
    op_latency: ['p(95)<500'],
    diffs: ['count>0'],
  },
  arrivalMs(index, cfg) {
    return index < cfg.pulseClients ? 0 : Math.floor((index / cfg.clients) * cfg.rampMs);
  },
  run(ctx, done) {
    startClient(ctx, `browse-${ctx.index}`, (client) => {
      if (ctx.index < ctx.cfg.pulseClients) pulse(ctx, client, pulseRange(client.views[ctx.cfg.ev], ctx.cfg));
    }, done);
  },
};
