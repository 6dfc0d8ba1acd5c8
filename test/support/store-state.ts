/**
 * Reads an event's raw Redis state and checks the store's invariants on it,
 * independently of the code that wrote it.
 */
import { expect } from 'vitest';
import { applyAreaChanges, applyChanges, decodeChangeEntry, type SeatStore } from '../../core/store/index.js';

export interface RawToken { h: string; s: number[]; c: number; e: number; g?: Record<string, number> }

export interface RawState {
  seatCount: number;
  seq: number;
  status: number[];
  seatHolds: Map<number, string>;
  tokens: Map<string, RawToken>;
  expiry: Map<string, number>;
  holders: Map<string, number>;
  /** idempotency records; `x` marks a booking that has ended, `r` one the durable store refused */
  bookings: Map<string, { id: string; tok: string; h: string; s: number[]; seq: number; x?: number; r?: string }>;
  /** the outbox's booking records */
  outbox: { id: string; key: string; seats: number[]; seq: number }[];
  /** the outbox's expired-hold records (includes/freeToken.lua) */
  expiredHolds: { token: string; holder: string; seats: number[]; expiredAt: number }[];
  log: { seq: number; changes: number[]; ga?: number[] }[];
  /** the general-admission counters, area index order (includes/gaAreas.lua) */
  areas: { capacity: number; held: number; booked: number; blocked: number }[];
  /** the event's score in the sweep index (null when absent) */
  sweepScore: number | null;
  /** sales channels (includes/channels.lua): seat -> channel key, and key -> its seats */
  channelOfSeat: Map<number, string>;
  channels: Map<string, { r: number; s: number[] }>;
}

export async function readRawState(store: SeatStore, eventId: string): Promise<RawState> {
  const k = store.keys(eventId);
  const r = store.redis;
  const [meta, status, seatHolds, tokens, expiry, holders, bookings, outbox, log, sweepScore] = await Promise.all([
    r.hgetall(k.meta),
    r.getBuffer(k.status),
    r.hgetall(k.seatHolds),
    r.hgetall(k.tokens),
    r.zrange(k.expiry, 0, -1, 'WITHSCORES'),
    r.hgetall(k.holders),
    r.hgetall(k.bookings),
    r.xrange(k.outbox, '-', '+'),
    r.xrangeBuffer(k.log, '-', '+'),
    r.zscore(store.global.sweepIndex, eventId),
  ]);
  const expiryMap = new Map<string, number>();
  for (let i = 0; i < expiry.length; i += 2) expiryMap.set(expiry[i]!, Number(expiry[i + 1]));
  return {
    seatCount: Number(meta.seats),
    seq: Number(meta.seq),
    status: [...(status ?? Buffer.alloc(0))],
    seatHolds: new Map(Object.entries(seatHolds).map(([s, t]) => [Number(s), t])),
    tokens: new Map(Object.entries(tokens).map(([t, json]) => {
      const v = JSON.parse(json) as RawToken & { s: number[] | Record<string, never> };
      return [t, { ...v, s: Array.isArray(v.s) ? v.s : [] }];
    })),
    expiry: expiryMap,
    holders: new Map(Object.entries(holders).map(([h, n]) => [h, Number(n)])),
    bookings: new Map(Object.entries(bookings).map(([key, json]) => {
      const b = JSON.parse(json);
      return [key, { ...b, s: Array.isArray(b.s) ? b.s : [] }];
    })),
    outbox: outboxFields(outbox)
      .filter((o) => o.kind === undefined)
      .map((o) => ({ id: o.id!, key: o.key!, seats: JSON.parse(o.seats!) as number[], seq: Number(o.seq) })),
    expiredHolds: outboxFields(outbox)
      .filter((o) => o.kind === 'hold.expired')
      .map((o) => ({ token: o.token!, holder: o.holder!, seats: JSON.parse(o.seats!) as number[], expiredAt: Number(o.expiredAt) })),
    log: (log as unknown as [Buffer, Buffer[]][]).map(decodeChangeEntry).map((e) => ({ seq: e.seq, changes: e.changes, ...(e.ga && { ga: e.ga }) })),
    areas: areasOfMeta(meta),
    sweepScore: sweepScore === null ? null : Number(sweepScore),
    channelOfSeat: new Map(Object.entries(meta).filter(([f]) => f.startsWith('cs:')).map(([f, v]) => [Number(f.slice(3)), v])),
    channels: new Map(Object.entries(meta).filter(([f]) => f.startsWith('ch:')).map(([f, v]) => [f.slice(3), JSON.parse(v) as { r: number; s: number[] }])),
  };
}

