/**
 * kiosk: box-office kiosks at peak. A fixed set of clients sell seats as fast
 * as the gateway allows them (paced by their token bucket; RATE_LIMITED is a
 * back-off, counted apart from conflicts), the way a box office does: "2 best
 * seats, together", a best-available hold (the server picks and holds the
 * seats in one step, so kiosks never collide on a seat), then a booking. A
 * kiosk stops when NO_BLOCK says nothing that fits is left.
 */
import { startClient } from '../scenario.js';

/** @type {import('../scenario.js').Scenario} */
export const kiosk = {
  name: 'kiosk',
  description: 'a fixed set of kiosks selling best-available seats and booking them as fast as allowed',
  defaults: {
    clients: 10,
    durationMs: 20000,
    seatsPerSale: 2,
    /** comma-separated category ids to sell from ('' = any) */
    categories: '',
    /** comma-separated section ids to sell from ('' = any) */
    sections: '',
  },
  thresholds: {
    op_conflicts: ['rate<0.9'],
    op_latency: ['p(95)<1500'],
    seats_booked: ['count>0'],
  },
  arrivalMs() {
    return 0;
  },
  run(ctx, done) {
    const { cfg, platform } = ctx;
    const best = bestRequest(cfg);
    startClient(ctx, `kiosk-${ctx.index}`, (client) => {
      const sell = () => {
        if (ctx.over() || !client.open) return;
        client.operate({ t: 'hold', ev: cfg.ev, best }, (held) => {
          if (held.t !== 'ok') {
            if (held.code === 'NO_BLOCK') {
              platform.count('sold_out', 1);
              return; // nothing that fits is left: this kiosk is done
            }
            return ctx.later(sell, 50);
          }
          platform.count('seats_held_best', held.seats.length);
          client.operate({ t: 'book', ev: cfg.ev, tok: held.tok, key: `${held.tok}-sale` }, (booked) => {
            if (booked.t === 'ok') {
              platform.count('seats_booked', booked.seats.length);
              platform.note('booked', booked.seats);
            }
            sell();
          });
        });
      };
      sell();
    }, done);
  },
};

/** The `best` of every sale: n, and the category and section filters when set. */
function bestRequest(cfg) {
  /** @type {{n: number, categories?: string[], sections?: string[]}} */
  const best = { n: cfg.seatsPerSale };
  const list = (text) => String(text).split(',').map((s) => s.trim()).filter((s) => s.length > 0);
  if (list(cfg.categories).length > 0) best.categories = list(cfg.categories);
  if (list(cfg.sections).length > 0) best.sections = list(cfg.sections);
  return best;
}
