/**
 * onsale: a spike of buyers arrives at once, everyone subscribes, then each
 * holds 1-4 adjacent seats it sees free in a hot section, books some holds
 * and releases the others after a moment's thought; once the hot section is
 * gone, anywhere in the event. A hold refused with ORPHAN_SEAT (the event's
 * orphan policy) is asked again once with the seats it would strand added,
 * as a buyer told "add seat X" does. Measures conflicts, latency and update delay.
 */
import { freeSeatNear, freeSeats, pick } from '../client.js';
import { startClient } from '../scenario.js';

/** @type {import('../scenario.js').Scenario} */
export const onsale = {
  name: 'onsale',
  description: 'a spike of buyers holding, booking and releasing in a hot section',
  defaults: {
    // what one k6 process on a 2-core machine drives within the thresholds (loadtest/README.md)
    clients: 150,
    durationMs: 30000,
    /** every buyer arrives within this */
    spikeMs: 3000,
    hotFrom: 0,
    hotSeats: 500,
    /** share of holds that are booked; the rest are released */
    bookRatio: 0.5,
    thinkMinMs: 300,
    thinkMaxMs: 1500,
    maxSeatsPerHold: 4,
  },
  thresholds: {
    op_conflicts: ['rate<0.9'],
    op_latency: ['p(95)<1500'],
    seat_update_delay: ['p(95)<1000'],
    // a run that did no work fails (k6 passes rate and trend thresholds that have no samples)
    ops: ['count>0'],
  },
  arrivalMs(_index, cfg, random) {
    return Math.floor(random() * cfg.spikeMs);
  },
  run(ctx, done) {
    const { cfg, platform } = ctx;
    const think = () => cfg.thinkMinMs + platform.random() * (cfg.thinkMaxMs - cfg.thinkMinMs);
    startClient(ctx, `onsale-${ctx.index}`, (client) => {
      const buy = () => {
        if (ctx.over() || !client.open) return;
        const seats = chooseSeats(ctx, client.views[cfg.ev]);
        if (seats.length === 0) return ctx.later(buy, think()); // sold out as far as we can see
        holdAddingStranded(client, cfg.ev, seats, (held) => {
          if (held.t !== 'ok') return ctx.later(buy, think() / 3);
          ctx.later(() => {
            if (platform.random() < cfg.bookRatio) {
              client.operate({ t: 'book', ev: cfg.ev, tok: held.tok, key: `${held.tok}-book` }, (booked) => {
                if (booked.t === 'ok') {
                  platform.count('seats_booked', booked.seats.length);
                  platform.note('booked', booked.seats);
                }
                ctx.later(buy, think());
              });
            } else client.operate({ t: 'release', ev: cfg.ev, tok: held.tok }, () => ctx.later(buy, think()));
          }, think());
        });
      };
      buy();
    }, done);
  },
};

/** A hold; refused with ORPHAN_SEAT, asked again once with the stranded seats added. */
function holdAddingStranded(client, ev, seats, done) {
  client.operate({ t: 'hold', ev, seats }, (held) => {
    if (held.t === 'err' && held.code === 'ORPHAN_SEAT' && Array.isArray(held.seats)) {
      client.platform.count('orphan_seats_added', held.seats.length);
      return client.operate({ t: 'hold', ev, seats: seats.concat(held.seats) }, done);
    }
    done(held);
  });
}

/** 1 to maxSeatsPerHold adjacent free seats, in the hot section while it has any. */
function chooseSeats(ctx, view) {
  const { cfg, platform } = ctx;
  if (!view) return [];
  const free = freeSeats(view, cfg.hotFrom, cfg.hotFrom + cfg.hotSeats);
  // the hot section gone: a free seat anywhere, found without listing the 20,000 others
  const first = free.length > 0 ? pick(platform, free) : freeSeatNear(view, 0, view.status.length, platform.random());
  if (first < 0) return [];
  const want = 1 + Math.floor(platform.random() * cfg.maxSeatsPerHold);
  const seats = [first];
  for (let s = first + 1; seats.length < want && s < view.status.length && view.status[s] === 0; s++) seats.push(s);
  return seats;
}
