/**
 * The Redis seat store: every seat operation of an event is one atomic Lua
 * script over keys of one hash slot. Inputs are checked first (inputs.ts), so
 * that a malformed call is refused without a round trip, and the scripts check
 * again. Its input and result types are in store-types.ts. Some 650 lines:
 * the class is the store's whole API, some twenty operations (holds named,
 * best-available and GA, swap, release, extend, book, checkout, box-office
 * sales, block, expiry, snapshots, the change log, events), one short method
 * each that checks its input, runs its script and reads the reply.
 */
import { randomUUID } from 'node:crypto';
import { eventKeys, globalKeys, type EventKeys, type GlobalKeys } from './keys.js';
import { isCluster, type RedisClient } from './redis-client.js';
import { loadScripts, ScriptRunner } from './script-loader.js';
import { SCRIPTS, type ScriptArgs, type ScriptDef, type ScriptKeys } from './scripts.js';
import { parseReply, refusalFrom, refuse, type OpResult, type Refusal } from './results.js';
import { channelArg } from './channel-keys.js';
import { checkBulkSeats, checkGa, checkHolder, checkKey, checkSeats, checkStoredKey, checkToken, gaArg, newToken, statusBytesChecked, validRules, type HoldRules } from './inputs.js';

export { STORE_LIMITS, type HoldRules } from './inputs.js';
import { decodeChangeEntry } from './change-log.js';
import {
  DEFAULT_PAYMENT_WINDOW_MS,
  type AreaCounters,
  type BulkStatesResult,
  type ChangesSince,
  type CreateEventInput,
  type EventMeta,
  type ExpireResult,
  type GaQuantities,
  type HoldBestInput,
  type HoldInput,
  type ReleaseInput,
  type RestoredBooking,
  type SeatStoreOptions,
  type Snapshot,
  type SwapInput,
  type TokenInput,
} from './store-types.js';

export * from './store-types.js';

const DEFAULT_LOG_MAX_LEN = 10_000;
interface CachedKeys {
  event: EventKeys;
  withIndex: EventKeys & GlobalKeys;
}

/** events whose keys are kept built; past it the cache starts over */
const KEY_CACHE_LIMIT = 10_000;

export class SeatStore {
  readonly redis: RedisClient;
  readonly prefix: string;
  readonly scripts: ScriptRunner;
  readonly global: GlobalKeys;
  /** the runners holder operations are spread over: `scripts` first, then one per extra connection */
  private readonly holderRunners: ScriptRunner[];
  private readonly clock: (() => number) | undefined;
  private readonly logMaxLen: number;
  private readonly isCluster: boolean;
  private readonly keyCache = new Map<string, CachedKeys>();
  private readonly holderRate: SeatStoreOptions['holderRate'];

  constructor(options: SeatStoreOptions) {
    this.redis = options.redis;
    this.prefix = options.prefix ?? 'seatmap:';
    this.clock = options.clock;
    this.logMaxLen = options.logMaxLen ?? DEFAULT_LOG_MAX_LEN;
    this.scripts = new ScriptRunner(this.redis);
    this.holderRunners = [this.scripts, ...(options.connections ?? []).map((c) => new ScriptRunner(c))];
    this.global = globalKeys(this.prefix);
    this.isCluster = isCluster(this.redis);
    this.holderRate = options.holderRate;
  }

  /** The gate's trailing arguments (lua/includes/gate.lua). */
  private gate(exempt: boolean | undefined): { exempt: number; ratePerSec: number | string; rateBurst: number | string } {
    const rate = this.holderRate;
    return { exempt: exempt ? 1 : 0, ratePerSec: rate ? rate.perSecond : '', rateBurst: rate ? rate.burst : '' };
  }

  /** The runner for a holder's operations: the same one for every call of that holder. */
  runnerFor(holder: string): ScriptRunner {
    const runners = this.holderRunners;
    return runners.length === 1 ? runners[0]! : runners[fnv1a(holder) % runners.length]!;
  }

