/**
 * The durable side of a gateway process: the Postgres migrations (retried
 * until they succeed), this node's booking flusher (outbox → Postgres), the
 * commit watcher that `book` acks wait on, the lost-event recovery, and the
 * lifecycle's background work: unpaid checkouts expired at their payBy, seat
 * releases Redis missed applied again, webhook deliveries, with their
 * metrics. None of it blocks start-up: while Postgres is unreachable, holds
 * and books go on in Redis, acks wait (PENDING after the timeout), and the
 * migrations are retried. docs/bookings.md describes the whole path.
 */
import { randomUUID } from 'node:crypto';
import { hostname } from 'node:os';
import type pg from 'pg';
import type { Logger } from 'pino';
import { CommitWatcher } from '../core/bookings/commits.js';
import { BookingFlusher, DeadLetterError } from '../core/bookings/flusher.js';
import { migrate } from '../core/bookings/migrate.js';
import { PaymentExpiry } from '../core/bookings/payment-expiry.js';
import { EventRecovery } from '../core/bookings/recovery.js';
import { FailoverRepair } from '../core/bookings/failover-repair.js';
import { SeatReleases } from '../core/bookings/seat-releases.js';
import { WebhookDelivery } from '../core/bookings/webhook-delivery.js';
import type { RedisClient, SeatStore } from '../core/store/index.js';
import type { GatewayConfig } from './config.js';
import type { GatewayMetrics } from './metrics.js';

/** how long a quiet booking flusher round waits for a change signal before it looks at the registry and the claim window again */
const FLUSHER_BLOCK_MS = 250;

export interface Bookings {
  commits: CommitWatcher;
  recovery: EventRecovery;
  /** resolves once the schema is migrated (true), or false if stopped first */
  migrated: Promise<boolean>;
  /**
   * The background work (the flusher, the lost-event check, the lifecycle
   * timers), once migrated: started at once, or, with `elected`, only while
   * start() is in force (this process holds the background lease).
   */
  background: { start(): void; stop(): Promise<void> };
  stop(): Promise<void>;
}

/**
 * The durable side: migrations, then this node's flusher (outbox -> Postgres)
 * and the lost-event recovery; the commit watcher that `book` acks wait on
 * starts at once. None of it blocks start-up: while Postgres is unreachable,
 * holds and books go on in Redis, acks wait (PENDING after the timeout), and
 * the migrations are retried until they succeed.
 */
