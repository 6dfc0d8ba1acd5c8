/**
 * The gateway a load run starts for itself (`npm run load` without --url):
 * a gateway process on its own key prefix with a fresh demo event, and its
 * removal at the run's end. The event is deleted on purpose while the gateway
 * still runs (core/bookings/delete-event.ts, what DELETE /events/:id does, so
 * the gateway's lost-event recovery does not bring it back); once the gateway
 * has stopped, the event's durable record (its row, bookings, history) is
 * purged from Postgres, since nothing but this run ever knew the event, and
 * the prefix's remaining Redis keys go. A load run leaves nothing behind.
 */
import { randomBytes } from 'node:crypto';
import { Redis } from 'ioredis';
import pg from 'pg';
import { deleteEvent } from '../../core/bookings/delete-event.js';
import { SeatStore, deleteKeysByPrefix } from '../../core/store/index.js';
import { startGatewayProcess, type GatewayProcess } from './gateway-process.js';

export interface OwnGateway {
  gateway: GatewayProcess;
  prefix: string;
  eventId: string;
  /** the scenario settings that point the clients at it (URL, JWT_SECRET, EV) */
  env: { URL: string; JWT_SECRET: string; EV: string };
  /** Deletes the event (Redis and Postgres), stops the gateway and removes the prefix's keys. */
  remove(): Promise<void>;
}

export async function startOwnGateway(services: { redisUrl: string; databaseUrl: string }, log: (msg: string) => void = () => undefined): Promise<OwnGateway> {
  const runId = randomBytes(4).toString('hex');
  const prefix = `load:${runId}:`;
  // bookings live in Postgres by event id, beyond the key prefix: a fresh event per run
  const eventId = `load-${runId}`;
  const secret = randomBytes(16).toString('hex');
  log(`starting a gateway (key prefix ${prefix}, event ${eventId}) ...`);
  const gateway = await startGatewayProcess({
    REDIS_URL: services.redisUrl,
    DATABASE_URL: services.databaseUrl,
    KEY_PREFIX: prefix,
    PORT: '0',
    JWT_SECRET: secret,
    DEMO: '1',
    DEMO_EVENT_ID: eventId,
  });
  let removed: Promise<void> | undefined;
  return {
    gateway,
    prefix,
    eventId,
    env: { URL: gateway.wsUrl, JWT_SECRET: secret, EV: eventId },
    remove() {
      removed ??= removeOwnEvent(gateway, services, prefix, eventId, log);
      return removed;
    },
  };
}

async function removeOwnEvent(gateway: GatewayProcess, services: { redisUrl: string; databaseUrl: string }, prefix: string, eventId: string, log: (msg: string) => void): Promise<void> {
  const redis = new Redis(services.redisUrl, { maxRetriesPerRequest: 3 });
  const pool = new pg.Pool({ connectionString: services.databaseUrl, max: 1 });
  try {
    try {
      await deleteEvent(pool, new SeatStore({ redis, prefix }), eventId);
    } finally {
      await gateway.stop();
    }
    await purgeDurableRecord(pool, eventId);
    await deleteKeysByPrefix(redis, prefix);
    log(`removed event ${eventId} and the keys under ${prefix}`);
  } finally {
    await pool.end();
    redis.disconnect();
  }
}

/** Removes every row of the event from the bookings schema (core/bookings/migrations), in one transaction. */
async function purgeDurableRecord(pool: pg.Pool, eventId: string): Promise<void> {
  const client = await pool.connect();
  try {
    await client.query('BEGIN');
    await client.query('DELETE FROM booking_history WHERE booking_id IN (SELECT id FROM bookings WHERE event_id = $1)', [eventId]);
    // children before parents: deliveries reference log entries, check-ins and booked seats reference bookings
    const tables = ['webhook_deliveries', 'event_log', 'event_log_heads', 'seat_checkins', 'seat_releases', 'booked_seats', 'seat_changes', 'blocked_seats', 'bookings', 'events'];
    for (const table of tables) {
      await client.query(`DELETE FROM ${table} WHERE ${table === 'events' ? 'id' : 'event_id'} = $1`, [eventId]);
    }
    await client.query('COMMIT');
  } catch (err) {
    await client.query('ROLLBACK').catch(() => undefined);
    throw err;
  } finally {
    client.release();
  }
}