  /**
   * Runs a script: an `OK` reply goes to `onOk` (the values after `OK`), any
   * other status is the catalogue refusal it names.
   */
  private async call<S extends ScriptDef, R extends { readonly ok: true }>(
    runner: ScriptRunner,
    def: S,
    keys: ScriptKeys<S>,
    args: ScriptArgs<S>,
    onOk: (rest: unknown[]) => R | Promise<R>,
  ): Promise<R | Refusal> {
    const { status, rest } = parseReply(await runner.run(def, keys, args));
    return status === 'OK' ? onOk(rest) : refusalFrom(status, rest);
  }

  /** Whether the Redis script cache holds every script (readiness); false after a SCRIPT FLUSH until the next call or preload. */
  async scriptsLoaded(): Promise<boolean> {
    const found = (await this.redis.script('EXISTS', ...[...loadScripts().values()].map((s) => s.sha))) as number[];
    return found.every((f) => f === 1);
  }

  /** The event's keys, built once per event (they are on every call's hot path). */
  keys(eventId: string): EventKeys {
    return this.cachedKeys(eventId).event;
  }

  /** The event's keys plus the sweep index, as holdIndexed needs them. */
  private keysWithIndex(eventId: string): EventKeys & GlobalKeys {
    return this.cachedKeys(eventId).withIndex;
  }

  private cachedKeys(eventId: string): CachedKeys {
    let keys = this.keyCache.get(eventId);
    if (!keys) {
      if (this.keyCache.size >= KEY_CACHE_LIMIT) this.keyCache.clear();
      const event = eventKeys(this.prefix, eventId);
      keys = { event, withIndex: { ...event, ...this.global } };
      this.keyCache.set(eventId, keys);
    }
    return keys;
  }

  /** The time the store works with: the test clock, else the Redis server clock. */
  async now(): Promise<number> {
    if (this.clock) return this.clock();
    const [seconds, micros] = await this.redis.time();
    return Number(seconds) * 1000 + Math.floor(Number(micros) / 1000);
  }

  /** What the scripts get as `now`: '' lets them read the Redis clock. */
  scriptNow(): string | number {
    return this.clock ? this.clock() : '';
  }

  async createEvent(input: CreateEventInput): Promise<OpResult<{ epoch: number }>> {
    const { eventId, seatCount, rules } = input;
    if (!Number.isSafeInteger(seatCount) || seatCount < 1 || !validRules(rules)) return refuse('BAD_REQUEST');
    if (input.areaCapacities && !input.areaCapacities.every((c) => Number.isSafeInteger(c) && c >= 1)) return refuse('BAD_REQUEST');
    const epoch = input.epoch ?? (this.clock ? this.clock() : Date.now());
    await this.redis.sadd(this.global.events, eventId);
    return this.call(this.scripts, SCRIPTS.createEvent, this.keys(eventId), {
      seatCount,
      epoch,
      holdTtlMs: rules.holdTtlMs,
      maxHoldLifetimeMs: rules.maxHoldLifetimeMs,
      maxSeatsPerToken: rules.maxSeatsPerToken,
      maxSeatsPerHolder: rules.maxSeatsPerHolder,
      logMaxLen: this.logMaxLen,
      layoutJson: JSON.stringify(input.layout ?? null),
      now: this.scriptNow(),
      status: input.status ? Buffer.from(statusBytesChecked(input.status)).toString('latin1') : '',
      bookingRecords: input.bookings && input.bookings.length > 0 ? JSON.stringify(input.bookings.flatMap(bookingRecord)) : '',
      paymentWindowMs: rules.paymentWindowMs ?? '',
      geometry: input.geometry ? input.geometry.bytes : '',
      areas: (input.areaCapacities ?? []).join(','),
      areasBooked: (input.areasBooked ?? []).flatMap((q, a) => (q > 0 ? [`${a}:${q}`] : [])).join(','),
      areasBlocked: (input.areasBlocked ?? []).flatMap((q, a) => (q > 0 ? [`${a}:${q}`] : [])).join(','),
      channels: input.channels && input.channels.length > 0 ? JSON.stringify(input.channels.map((c) => [c.key, c.releaseAt ?? 0, c.seats])) : '',
    }, async (rest) => {
      // announced on the registry's channel: booking flushers start reading the new outbox at once
      await this.redis.publish(this.global.events, eventId);
      return { ok: true as const, epoch: Number(rest[0]) };
    });
  }

