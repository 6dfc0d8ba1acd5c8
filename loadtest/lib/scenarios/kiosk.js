/**
 * kiosk: box-office kiosks at peak. A fixed set of clients sell seats as fast
 * as the gateway allows them (paced by their token bucket; RATE_LIMITED is a
 * back-off, counted apart from conflicts), all in the same rows: each picks
 * a pair among the first free seats from `rowFrom` on, holds it and books it.
 */
import { freeSeats, pick } from '../client.js';
import { startClient } from '../scenario.js';

/** @type {import('../scenario.js').Scenario} */
export const kiosk = {
  name: 'kiosk',
  description: 'a fixed set of kiosks holding and booking as fast as allowed, contending for the same rows',
  defaults: {
    clients: 10,
    durationMs: 20000,
    /** the rows being sold start here; kiosks move on as they fill */
    rowFrom: 0,
    /** a kiosk picks among this many first free seats (the contention window) */
    window: 12,
    seatsPerSale: 2,
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
    startClient(ctx, `kiosk-${ctx.index}`, (client) => {
      const sell = () => {
        if (ctx.over() || !client.open) return;
        const view = client.views[cfg.ev];
        const free = freeSeats(view, cfg.rowFrom, view.status.length, cfg.window);
        if (free.length === 0) return; // the kiosks sold everything from rowFrom on
        const first = pick(platform, free.slice(0, Math.max(1, free.length - cfg.seatsPerSale + 1)));
        const seats = free.filter((s) => s >= first).slice(0, cfg.seatsPerSale);
        client.operate({ t: 'hold', ev: cfg.ev, seats }, (held) => {
          if (held.t !== 'ok') return sell();
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