export function startBookings(
  config: GatewayConfig,
  logger: Logger,
  metrics: GatewayMetrics,
  store: SeatStore,
  redis: RedisClient,
  pool: pg.Pool,
  options: { elected?: boolean } = {},
): Bookings {
  const log = logger.child({ component: 'bookings' });
  const commits = new CommitWatcher({
    databaseUrl: config.databaseUrl,
    pool,
    onError: (err) => log.debug({ err }, 'commit watcher: postgres unreachable'),
  });
  commits.start();
  const flusher = config.bookings.flusher
    ? new BookingFlusher({
        redis,
        pool,
        prefix: config.keyPrefix,
        consumer: `${hostname()}:${process.pid}:${randomUUID().slice(0, 8)}`,
        batchSize: config.bookings.flushBatchSize,
        // a new event is announced; the short look at the registry's size (one SCARD) catches a lost announcement
        blockMs: FLUSHER_BLOCK_MS,
        refreshMs: 250,
        onCommitted: (committed) => {
          metrics.flushCommits.inc();
          commits.committed(committed);
        },
        onError: (err) => {
          if (err instanceof DeadLetterError) {
            metrics.deadLetters.inc({ code: err.code ?? 'malformed' });
            if (err.bookingId && err.code) commits.refused(err.bookingId, err.code);
            log.error({ err, stream: err.stream, entry: err.entryId, code: err.code }, 'outbox entry refused by postgres, moved to the dead-letter stream');
          } else if (err instanceof Error && /NOGROUP|no longer exists/.test(err.message)) {
            log.info({ err: err.message }, 'an outbox vanished (event deleted or Redis lost it); reading the registry again');
          } else {
            log.warn({ err }, 'booking flush failed; retrying');
          }
        },
      })
    : null;
  let lastInserted = 0;
  let ticks = 0;
  const reportFlusher = setInterval(() => {
    if (!flusher) return;
    metrics.flushedBookings.inc(flusher.stats.inserted - lastInserted);
    lastInserted = flusher.stats.inserted;
    // one XLEN per outbox read since the last look: every 5 s is plenty for a gauge
    if (++ticks % 5 === 0) flusher.backlog().then((n) => metrics.outboxBacklog.set(n), () => undefined);
  }, 1000);
  reportFlusher.unref();
  const recovery = new EventRecovery({
    pool,
    store,
    intervalMs: config.bookings.rebuildCheckMs,
    onRebuilt: (eventId, outcome) => {
      metrics.eventsRebuilt.inc();
      log.warn({ eventId, ...outcome }, 'event rebuilt from postgres after redis lost it');
    },
    onError: (err, eventId) => log.warn({ err, eventId }, 'event recovery failed; retrying'),
  });
  const lifecycle = startLifecycleTasks(config, log, metrics, store, pool);
  // Redis gone back (a failover, a restart from an older snapshot): booked seats repaired from Postgres, new epochs
  const failover = new FailoverRepair({
    pool,
    store,
    intervalMs: config.bookings.rebuildCheckMs,
    onIdentityChanged: (nodes) => log.warn({ nodes }, 'redis has a new identity (a failover or a restart): writes may be lost; checking every event against postgres'),
    onRepaired: (eventId, repair) => {
      metrics.eventsRepaired.inc({ kind: repair.kind });
      log.warn({ eventId, ...repair }, repair.kind === 'rebuilt' ? 'redis had lost bookings postgres committed: event rebuilt from postgres' : 'redis may have gone back: event given a new epoch');
    },
    onError: (err, eventId) => log.warn({ err, eventId }, 'failover check failed; retrying'),
  });

  let stopped = false;
  let migratedYet = false;
  // wanted: the background work should run (always, or while elected); running: it does
  let wanted = !options.elected;
  let running = false;
  const startBackground = () => {
    if (running || !wanted || !migratedYet || stopped) return;
    flusher?.start();
    recovery.start();
    failover.start();
    lifecycle.start();
    running = true;
  };
  const stopBackground = async () => {
    if (!running) return;
    running = false;
    await lifecycle.stop();
    await failover.stop();
    await recovery.stop();
    await flusher?.stop();
  };
  let wakeUp: (() => void) | null = null;
  const ready = (async () => {
    for (let delay = 500; !stopped; delay = Math.min(delay * 2, 10_000)) {
      try {
        const applied = await migrate(pool);
        if (applied.length > 0) log.info({ applied }, 'database migrated');
        break;
      } catch (err) {
        log.warn({ err, retryInMs: delay }, 'cannot migrate the database yet');
        await new Promise<void>((resolve) => {
          const timer = setTimeout(resolve, delay);
          wakeUp = () => {
            clearTimeout(timer);
            resolve();
          };
        });
      }
    }
    if (stopped) return false;
    migratedYet = true;
    startBackground();
    return true;
  })();

  return {
    commits,
    recovery,
    migrated: ready,
    background: {
      start() {
        wanted = true;
        startBackground();
      },
      async stop() {
        wanted = false;
        await stopBackground();
      },
    },
    async stop() {
      stopped = true;
      (wakeUp as (() => void) | null)?.();
      await ready;
      clearInterval(reportFlusher);
      await lifecycle.stop();
      await failover.stop();
      await recovery.stop();
      await flusher?.stop();
      await commits.stop();
    },
  };
}

/** The lifecycle's background work, started once the schema is migrated: payment-window expiry, seat releases left behind, webhook delivery. */
function startLifecycleTasks(config: GatewayConfig, log: Logger, metrics: GatewayMetrics, store: SeatStore, pool: pg.Pool) {
  const expiry = new PaymentExpiry({
    pool,
    store,
    intervalMs: config.lifecycle.expiryCheckMs,
    onExpired: (expired) => {
      metrics.paymentsExpired.inc(expired.length);
      log.info({ expired: expired.length, bookings: expired.slice(0, 20).map((e) => e.id) }, 'unpaid checkouts expired, seats freed');
    },
    onError: (err) => log.warn({ err }, 'payment expiry failed; retrying'),
  });
  const releases = new SeatReleases({
    pool,
    store,
    intervalMs: config.lifecycle.releaseRetryMs,
    onApplied: (count) => {
      metrics.seatReleasesRetried.inc(count);
      log.info({ count }, 'seat releases applied in redis after a delay');
    },
    onError: (err) => log.warn({ err }, 'seat release in redis failed; retrying'),
  });
  const webhooks = config.webhooks.enabled
    ? new WebhookDelivery({
        pool,
        consumer: `${hostname()}:${process.pid}:${randomUUID().slice(0, 8)}`,
        ...config.webhooks,
        onResult: (result) => metrics.webhookDeliveries.inc({ result }),
        onError: (err) => log.warn({ err }, 'webhook delivery pass failed; retrying'),
      })
    : null;
  return {
    start() {
      expiry.start();
      releases.start();
      webhooks?.start();
    },
    async stop() {
      await webhooks?.stop();
      await expiry.stop();
      await releases.stop();
    },
  };
}
