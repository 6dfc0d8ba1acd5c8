/**
 * Sales channels (presales) of an event: seats only callers carrying the
 * channel's key may hold until the channel is released (docs/store.md#sales-channels).
 * The channel lives in the event's meta hash (lua/includes/channels.lua);
 * a free seat of a channel is RESERVED (4) in the status string. This module
 * puts, reads and releases channels, checks channel keys (the JWT `chan`
 * claim is hostile input), and releases channels at their releaseAt: one
 * node-wide sorted set of pending releases (GlobalKeys.channelReleases),
 * looked at once per interval by the process that runs the background work
 * (ChannelReleaser), never a timer per event.
 */
import { isChannelKey } from './channel-keys.js';
import { SCRIPTS } from './scripts.js';
import { parseReply, refuse, refusalFrom, type OpResult } from './results.js';
import { RepeatingTask } from './repeating-task.js';
import type { SeatStore } from './seat-store.js';

export { CHANNEL_KEY, MAX_CHANNEL_KEYS, MAX_CHANNELS, isChannelKey, parseChannelClaim, channelArg } from './channel-keys.js';

export interface Channel {
  key: string;
  /** the channel's seats, ascending: reserved, or held and booked by its members */
  seats: number[];
  /** when its still-free seats go on sale (ms), null for none */
  releaseAt: number | null;
}

export interface PutChannelResult {
  seq: number;
  /** the channel's seats after the call */
  seats: number[];
  /** listed seats left as they were: held, booked, blocked or another channel's */
  skipped: number[];
}

/** Ascending distinct seats as "a-b,c" runs (the scripts' seat argument). */
export function seatRuns(seats: readonly number[]): string {
  const sorted = [...new Set(seats)].sort((a, b) => a - b);
  const parts: string[] = [];
  for (let i = 0; i < sorted.length; ) {
    let j = i;
    while (j + 1 < sorted.length && sorted[j + 1] === sorted[j]! + 1 && sorted[i]! >= 0) j++;
    parts.push(i === j ? String(sorted[i]) : `${sorted[i]}-${sorted[j]}`);
    i = j + 1;
  }
  return parts.join(',');
}

/** Flat [first, last, first, last, ...] runs of ascending seats (the overlay message's form). */
export function runsOf(sorted: readonly number[]): number[] {
  const runs: number[] = [];
  for (const seat of sorted) {
    if (runs.length > 0 && runs[runs.length - 1] === seat - 1) runs[runs.length - 1] = seat;
    else runs.push(seat, seat);
  }
  return runs;
}

function releaseMember(eventId: string, key: string, releaseAt: number): string {
  return `${eventId}/${key}/${releaseAt}`;
}

export class Channels {
  constructor(private readonly store: SeatStore) {}

  /**
   * Creates or replaces a channel (channelPut-3.lua): free seats of `seats`
   * turn reserved; `releaseAt` (ms) schedules their release. One change-log entry.
   */
  async put(eventId: string, key: string, seats: readonly number[], releaseAt: number | null): Promise<OpResult<PutChannelResult>> {
    if (!isChannelKey(key)) return refuse('BAD_REQUEST');
    if (!seats.every((s) => Number.isSafeInteger(s)) || seats.length > 250_000) return refuse('BAD_REQUEST');
    if (releaseAt !== null && (!Number.isSafeInteger(releaseAt) || releaseAt <= 0)) return refuse('BAD_REQUEST');
    const reply = await this.store.scripts.run(SCRIPTS.channelPut, this.store.keys(eventId), {
      now: await this.scriptNow(),
      key,
      seats: seatRuns(seats),
      releaseAt: releaseAt ?? 0,
    });
    const { status, rest } = parseReply(reply);
    if (status !== 'OK') return refusalFrom(status, rest);
    if (releaseAt !== null) await this.store.redis.zadd(this.store.global.channelReleases, releaseAt, releaseMember(eventId, key, releaseAt));
    const list = (v: unknown) => (Array.isArray(v) ? v.map(Number) : []);
    return { ok: true, seq: Number(rest[0]), seats: list(rest[1]), skipped: list(rest[2]) };
  }

  /**
   * Releases a channel now (a delete: `releaseAt` absent) or at its due
   * releaseAt: its reserved seats go on sale in one change-log entry.
   * NOT_FOUND when there is no such channel (or it was put again with another releaseAt).
   */
  async release(eventId: string, key: string, releaseAt?: number): Promise<OpResult<{ seq: number; released: number }>> {
    if (!isChannelKey(key)) return refuse('BAD_REQUEST');
    const reply = await this.store.scripts.run(SCRIPTS.channelRelease, this.store.keys(eventId), {
      now: await this.scriptNow(),
      key,
      releaseAt: releaseAt ?? '',
    });
    const { status, rest } = parseReply(reply);
    if (status !== 'OK') return refusalFrom(status, rest);
    return { ok: true, seq: Number(rest[0]), released: Number(rest[1]) };
  }

