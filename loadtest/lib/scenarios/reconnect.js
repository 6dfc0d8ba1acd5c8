/**
 * reconnect: subscribed clients drop and come back in waves. Every
 * `waveEveryMs`, a share `waveShare` of the watchers closes its connection
 * and reconnects within `rejoinMs`, resuming with epoch+seq; the resume must
 * be a small diff (or nothing) and the stream must continue with no gap.
 * The first `pulseClients` clients keep seats changing meanwhile.
 */
import { pulse, pulseRange } from '../pulse.js';
import { startClient } from '../scenario.js';

/** @type {import('../scenario.js').Scenario} */
export const reconnect = {
  name: 'reconnect',
  description: 'watchers drop and resume with epoch+seq in waves',
  defaults: {
    clients: 200,
    durationMs: 30000,
    waveEveryMs: 5000,
    waveShare: 0.5,
    /** a dropped client comes back after a random delay up to this */
    rejoinMs: 1000,
    pulseClients: 2,
    pulseSeats: 100,
    pulseEveryMs: 250,
  },
  thresholds: {
    resume_time: ['p(95)<3000'],
    resumed_by_diff: ['count>0'],
    resumed_by_snap: ['count==0'],
    seat_update_delay: ['p(95)<500'],
  },
  arrivalMs(index, cfg, random) {
    return index < cfg.pulseClients ? 0 : Math.floor(random() * Math.min(2000, cfg.waveEveryMs / 2));
  },
  run(ctx, done) {
    const { cfg, platform } = ctx;
    const client = startClient(ctx, `reconnect-${ctx.index}`, (c) => {
      if (ctx.index < cfg.pulseClients) pulse(ctx, c, pulseRange(c.views[cfg.ev], cfg));
    }, done);
    if (ctx.index < cfg.pulseClients) return;
    const finish = client.handlers.onClose;
    const wave = () => {
      if (ctx.over()) return;
      const next = () => ctx.later(wave, cfg.waveEveryMs - (platform.now() % cfg.waveEveryMs));
      if (!client.open || platform.random() >= cfg.waveShare) return next();
      // drop, come back after a jitter, resume from the kept view
      const droppedAt = platform.now();
      client.handlers.onClose = () => {
        client.handlers.onClose = finish;
        if (ctx.over()) return finish();
        ctx.later(() => {
          if (ctx.over()) return finish();
          client.handlers.onReady = (c) =>
            c.subscribe(cfg.ev, (reply) => {
              if (reply.t !== 'ok') return;
              platform.trend('resume_time', platform.now() - droppedAt);
              const served = c.lastCatchUp[cfg.ev];
              platform.count(served === 'snap' ? 'resumed_by_snap' : served === 'diff' ? 'resumed_by_diff' : 'resumed_current', 1);
            });
          client.connect();
        }, platform.random() * cfg.rejoinMs);
        next();
      };
      client.close();
    };
    ctx.later(wave, cfg.waveEveryMs - (platform.now() % cfg.waveEveryMs));
  },
};