  /** Removes every key of an event, its dead letters included (admin and tests). */
  async deleteEvent(eventId: string): Promise<void> {
    await this.redis.del(...Object.values(this.keys(eventId)));
    await this.redis.srem(this.global.events, eventId);
    await this.redis.zrem(this.global.sweepIndex, eventId);
    await this.redis.srem(this.global.queues, eventId);
    // rooms and flushers listening to the event learn of it at once (core/store/change-signals.ts)
    await this.redis.spublish(this.keys(eventId).log, '0:0');
  }

  async hold(input: HoldInput): Promise<OpResult<{ token: string; expiresAt: number; seq: number }>> {
    const withGa = input.ga !== undefined && input.ga.length > 0;
    const bad = checkHolder(input.holder) ?? checkSeats(input.seats, withGa) ?? (input.ga !== undefined ? checkGa(input.ga) : undefined) ?? (input.token !== undefined ? checkToken(input.token) : undefined);
    if (bad) return bad;
    const token = input.token ?? newToken();
    const args = { now: this.scriptNow(), holder: input.holder, token, create: input.token === undefined ? 1 : 0, seats: input.seats.join(','), accessible: input.accessible ? 1 : 0, ...this.gate(input.exempt), ga: gaArg(input.ga), chan: channelArg(input.channels) };
    return this.indexedHold(input.eventId, input.holder, SCRIPTS.holdIndexed, SCRIPTS.hold, args, (rest) => ({
      ok: true,
      token: String(rest[0]),
      expiresAt: Number(rest[1]),
      seq: Number(rest[2]),
    }));
  }

  /**
   * Best available: picks `n` seats and holds them in one script, with the
   * limits, token and rules of a named hold. `together` in the result is
   * whether the seats are adjacent in one row.
   */
  async holdBest(input: HoldBestInput): Promise<OpResult<{ token: string; expiresAt: number; seq: number; seats: number[]; together: boolean }>> {
    const badIds = (ids: readonly string[] | undefined) =>
      ids !== undefined && (!Array.isArray(ids) || ids.length === 0 || ids.length > 1000 || !ids.every((id) => typeof id === 'string')) ? refuse('BAD_REQUEST') : undefined;
    const k = input.accessibleSeats ?? 0;
    const bad =
      checkHolder(input.holder) ??
      (input.token !== undefined ? checkToken(input.token) : undefined) ??
      (Number.isSafeInteger(input.n) && input.n >= 1 ? undefined : refuse('BAD_REQUEST', undefined, { reason: 'n' })) ??
      (Number.isSafeInteger(k) && k >= 0 && k <= input.n ? undefined : refuse('BAD_REQUEST', undefined, { reason: 'accessible' })) ??
      badIds(input.categories) ??
      badIds(input.sections);
    if (bad) return bad;
    const token = input.token ?? newToken();
    const args = {
      now: this.scriptNow(),
      holder: input.holder,
      token,
      create: input.token === undefined ? 1 : 0,
      n: input.n,
      categories: input.categories ? JSON.stringify(input.categories) : '',
      sections: input.sections ? JSON.stringify(input.sections) : '',
      together: input.together === false ? 0 : 1,
      accessibleSeats: k,
      seed: input.seed ?? 1 + Math.floor(Math.random() * 2_147_483_000),
      accessible: input.accessible ? 1 : 0,
      ...this.gate(input.exempt),
    };
    return this.indexedHold(input.eventId, input.holder, SCRIPTS.holdBestIndexed, SCRIPTS.holdBest, args, (rest) => ({
      ok: true,
      token: String(rest[0]),
      expiresAt: Number(rest[1]),
      seq: Number(rest[2]),
      seats: Array.isArray(rest[3]) ? rest[3].map(Number) : [],
      together: Number(rest[4]) === 1,
    }));
  }