  /** One channel as Redis has it; null when there is none. */
  async get(eventId: string, key: string): Promise<Channel | null> {
    if (!isChannelKey(key)) return null;
    const raw = await this.store.redis.hget(this.store.keys(eventId).meta, `ch:${key}`);
    return raw === null ? null : channelOf(key, raw);
  }

  /** Every channel of the event, in creation order (one HGET and one HMGET). */
  async list(eventId: string): Promise<Channel[]> {
    const meta = this.store.keys(eventId).meta;
    const keys = ((await this.store.redis.hget(meta, 'chl')) ?? '').split(',').filter(Boolean);
    if (keys.length === 0) return [];
    const raws = await this.store.redis.hmget(meta, ...keys.map((k) => `ch:${k}`));
    return keys.flatMap((k, i) => (raws[i] ? [channelOf(k, raws[i]!)] : []));
  }

  /** The seats of those of `keys` the event has, ascending (a member's overlay); [] for none. */
  async seatsOf(eventId: string, keys: readonly string[]): Promise<{ keys: string[]; seats: number[] }> {
    const wanted = keys.filter(isChannelKey);
    if (wanted.length === 0) return { keys: [], seats: [] };
    const raws = await this.store.redis.hmget(this.store.keys(eventId).meta, ...wanted.map((k) => `ch:${k}`));
    const found: string[] = [];
    const seats: number[] = [];
    wanted.forEach((k, i) => {
      if (!raws[i]) return;
      found.push(k);
      seats.push(...channelOf(k, raws[i]!).seats);
    });
    return { keys: found, seats: seats.sort((a, b) => a - b) };
  }

  /**
   * Releases the channels whose releaseAt has come (at most `limit`), each
   * in its own script; a member is removed once its release ran or found
   * nothing to do, so several processes running this at once release each
   * channel once. Returns the releases done.
   */
  async releaseDue(now: number, limit = 100): Promise<{ eventId: string; key: string; seq: number; released: number }[]> {
    const index = this.store.global.channelReleases;
    const due = await this.store.redis.zrangebyscore(index, '-inf', now, 'LIMIT', 0, limit);
    const done: { eventId: string; key: string; seq: number; released: number }[] = [];
    for (const member of due) {
      const [eventId, key, at] = member.split('/');
      if (eventId && key && at) {
        const r = await this.release(eventId, key, Number(at)).catch(() => null);
        if (r === null) continue; // Redis did not answer: the member stays for the next round
        if (r.ok) done.push({ eventId, key, seq: r.seq, released: r.released });
      }
      await this.store.redis.zrem(index, member);
    }
    return done;
  }

  /** Re-schedules the releases of restored channels (a rebuild: Redis lost the index with the event). */
  async schedule(eventId: string, channels: readonly { key: string; releaseAt?: number | null }[]): Promise<void> {
    for (const c of channels) {
      if (c.releaseAt) await this.store.redis.zadd(this.store.global.channelReleases, c.releaseAt, releaseMember(eventId, c.key, c.releaseAt));
    }
  }

  private async scriptNow(): Promise<string | number> {
    return this.store.scriptNow();
  }
}

function channelOf(key: string, raw: string): Channel {
  const c = JSON.parse(raw) as { r?: number; s?: unknown };
  return { key, seats: Array.isArray(c.s) ? c.s.map(Number) : [], releaseAt: c.r ? Number(c.r) : null };
}

export interface ChannelReleaserOptions {
  /** how often to look for due releases (ms); default 1000 */
  intervalMs?: number;
  /** the time to compare releaseAt with; default the store's */
  now?: () => Promise<number>;
  onReleased?: (r: { eventId: string; key: string; seq: number; released: number }) => void;
  onError?: (err: unknown) => void;
}

/**
 * Runs Channels.releaseDue every interval: one ZRANGEBYSCORE of one global
 * key per interval at rest, whatever the number of events and channels.
 * Run by the process holding the background lease (gateway/node.ts); safe
 * to run in several at once.
 */
export class ChannelReleaser {
  private readonly channels: Channels;
  private readonly task = new RepeatingTask(() => this.tick());

  constructor(private readonly store: SeatStore, private readonly options: ChannelReleaserOptions = {}) {
    this.channels = new Channels(store);
  }

  start(): void {
    this.task.start();
  }

  stop(): Promise<void> {
    return this.task.stop();
  }

  private async tick(): Promise<number> {
    try {
      const now = this.options.now ? await this.options.now() : await this.store.now();
      for (const r of await this.channels.releaseDue(now)) this.options.onReleased?.(r);
    } catch (err) {
      this.options.onError?.(err);
    }
    return this.options.intervalMs ?? 1000;
  }
}
