/**
 * A client that keeps an event changing, so that watchers have diffs to
 * check: hold one free seat of a range, release it a moment later, again.
 */
import { freeSeats, pick } from './client.js';

/**
 * @param {import('./scenario.js').ClientContext} ctx
 * @param {import('./client.js').LoadClient} client
 * @param {{ from: number, to: number, everyMs: number }} range  seats [from, to), one cycle per everyMs
 */
export function pulse(ctx, client, range) {
  const { cfg } = ctx;
  const cycle = () => {
    if (ctx.over() || !client.open) return;
    const view = client.views[cfg.ev];
    const free = view ? freeSeats(view, range.from, range.to) : [];
    if (free.length === 0) return ctx.later(cycle, range.everyMs);
    client.operate({ t: 'hold', ev: cfg.ev, seats: [pick(ctx.platform, free)] }, (held) => {
      if (held.t !== 'ok') return ctx.later(cycle, range.everyMs);
      ctx.later(() => client.operate({ t: 'release', ev: cfg.ev, tok: held.tok }, () => ctx.later(cycle, range.everyMs / 2)), range.everyMs / 2);
    });
  };
  cycle();
}

/** The pulse range of a scenario: the last `pulseSeats` seats of the event, away from where buyers go. */
export function pulseRange(view, cfg) {
  const seatCount = view ? view.status.length : 0;
  return { from: Math.max(0, seatCount - cfg.pulseSeats), to: seatCount, everyMs: cfg.pulseEveryMs };
}