  /**
   * Runs a hold script that makes or extends a token. On one Redis the hold
   * also indexes the event for the expiry sweeper, atomically (`indexed`). On
   * a Cluster the index is in another slot, so it is a second step; docs/store.md
   * explains why that step cannot race with a sweep.
   */
  private indexedHold<I extends ScriptDef, P extends ScriptDef, R extends { readonly ok: true; expiresAt: number }>(
    eventId: string,
    holder: string,
    indexed: I,
    plain: P,
    args: ScriptArgs<P>,
    onOk: (rest: unknown[]) => R,
  ): Promise<R | Refusal> {
    const runner = this.runnerFor(holder);
    if (!this.isCluster) {
      return this.call(runner, indexed, this.keysWithIndex(eventId) as ScriptKeys<I>, { ...args, eventId } as unknown as ScriptArgs<I>, onOk);
    }
    return this.call(runner, plain, this.keys(eventId) as ScriptKeys<P>, args, async (rest) => {
      const result = onOk(rest);
      await runner.run(SCRIPTS.sweepTouch, this.global, { eventId, dueAt: result.expiresAt });
      return result;
    });
  }

  /**
   * Releases some seats of a token and holds others in one step, all or
   * nothing, with one change-log entry; limits are counted on the result.
   */
  async swap(input: SwapInput): Promise<OpResult<{ expiresAt: number; seq: number }>> {
    const bad = checkHolder(input.holder) ?? checkToken(input.token) ?? checkSeats(input.release, true) ?? checkSeats(input.hold, true);
    if (bad) return bad;
    if (input.release.length + input.hold.length === 0) return refuse('BAD_REQUEST');
    return this.call(this.runnerFor(input.holder), SCRIPTS.swap, this.keys(input.eventId), {
      now: this.scriptNow(),
      holder: input.holder,
      token: input.token,
      release: input.release.join(','),
      hold: input.hold.join(','),
      accessible: input.accessible ? 1 : 0,
      ...this.gate(input.exempt),
      chan: channelArg(input.channels),
    }, (rest) => ({ ok: true, expiresAt: Number(rest[0]), seq: Number(rest[1]) }));
  }

  /** Releases the given seats of a token, or all of them when `seats` is absent. */
  /**
   * Releases seats and general-admission places of a token; with neither
   * named (or both empty), everything the token holds. `released` counts both.
   */
  async release(input: TokenInput & { seats?: readonly number[]; ga?: GaQuantities }): Promise<OpResult<{ seq: number; released: number }>> {
    const bad = checkHolder(input.holder) ?? checkToken(input.token) ?? (input.seats ? checkSeats(input.seats, true) : undefined) ?? (input.ga !== undefined ? checkGa(input.ga) : undefined);
    if (bad) return bad;
    return this.call(this.runnerFor(input.holder), SCRIPTS.release, this.keys(input.eventId), {
      now: this.scriptNow(),
      holder: input.holder,
      token: input.token,
      seats: input.seats ? input.seats.join(',') : '',
      ...this.gate(input.exempt),
      ga: gaArg(input.ga),
    }, (rest) => ({ ok: true, seq: Number(rest[0]), released: Number(rest[1]) }));
  }

  /**
   * Extends a token: without `ms`, the sliding TTL from now; with `ms`, an
   * expiry of now + ms (sooner or later, never past the token's lifetime
   * cap), and `ms: 0` releases every seat and place of the token and deletes
   * it (`released` counts both, as release does).
   */
  async extend(input: TokenInput & { ms?: number }): Promise<OpResult<{ expiresAt: number; seq: number; released?: number }>> {
    const bad =
      checkHolder(input.holder) ??
      checkToken(input.token) ??
      (input.ms === undefined || (Number.isSafeInteger(input.ms) && input.ms >= 0) ? undefined : refuse('BAD_REQUEST'));
    if (bad) return bad;
    const runner = this.runnerFor(input.holder);
    if (input.ms === undefined) {
      return this.call(runner, SCRIPTS.extend, this.keys(input.eventId), {
        now: this.scriptNow(),
        holder: input.holder,
        token: input.token,
        ...this.gate(input.exempt),
      }, (rest) => ({ ok: true, expiresAt: Number(rest[0]), seq: Number(rest[1]) }));
    }
    const { eventId } = input;
    return this.call(runner, SCRIPTS.extendTo, this.keys(eventId), {
      now: this.scriptNow(),
      holder: input.holder,
      token: input.token,
      ms: input.ms,
      ...this.gate(input.exempt),
    }, async (rest) => {
      const expiresAt = Number(rest[0]);
      const released = Number(rest[2]);
      // a sooner expiry must be in the sweep index, or the sweeper would come too late (the same second step as a hold on a Cluster)
      if (input.ms! > 0) await runner.run(SCRIPTS.sweepTouch, this.global, { eventId, dueAt: expiresAt });
      return input.ms === 0 ? { ok: true, expiresAt, seq: Number(rest[1]), released } : { ok: true, expiresAt, seq: Number(rest[1]) };
    });
  }

