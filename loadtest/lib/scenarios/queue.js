/**
 * queue: an on-sale with the event's waiting room on (docs/onsale.md). A
 * spike of buyers arrives within SPIKE; each watches the map and joins the
 * queue, and once admitted (`admit`, or a `queue` reply that says so) holds
 * 1-4 seats, best available (named seats it sees free where the event has
 * no layout), and books them or abandons them
 * (releases). A share SKIP_SHARE tries a hold before joining, which the
 * waiting room must refuse (NOT_ADMITTED). The buyers' decisions are
 * loadtest/lib/queue-buyer.js, shared with `npm run bench:onsale`. Put the
 * waiting room on first (PUT /events/:id/queue); without one every buyer is
 * admitted at once and the skippers' holds go through.
 */
import { bestHold, buyerPlan, chooseSeats } from '../queue-buyer.js';
import { startClient } from '../scenario.js';

/** @type {import('../scenario.js').Scenario} */
export const queue = {
  name: 'queue',
  description: 'an on-sale through the waiting room: join, wait for admission, hold, book or abandon; some skip the queue',
  defaults: {
    clients: 300,
    durationMs: 60000,
    /** every buyer arrives within this */
    spikeMs: 10000,
    /** share of buyers that try a hold before joining the queue */
    skipShare: 0.05,
    /** share of admitted buyers that book their hold; the others abandon it */
    bookShare: 0.8,
    maxSeatsPerHold: 4,
  },
  thresholds: {
    op_latency: ['p(95)<1500'],
    // a run in which nobody got through did no work
    queue_admitted: ['count>0'],
  },
  arrivalMs(_index, cfg, random) {
    return Math.floor(random() * cfg.spikeMs);
  },
  run(ctx, done) {
    const { cfg, platform } = ctx;
    const plan = buyerPlan(platform.random, { skipShare: cfg.skipShare, bookShare: cfg.bookShare, maxSeats: cfg.maxSeatsPerHold });
    startClient(ctx, `queue-${ctx.index}`, (client) => {
      let joinedAt = 0;
      let admitted = false;
      let attempts = 0;
      let want = plan.want;
      let named = false; // an event without a layout has no best available: named seats from the map then
      const buy = () => {
        if (ctx.over() || !client.open) return;
        const view = client.views[cfg.ev];
        const seats = view && view.ready ? chooseSeats(view.status, want, platform.random) : [];
        if (seats.length === 0) return; // sold out as far as we can see
        client.operate(named ? { t: 'hold', ev: cfg.ev, seats } : bestHold(cfg.ev, want), (held) => {
          if (held.t !== 'ok') {
            if (held.code === 'NO_BLOCK' && want > 1) (want--, buy());
            else if (held.code === 'BAD_REQUEST' && !named) (named = true, buy());
            else if (held.code === 'UNAVAILABLE' && ++attempts < 5) ctx.later(buy, 100 + platform.random() * 300);
            return;
          }
          if (!plan.books) return client.operate({ t: 'release', ev: cfg.ev, tok: held.tok }, () => {});
          client.operate({ t: 'book', ev: cfg.ev, tok: held.tok, key: `${held.tok}-book` }, (booked) => {
            if (booked.t === 'ok') {
              platform.count('seats_booked', booked.seats.length);
              platform.note('booked', booked.seats);
            }
          });
        });
      };
      const admit = () => {
        if (admitted) return;
        admitted = true;
        platform.count('queue_admitted', 1);
        platform.trend('queue_wait', platform.now() - joinedAt);
        buy();
      };
      client.handlers.onPush = (m) => {
        if (m.ev === cfg.ev && m.t === 'admit') admit();
      };
      const join = () => {
        joinedAt = platform.now();
        client.request({ t: 'queue', ev: cfg.ev }, (reply) => {
          platform.rate('errors', reply.t !== 'ok', { what: 'queue' });
          if (reply.t === 'ok' && reply.state === 'admitted') admit();
        });
      };
      if (!plan.skipper) return join();
      client.request({ t: 'hold', ev: cfg.ev, seats: [Math.floor(platform.random() * (client.views[cfg.ev].status.length || 1))] }, (reply) => {
        platform.rate('skip_refused', reply.t === 'err' && reply.code === 'NOT_ADMITTED');
        if (reply.t === 'ok') client.holds[reply.tok] = cfg.ev; // released at the end like every hold
        join();
      });
    }, done);
  },
};
