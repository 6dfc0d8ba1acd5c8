/**
 * Webhook subscriptions (admin API): a URL, the event types it wants (or
 * `*`), and the secret its deliveries are signed with. A subscription gets
 * the log entries written after it was registered (each transaction that
 * appends to the log writes one delivery per subscription wanting the entry,
 * webhook-delivery.ts sends them). Deliveries that were retried for the whole
 * retry window are parked: listed here, and queued again by `replayParked`.
 *
 * The gateway connects to whatever URL an admin registers (only the scheme is
 * checked: http or https), so restrict where gateway processes may connect at
 * the network level if admins are not trusted with that.
 */
import { randomUUID } from 'node:crypto';
import type pg from 'pg';
import { textProblem } from '../text.js';
import { LOG_EVENT_TYPES, isLogEventType } from './event-log.js';

export const WEBHOOK_LIMITS = { maxUrlLength: 2048, minSecretLength: 16, maxSecretLength: 256 } as const;

export interface Webhook {
  id: string;
  url: string;
  /** event types, or `['*']` for all */
  events: string[];
  createdAt: string;
  createdBy: string | null;
  /** deliveries waiting (or being retried), and parked ones */
  pending: number;
  parked: number;
}

export interface NewWebhook {
  url: string;
  events: string[];
  secret: string;
}

/** The subscription a request body asks for, or why it is not one. */
export function parseWebhook(body: unknown): NewWebhook | string {
  if (body === null || typeof body !== 'object' || Array.isArray(body)) return 'the body must be JSON {"url", "events", "secret"}';
  const { url, events, secret } = body as Record<string, unknown>;
  const urlProblem = textProblem(url, WEBHOOK_LIMITS.maxUrlLength);
  if (urlProblem) return `url ${urlProblem}`;
  let parsed: URL;
  try {
    parsed = new URL(url as string);
  } catch {
    return 'url is not an absolute URL';
  }
  if (parsed.protocol !== 'http:' && parsed.protocol !== 'https:') return 'url must be http or https';
  if (/\s/.test(url as string)) return 'url must not contain white space';
  if (!Array.isArray(events) || events.length === 0 || events.length > LOG_EVENT_TYPES.length) {
    return `events must be a non-empty array of event types (${LOG_EVENT_TYPES.join(', ')}) or ["*"]`;
  }
  const unknown = events.filter((e) => e !== '*' && !isLogEventType(e));
  if (unknown.length > 0) return `unknown event types: ${unknown.map((e) => JSON.stringify(e)).join(', ').slice(0, 200)}`;
  const secretProblem = textProblem(secret, WEBHOOK_LIMITS.maxSecretLength, WEBHOOK_LIMITS.minSecretLength);
  if (secretProblem) return `secret ${secretProblem}`;
  return { url: parsed.href, events: [...new Set(events as string[])].sort(), secret: secret as string };
}

interface WebhookRow {
  id: string;
  url: string;
  events: string[];
  created_at: Date;
  created_by: string | null;
  pending: number;
  parked: number;
}

const toWebhook = (r: WebhookRow): Webhook => ({
  id: r.id,
  url: r.url,
  events: r.events,
  createdAt: r.created_at.toISOString(),
  createdBy: r.created_by,
  pending: r.pending,
  parked: r.parked,
});

const WEBHOOK_SELECT = `SELECT w.id::text AS id, w.url, w.events, w.created_at, w.created_by,
    (SELECT count(*)::int FROM webhook_deliveries d WHERE d.webhook_id = w.id AND d.state = 'pending') AS pending,
    (SELECT count(*)::int FROM webhook_deliveries d WHERE d.webhook_id = w.id AND d.state = 'parked') AS parked
  FROM webhooks w`;

export async function createWebhook(pool: pg.Pool, hook: NewWebhook, by: string | null): Promise<Webhook> {
  const id = randomUUID();
  await pool.query('INSERT INTO webhooks (id, url, events, secret, created_by) VALUES ($1, $2, $3::text[], $4, $5)', [id, hook.url, hook.events, hook.secret, by]);
  return (await getWebhook(pool, id))!;
}

export async function listWebhooks(pool: pg.Pool): Promise<Webhook[]> {
  return (await pool.query<WebhookRow>(`${WEBHOOK_SELECT} ORDER BY w.created_at, w.id`)).rows.map(toWebhook);
}

export async function getWebhook(pool: pg.Pool, id: string): Promise<Webhook | null> {
  const row = (await pool.query<WebhookRow>(`${WEBHOOK_SELECT} WHERE w.id = $1::uuid`, [id])).rows[0];
  return row ? toWebhook(row) : null;
}

/** Removes the subscription and its deliveries (sent or not); false when there was none. */
export async function deleteWebhook(pool: pg.Pool, id: string): Promise<boolean> {
  return ((await pool.query('DELETE FROM webhooks WHERE id = $1::uuid', [id])).rowCount ?? 0) > 0;
}

export type DeliveryState = 'pending' | 'delivered' | 'parked';

export interface Delivery {
  eventId: string;
  seq: number;
  /** the log entry's id (`Seatmap-Id`) and type */
  id: string;
  type: string;
  state: DeliveryState;
  attempts: number;
  queuedAt: string;
  nextAttemptAt: string | null;
  lastStatus: number | null;
  lastError: string | null;
  deliveredAt: string | null;
  parkedAt: string | null;
}

interface DeliveryRow {
  event_id: string;
  seq: string;
  id: string;
  type: string;
  state: DeliveryState;
  attempts: number;
  queued_at: Date;
  next_attempt_at: Date;
  last_status: number | null;
  last_error: string | null;
  delivered_at: Date | null;
  parked_at: Date | null;
}

/** A webhook's deliveries in one state, oldest first, at most `limit`. */
export async function listDeliveries(pool: pg.Pool, webhookId: string, state: DeliveryState, limit: number): Promise<Delivery[]> {
  const res = await pool.query<DeliveryRow>(
    `SELECT d.event_id, d.seq, l.id::text AS id, l.type, d.state, d.attempts, d.queued_at, d.next_attempt_at, d.last_status, d.last_error, d.delivered_at, d.parked_at
       FROM webhook_deliveries d JOIN event_log l ON l.event_id = d.event_id AND l.seq = d.seq
      WHERE d.webhook_id = $1::uuid AND d.state = $2
      ORDER BY d.queued_at, d.event_id, d.seq LIMIT $3`,
    [webhookId, state, limit],
  );
  return res.rows.map((r) => ({
    eventId: r.event_id,
    seq: Number(r.seq),
    id: r.id,
    type: r.type,
    state: r.state,
    attempts: r.attempts,
    queuedAt: r.queued_at.toISOString(),
    nextAttemptAt: r.state === 'pending' ? r.next_attempt_at.toISOString() : null,
    lastStatus: r.last_status,
    lastError: r.last_error,
    deliveredAt: r.delivered_at ? r.delivered_at.toISOString() : null,
    parkedAt: r.parked_at ? r.parked_at.toISOString() : null,
  }));
}

/** Queues every parked delivery of the webhook again, with a fresh retry window; resolves to how many. */
export async function replayParked(pool: pg.Pool, webhookId: string): Promise<number> {
  const res = await pool.query(
    `UPDATE webhook_deliveries SET state = 'pending', attempts = 0, queued_at = now(), next_attempt_at = now(), parked_at = NULL,
            claimed_by = NULL, claimed_until = NULL
      WHERE webhook_id = $1::uuid AND state = 'parked'`,
    [webhookId],
  );
  return res.rowCount ?? 0;
}