  /**
   * Books every seat of a token; `key` makes retries return the same booking.
   * A key whose booking the durable store refused answers REFUSED (or EXPIRED
   * when the event was rebuilt before it was committed), for good.
   */
  async book(input: TokenInput & { key: string }): Promise<OpResult<{ bookingId: string; seq: number; seats: number[]; ga?: [number, number][]; replayed: boolean }>> {
    const bad = checkHolder(input.holder) ?? checkToken(input.token) ?? checkKey(input.key);
    if (bad) return bad;
    return this.call(this.runnerFor(input.holder), SCRIPTS.book, this.keys(input.eventId), {
      now: this.scriptNow(),
      holder: input.holder,
      token: input.token,
      key: input.key,
      bookingId: randomUUID(),
    }, (rest) => ({
      ok: true,
      bookingId: String(rest[0]),
      seq: Number(rest[1]),
      seats: Array.isArray(rest[2]) ? rest[2].map(Number) : [],
      replayed: Number(rest[3]) === 1,
      ...placesOf(rest[5]),
    }));
  }

  /**
   * Checkout: books every seat of a token in state `pending_payment`, with
   * `payBy` = now + the event's payment window; otherwise exactly `book`
   * (same key rules; the seats stay BOOKED until Postgres ends the booking).
   */
  async checkout(input: TokenInput & { key: string }): Promise<OpResult<{ bookingId: string; seq: number; seats: number[]; ga?: [number, number][]; replayed: boolean; payBy: number }>> {
    const bad = checkHolder(input.holder) ?? checkToken(input.token) ?? checkKey(input.key);
    if (bad) return bad;
    return this.call(this.runnerFor(input.holder), SCRIPTS.checkout, this.keys(input.eventId), {
      now: this.scriptNow(),
      holder: input.holder,
      token: input.token,
      key: input.key,
      bookingId: randomUUID(),
      defaultPaymentWindowMs: DEFAULT_PAYMENT_WINDOW_MS,
    }, (rest) => ({
      ok: true,
      bookingId: String(rest[0]),
      seq: Number(rest[1]),
      seats: Array.isArray(rest[2]) ? rest[2].map(Number) : [],
      replayed: Number(rest[3]) === 1,
      payBy: Number(rest[4]),
      ...placesOf(rest[5]),
    }));
  }

  /**
   * Frees seats Postgres has released from a booking (those still in the
   * booking's record and BOOKED) with one change-log entry. Idempotent:
   * `freed` is 0 when nothing of it was left to free.
   */
  async releaseBooking(input: ReleaseInput): Promise<OpResult<{ seq: number; freed: number }>> {
    const bad = checkStoredKey(input.key) ?? checkSeats(input.seats, input.final);
    if (bad) return bad;
    return this.call(this.scripts, SCRIPTS.releaseBooking, this.keys(input.eventId), {
      now: this.scriptNow(),
      key: input.key,
      bookingId: input.bookingId,
      seats: input.seats.join(','),
      final: input.final ? 1 : 0,
      op: input.op,
    }, (rest) => ({ ok: true, seq: Number(rest[0]), freed: Number(rest[1]) }));
  }

  /**
   * Admin: takes free seats off sale, and places of general-admission areas
   * (`ga`; the seats may then be empty), all or nothing, one change-log entry.
   * An area without room for the places is UNAVAILABLE reason `ga`.
   */
  block(eventId: string, seats: readonly number[], ga?: GaQuantities): Promise<OpResult<{ seq: number }>> {
    return this.setStates('block', eventId, seats, ga);
  }

