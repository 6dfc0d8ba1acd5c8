/**
 * Change signals, the subscriber side. Every change-log append publishes a
 * tiny message, `<epoch>:<seq>`, on the event's shard channel (SPUBLISH in
 * includes/appendChange.lua; createEvent publishes `<epoch>:0`, deleteEvent
 * `0:0`). The channel is named like the event's log key, so it carries the
 * event's hash tag: on a Redis Cluster it lives on the event's master and a
 * signal costs that master alone, never the cluster bus.
 *
 * A reader subscribes to the events it cares about and reads only the logs
 * (or outboxes) that were signalled, so its cost per change does not grow
 * with the events it watches (docs/store.md, Change signals).
 *
 * Pub/sub delivers at most once: a signal sent while the subscriber is
 * disconnected is gone. So a lost connection is reported once the
 * subscriptions are back (`onResubscribed`), and the reader then reads
 * everything it watches once; readers also keep a slow, bounded safety check
 * of their own (the hub's room check, the flusher's claim window).
 */
import type { Redis } from 'ioredis';
import { eventKeys } from './keys.js';
import { isCluster, type RedisClient } from './redis-client.js';

/** What a signal says: the event's epoch and seq after the change (epoch 0: the event was deleted). */
export interface ChangeSignal {
  epoch: number;
  seq: number;
}

/** The shard channel an event's changes are signalled on (named like its log key: the same slot). */
export function changeChannel(prefix: string, eventId: string): string {
  return eventKeys(prefix, eventId).log;
}

/**
 * The shard channel an event's outbox entries are signalled on (named like the
 * outbox key; includes/appendOutbox.lua), payload `o`: the booking flusher's, so that
 * changes without an outbox entry (holds, releases) do not wake it.
 */
export function outboxChannel(prefix: string, eventId: string): string {
  return eventKeys(prefix, eventId).outbox;
}

export function parseChangeSignal(payload: Buffer | string): ChangeSignal | null {
  const text = typeof payload === 'string' ? payload : payload.toString('latin1');
  const colon = text.indexOf(':');
  if (colon < 0) return null;
  const epoch = Number(text.slice(0, colon));
  const seq = Number(text.slice(colon + 1));
  return Number.isFinite(epoch) && Number.isFinite(seq) ? { epoch, seq } : null;
}

export interface ChangeSignalsOptions {
  /**
   * A connection of its own, given over to subscriber mode: a Redis, or a
   * Cluster client made with `shardedSubscribers: true` (one subscriber
   * connection per master).
   */
  subscriber: RedisClient;
  /** `signal` is null for a message without a change position (an outbox signal) */
  onSignal(channel: string, signal: ChangeSignal | null): void;
  /** the subscriptions are back after a lost connection: signals may have been missed meanwhile */
  onResubscribed(): void;
  onError?(err: unknown): void;
}

/** channels per SSUBSCRIBE on one Redis (a Cluster takes one slot per command) */
const CHANNELS_PER_COMMAND = 1000;

export class ChangeSignals {
  private readonly channels = new Set<string>();
  private readonly cluster: boolean;
  private lost = false;
  private readonly listeners: [string, (...args: never[]) => void][] = [];

  constructor(private readonly options: ChangeSignalsOptions) {
    const { subscriber } = options;
    this.cluster = isCluster(subscriber);
    this.on('smessageBuffer', (channel: Buffer, message: Buffer) => {
      options.onSignal(channel.toString(), parseChangeSignal(message));
    });
    if (this.cluster) {
      // a shard subscriber lost its master (a failover, a restart): ioredis subscribes again on the new owner
      this.on('-node', () => (this.lost = true));
      this.on('-subscriber', () => (this.lost = true));
      const back = () => {
        if (!this.lost) return;
        this.lost = false;
        options.onResubscribed();
      };
      this.on('+subscriber', back);
      this.on('subscribersReady', back);
    } else {
      this.on('close', () => (this.lost = true));
      this.on('ready', () => {
        if (!this.lost) return;
        this.lost = false;
        // ioredis sends the SSUBSCRIBEs again before 'ready'; a PING answered after them means they are in place
        (subscriber as Redis).ping().then(
          () => options.onResubscribed(),
          (err: unknown) => options.onError?.(err),
        );
      });
    }
  }

  private on(event: string, listener: (...args: never[]) => void): void {
    (this.options.subscriber as Redis).on(event, listener as (...args: unknown[]) => void);
    this.listeners.push([event, listener]);
  }

  get size(): number {
    return this.channels.size;
  }

  /** Subscribes to channels; resolves once Redis has confirmed, so that every later change is signalled. */
  async add(channels: readonly string[]): Promise<void> {
    const fresh = channels.filter((c) => !this.channels.has(c));
    if (fresh.length === 0) return;
    for (const c of fresh) this.channels.add(c);
    const client = this.options.subscriber as Redis;
    if (this.cluster) {
      await Promise.all(fresh.map((c) => client.ssubscribe(c)));
      return;
    }
    const sent: Promise<unknown>[] = [];
    for (let i = 0; i < fresh.length; i += CHANNELS_PER_COMMAND) sent.push(client.ssubscribe(...fresh.slice(i, i + CHANNELS_PER_COMMAND)));
    await Promise.all(sent);
  }

  remove(channel: string): void {
    if (!this.channels.delete(channel)) return;
    (this.options.subscriber as Redis).sunsubscribe(channel).catch((err: unknown) => this.options.onError?.(err));
  }

  /** Stops listening (the subscriber connection is the caller's to close). */
  close(): void {
    for (const [event, listener] of this.listeners) (this.options.subscriber as Redis).off(event, listener as (...args: unknown[]) => void);
    this.listeners.length = 0;
  }
}