function areasOfMeta(meta: Record<string, string>): RawState['areas'] {
  const areas: RawState['areas'] = [];
  for (let a = 0; meta[`ga:${a}:c`] !== undefined; a++) {
    areas.push({ capacity: Number(meta[`ga:${a}:c`]), held: Number(meta[`ga:${a}:h`]), booked: Number(meta[`ga:${a}:b`]), blocked: Number(meta[`ga:${a}:k`]) });
  }
  return areas;
}

function outboxFields(entries: [string, string[]][]): Record<string, string>[] {
  return entries.map(([, f]) => {
    const o: Record<string, string> = {};
    for (let i = 0; i + 1 < f.length; i += 2) o[f[i]!] = f[i + 1]!;
    return o;
  });
}

/** The invariants that hold after any sequence of operations, whatever their outcome. */
export function checkInvariants(s: RawState): void {
  expect(s.status.length).toBe(s.seatCount);
  for (const v of s.status) expect([0, 1, 2, 3, 4]).toContain(v);
  // Sales channels: a reserved seat belongs to a channel, and a channel's seats are exactly the seats mapped to it.
  s.status.forEach((v, seat) => {
    if (v === 4) expect(s.channelOfSeat.has(seat), `reserved seat ${seat} has a channel`).toBe(true);
  });
  for (const [seat, key] of s.channelOfSeat) expect(s.channels.get(key)?.s, `channel ${key} lists seat ${seat}`).toContain(seat);
  for (const [key, c] of s.channels) for (const seat of c.s) expect(s.channelOfSeat.get(seat)).toBe(key);

  // A held seat has exactly one holder token, and the token lists it.
  for (let seat = 0; seat < s.seatCount; seat++) {
    const tok = s.seatHolds.get(seat);
    if (s.status[seat] === 1) {
      expect(tok, `held seat ${seat} has a token`).toBeDefined();
      expect(s.tokens.get(tok!)?.s, `token of seat ${seat} lists it`).toContain(seat);
    } else {
      expect(tok, `seat ${seat} in state ${s.status[seat]} has no hold`).toBeUndefined();
    }
  }
  const seatsOfTokens = new Map<number, string>();
  const perHolder = new Map<string, number>();
  for (const [token, t] of s.tokens) {
    for (const seat of t.s) {
      expect(seatsOfTokens.has(seat), `seat ${seat} in two tokens`).toBe(false);
      seatsOfTokens.set(seat, token);
      expect(s.seatHolds.get(seat)).toBe(token);
    }
    const places = Object.values(t.g ?? {}).reduce((sum, q) => sum + q, 0);
    perHolder.set(t.h, (perHolder.get(t.h) ?? 0) + t.s.length + places);
    expect(s.expiry.get(token), `expiry index of ${token}`).toBe(t.e);
  }
  expect(s.expiry.size).toBe(s.tokens.size);
  // The sweep index never lets a token expire unnoticed: while there are tokens, the event is
  // indexed no later than the earliest expiry, or claimed by a sweeper (negative score).
  if (s.tokens.size > 0) {
    expect(s.sweepScore, 'event missing from the sweep index').not.toBeNull();
    if (s.sweepScore! >= 0) expect(s.sweepScore!).toBeLessThanOrEqual(Math.min(...s.expiry.values()));
  }
  for (const [h, n] of [...perHolder]) if (n === 0) perHolder.delete(h);
  expect(new Map([...s.holders].sort())).toEqual(new Map([...perHolder].sort()));

  // No seat is booked twice; every booked seat is in exactly one live booking, and in the outbox once.
  const bookedBy = new Map<number, string>();
  for (const [key, b] of s.bookings) {
    if (b.x === 1 || b.r) continue; // ended or refused: its seats are no longer its own
    for (const seat of b.s) {
      expect(bookedBy.has(seat), `seat ${seat} booked twice`).toBe(false);
      bookedBy.set(seat, key);
      expect(s.status[seat]).toBe(2);
    }
  }
  for (let seat = 0; seat < s.seatCount; seat++) if (s.status[seat] === 2) expect(bookedBy.has(seat)).toBe(true);
  // every booking made here is in the outbox; a record without an entry is one this map never had, marked ended
  const outboxKeys = new Set(s.outbox.map((o) => o.key));
  for (const key of outboxKeys) expect(s.bookings.has(key), `outbox entry ${key} has its record`).toBe(true);
  for (const [key, b] of s.bookings) if (!outboxKeys.has(key)) expect(b.x, `record ${key} without an outbox entry`).toBe(1);
  expect(new Set(s.outbox.map((o) => o.id)).size).toBe(s.outbox.length);
  // A hold expires once: one record per token, never for a token still live.
  expect(new Set(s.expiredHolds.map((x) => x.token)).size).toBe(s.expiredHolds.length);
  for (const x of s.expiredHolds) {
    expect(s.tokens.has(x.token), `expired token ${x.token} is gone`).toBe(false);
    expect(x.seats.length).toBeGreaterThan(0);
  }

  // The change log replayed from an all-free map is the status string, with no gap in sequence numbers.
  const replay = new Uint8Array(s.seatCount);
  const replayedAreas = new Map<number, [number, number, number]>();
  s.log.forEach((entry, i) => {
    expect(entry.seq).toBe(i + 1);
    expect(entry.changes.length + (entry.ga?.length ?? 0)).toBeGreaterThan(0);
    applyChanges(replay, entry.changes);
    applyAreaChanges(replayedAreas, entry.ga);
  });
  expect(s.log.at(-1)?.seq ?? 0).toBe(s.seq);
  expect([...replay]).toEqual(s.status);

  // General admission: an area's places held are exactly its tokens' places; no counter is
  // negative, none passes capacity; the log's last counters of an area are its counters now.
  s.areas.forEach((area, a) => {
    const heldByTokens = [...s.tokens.values()].reduce((sum, t) => sum + (t.g?.[String(a)] ?? 0), 0);
    expect(area.held, `area ${a} held = its tokens' places`).toBe(heldByTokens);
    for (const n of [area.held, area.booked, area.blocked]) expect(n).toBeGreaterThanOrEqual(0);
    expect(area.held + area.booked + area.blocked, `area ${a} within capacity`).toBeLessThanOrEqual(area.capacity);
    const replayed = replayedAreas.get(a) ?? [area.capacity, 0, 0];
    expect(replayed, `area ${a} replayed from the log`).toEqual([area.capacity - area.held - area.booked - area.blocked, area.held, area.booked]);
  });
}

/** Everything an operation could change, for checking that a refused one changed nothing. */
export function digest(s: RawState): string {
  const sorted = <K, V>(m: Map<K, V>) => [...m].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
  return JSON.stringify([s.seq, s.status, sorted(s.seatHolds), sorted(s.tokens), sorted(s.expiry), sorted(s.holders), sorted(s.bookings), s.outbox, s.expiredHolds, s.log, s.sweepScore, s.areas, sorted(s.channelOfSeat), sorted(s.channels)]);
}