  /** Admin: puts blocked seats back on sale, and blocked places (`ga`; more than an area has blocked is CONFLICT reason `ga`). */
  unblock(eventId: string, seats: readonly number[], ga?: GaQuantities): Promise<OpResult<{ seq: number }>> {
    return this.setStates('unblock', eventId, seats, ga);
  }

  /**
   * Admin, in bulk (by section or category): blocks the free seats of the
   * set, or unblocks its blocked ones, and leaves every other seat as it is,
   * reporting it (blockBulk-3.lua, unblockBulk-3.lua). The seats are a set:
   * order and repeats do not matter, and every list of the result is
   * ascending. One change-log entry, none when nothing changes. The seats
   * travel as runs of adjacent indexes (a section is one run), both ways.
   */
  async setStatesBulk(op: 'block' | 'unblock', eventId: string, seats: readonly number[]): Promise<OpResult<BulkStatesResult>> {
    const bad = checkBulkSeats(seats);
    if (bad) return bad;
    const sorted = [...new Set(seats)].sort((a, b) => a - b);
    return this.call(this.scripts, op === 'block' ? SCRIPTS.blockBulk : SCRIPTS.unblockBulk, this.keys(eventId), { now: this.scriptNow(), seats: encodeRuns(sorted) }, (rest) => ({
      ok: true,
      seq: Number(rest[0]),
      changed: expandRuns(rest[1]),
      unchanged: expandRuns(rest[2]),
      held: Array.isArray(rest[3]) ? rest[3].map(Number) : [],
      booked: Array.isArray(rest[4]) ? rest[4].map(Number) : [],
    }));
  }

  /**
   * Box office: books free seats directly, without a hold (bookFree-5.lua),
   * and general-admission places with them (`ga`; the seats may then be
   * empty). All or nothing: a seat not free refuses the call with
   * UNAVAILABLE and its seats, an area without room with UNAVAILABLE reason
   * `ga` (`areas`, `left`). `key` makes retries with the same seats and
   * places return the same booking; the key with other seats or places is a
   * CONFLICT.
   */
  async bookFree(input: { eventId: string; holder: string; seats: readonly number[]; ga?: GaQuantities; key: string }): Promise<OpResult<{ bookingId: string; seq: number; seats: number[]; ga: [number, number][]; replayed: boolean }>> {
    const withGa = input.ga !== undefined && input.ga.length > 0;
    const bad = checkHolder(input.holder) ?? checkSeats(input.seats, withGa) ?? (input.ga !== undefined ? checkGa(input.ga) : undefined) ?? checkKey(input.key);
    if (bad) return bad;
    return this.call(this.runnerFor(input.holder), SCRIPTS.bookFree, this.keys(input.eventId), {
      now: this.scriptNow(),
      holder: input.holder,
      key: input.key,
      bookingId: randomUUID(),
      seats: input.seats.join(','),
      ga: gaArg(input.ga),
    }, (rest) => ({
      ok: true,
      bookingId: String(rest[0]),
      seq: Number(rest[1]),
      seats: Array.isArray(rest[2]) ? rest[2].map(Number) : [],
      replayed: Number(rest[3]) === 1,
      ga: pairsOf(rest[4]),
    }));
  }

  private async setStates(op: 'block' | 'unblock', eventId: string, seats: readonly number[], ga?: GaQuantities): Promise<OpResult<{ seq: number }>> {
    const withGa = ga !== undefined && ga.length > 0;
    const bad = checkSeats(seats, withGa) ?? (ga !== undefined ? checkGa(ga) : undefined);
    if (bad) return bad;
    return this.call(this.scripts, SCRIPTS[op], this.keys(eventId), { now: this.scriptNow(), seats: seats.join(','), ga: gaArg(ga) }, (rest) => ({
      ok: true,
      seq: Number(rest[0]),
    }));
  }

  /** Frees the seats of up to `limit` tokens whose time has passed. */
  async expire(eventId: string, limit = 500): Promise<OpResult<ExpireResult>> {
    return this.call(this.scripts, SCRIPTS.expire, this.keys(eventId), { now: this.scriptNow(), limit }, (rest) => {
      const next = Number(rest[2]);
      const pairs = Array.isArray(rest[4]) ? rest[4].map(String) : [];
      const expired: ExpireResult['expired'] = [];
      for (let i = 0; i + 1 < pairs.length; i += 2) expired.push({ token: pairs[i]!, holder: pairs[i + 1]! });
      return { ok: true, tokensExpired: Number(rest[0]), seatsFreed: Number(rest[1]), nextExpiry: next < 0 ? null : next, seq: Number(rest[3]), expired };
    });
  }

  /**
   * A hold token's holder, seats, general-admission places ([area, qty] ascending) and expiry as
   * the store keeps it; null when it is gone. With `holder`, read on that holder's connection
   * (runnerFor): asked right after one of its operations was sent, it goes out in the same write
   * and reads what the operation left.
   */
  async tokenInfo(eventId: string, token: string, holder?: string): Promise<{ holder: string; seats: number[]; ga: [number, number][]; expiresAt: number } | null> {
    const redis = holder === undefined ? this.redis : this.runnerFor(holder).redis;
    const raw = await redis.hget(this.keys(eventId).tokens, token);
    if (raw === null) return null;
    const t = JSON.parse(raw) as { h: string; s?: unknown; g?: unknown; e: number };
    // t.g is {"<area>": qty} (lua/includes/gaAreas.lua); cjson writes an empty one as []
    const g = t.g !== null && typeof t.g === 'object' && !Array.isArray(t.g) ? (t.g as Record<string, unknown>) : {};
    const ga = Object.entries(g)
      .map(([a, q]) => [Number(a), Number(q)] as [number, number])
      .filter(([, q]) => q > 0)
      .sort((x, y) => x[0] - y[0]);
    return { holder: t.h, seats: Array.isArray(t.s) ? t.s.map(Number) : [], ga, expiresAt: t.e };
  }

  /** The status string with the epoch and seq it belongs to, read atomically; null for an unknown event. */
  async snapshot(eventId: string): Promise<Snapshot | null> {
    const reply = await this.scripts.runBuffer(SCRIPTS.snapshot, this.keys(eventId), {});
    if (!Array.isArray(reply) || reply.length < 3) return null;
    const [epoch, seq, status, ga] = reply as [Buffer, Buffer, Buffer, unknown];
    const snapshot: Snapshot = { epoch: Number(epoch.toString()), seq: Number(seq.toString()), status };
    if (Array.isArray(ga) && ga.length > 0) snapshot.ga = ga.map(Number);
    return snapshot;
  }

  /** The counters of the event's general-admission areas, area index order (one HGETALL of the meta hash; tests and admin). */
  async areaCounters(eventId: string): Promise<AreaCounters[]> {
    const meta = await this.redis.hgetall(this.keys(eventId).meta);
    const areas: AreaCounters[] = [];
    for (let a = 0; meta[`ga:${a}:c`] !== undefined; a++) {
      areas.push({ capacity: Number(meta[`ga:${a}:c`]), held: Number(meta[`ga:${a}:h`] ?? 0), booked: Number(meta[`ga:${a}:b`] ?? 0), blocked: Number(meta[`ga:${a}:k`] ?? 0) });
    }
    return areas;
  }

  /** The ids in the event registry (one SMEMBERS). */
  registeredEvents(): Promise<string[]> {
    return this.redis.smembers(this.global.events);
  }

  /** Whether each event exists (has its meta hash), one EXISTS per event, pipelined. */
  async eventsExist(eventIds: readonly string[]): Promise<boolean[]> {
    return Promise.all(eventIds.map(async (id) => (await this.redis.exists(this.keys(id).meta)) === 1));
  }

  async meta(eventId: string): Promise<EventMeta | null> {
    const m = await this.redis.hgetall(this.keys(eventId).meta);
    if (!m.seats) return null;
    return {
      eventId,
      seatCount: Number(m.seats),
      epoch: Number(m.epoch),
      seq: Number(m.seq),
      rules: {
        holdTtlMs: Number(m.holdTtlMs),
        maxHoldLifetimeMs: Number(m.maxHoldLifetimeMs),
        maxSeatsPerToken: Number(m.maxSeatsPerToken),
        maxSeatsPerHolder: Number(m.maxSeatsPerHolder),
        ...(m.paymentWindowMs !== undefined && { paymentWindowMs: Number(m.paymentWindowMs) }),
      },
      logMaxLen: Number(m.logMaxLen),
      createdAt: Number(m.createdAt),
    };
  }

  /** The layout document the event was created with. */
  async layout(eventId: string): Promise<unknown> {
    const raw = await this.redis.get(this.keys(eventId).layout);
    return raw === null ? undefined : JSON.parse(raw);
  }

  /**
   * Changes after `afterSeq`, at most `limit` entries. `covered` is false when
   * the log was trimmed past `afterSeq` (or `afterSeq` is from the future),
   * and the caller must take a snapshot instead.
   */
  async changesSince(eventId: string, afterSeq: number, limit = 1000): Promise<ChangesSince | null> {
    const k = this.keys(eventId);
    const [metaReply, rangeReply] = await Promise.all([
      this.redis.hmget(k.meta, 'epoch', 'seq'),
      this.redis.xrangeBuffer(k.log, `${afterSeq + 1}-0`, '+', 'COUNT', limit),
    ]);
    if (metaReply[0] === null) return null;
    const epoch = Number(metaReply[0]);
    const seq = Number(metaReply[1]);
    const entries = (rangeReply as unknown as [Buffer, Buffer[]][]).map(decodeChangeEntry);
    const first = entries[0];
    const covered = afterSeq <= seq && (afterSeq === seq || first?.seq === afterSeq + 1);
    return { epoch, seq, covered, entries: covered ? entries.filter((e) => e.seq <= seq) : [] };
  }
}

/** A flat reply list [area, qty, ...] as pairs. */
/** A token's general-admission places booked, `{ga}` when there are any (a booking of seats only has no `ga`). */
function placesOf(value: unknown): { ga?: [number, number][] } {
  const ga = pairsOf(value);
  return ga.length > 0 ? { ga } : {};
}

function pairsOf(value: unknown): [number, number][] {
  const flat = Array.isArray(value) ? value.map(Number) : [];
  const out: [number, number][] = [];
  for (let i = 0; i + 1 < flat.length; i += 2) out.push([flat[i]!, flat[i + 1]!]);
  return out;
}

/** Ascending distinct seats as the bulk scripts read them: `a-b` for a run of adjacent indexes, `a` alone (negative ones too, for BAD_SEAT). */
function encodeRuns(sorted: readonly number[]): string {
  const parts: string[] = [];
  for (let i = 0; i < sorted.length; ) {
    let j = i;
    while (j + 1 < sorted.length && sorted[j + 1] === sorted[j]! + 1 && sorted[i]! >= 0) j++;
    parts.push(i === j ? String(sorted[i]) : `${sorted[i]}-${sorted[j]}`);
    i = j + 1;
  }
  return parts.join(',');
}

/** A flat run list {first, last, first, last, ...} of a bulk script's reply, as seat indexes. */
function expandRuns(reply: unknown): number[] {
  const runs = Array.isArray(reply) ? reply.map(Number) : [];
  const seats: number[] = [];
  for (let i = 0; i + 1 < runs.length; i += 2) for (let s = runs[i]!; s <= runs[i + 1]!; s++) seats.push(s);
  return seats;
}

/** FNV-1a: a cheap, stable string hash for spreading holders over connections. */
function fnv1a(text: string): number {
  let hash = 0x811c9dc5;
  for (let i = 0; i < text.length; i++) {
    hash ^= text.charCodeAt(i);
    hash = Math.imul(hash, 0x01000193);
  }
  return hash >>> 0;
}

/** The JSON record book-9.lua keeps per idempotency key (`x` marks a booking that has ended). */
function bookingRecord(b: RestoredBooking): [string, string] {
  const record: Record<string, unknown> = { id: b.id, tok: b.token ?? '', h: b.holder, s: b.seats, seq: b.seq, at: b.at };
  if (b.ended) record.x = 1;
  else if (b.places && b.places.length > 0) record.g = Object.fromEntries(b.places.map(([area, qty]) => [String(area), qty]));
  return [b.key, JSON.stringify(record)];
}
