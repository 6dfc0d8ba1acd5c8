/**
 * Outbox entries as the flusher sees them: the raw stream entries read from
 * the consumer group, and what each one must be, or why it is not:
 * - a booking (book-9.lua writes `id key holder token seats seq epoch at`;
 *   checkout-9.lua adds `state pending_payment payBy <ms>`);
 * - an expired hold (`kind hold.expired token holder seats expiredAt epoch`,
 *   written by includes/freeToken.lua when a hold's time ran out).
 */

export interface RawEntry {
  stream: string;
  entryId: string;
  /** null when the entry was deleted from the stream while pending */
  fields: string[] | null;
}

export interface BookingEntry {
  stream: string;
  entryId: string;
  eventId: string;
  id: string;
  key: string;
  holder: string;
  /** the hold token the booking was made from (kept for rebuilds) */
  token: string | null;
  seats: number[];
  /** general-admission places booked: [area, qty] pairs (the entry's `ga`, JSON {"<area>": qty}) */
  ga: [number, number][];
  seq: number;
  epoch: number;
  at: number;
  /** confirmed (book) or pending_payment (checkout) */
  state: 'confirmed' | 'pending_payment';
  /** ms; when a pending_payment booking expires unpaid */
  payBy: number | null;
}

export interface HoldExpiryEntry {
  stream: string;
  entryId: string;
  eventId: string;
  token: string;
  holder: string;
  seats: number[];
  expiredAt: number;
  epoch: number;
}

/** What an outbox entry says it is: `hold.expired`, or a booking (no kind). */
export function entryKind(entry: RawEntry): 'booking' | 'hold.expired' | 'unknown' {
  const kind = fieldMap(entry.fields).get('kind');
  return kind === undefined ? 'booking' : kind === 'hold.expired' ? 'hold.expired' : 'unknown';
}

/** The reply of XREADGROUP: per stream, its entries. */
export type StreamReply = [string, [string, string[] | null][]][] | null;

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

export function isBookingId(id: string | undefined): id is string {
  return id !== undefined && UUID.test(id);
}

export function flatten(reply: StreamReply): RawEntry[] {
  const out: RawEntry[] = [];
  for (const [stream, items] of reply ?? []) {
    for (const [entryId, fields] of items) out.push({ stream, entryId, fields });
  }
  return out;
}

/** The entries without repeats (an entry can be both claimed and read as pending in one round). */
export function dedupe(entries: RawEntry[]): RawEntry[] {
  const seen = new Set<string>();
  return entries.filter((e) => {
    const k = `${e.stream}\n${e.entryId}`;
    if (seen.has(k)) return false;
    seen.add(k);
    return true;
  });
}

/** An entry's fields by name (the last value wins). */
export function fieldMap(fields: readonly string[] | null): Map<string, string> {
  const f = new Map<string, string>();
  const list = fields ?? [];
  for (let i = 0; i + 1 < list.length; i += 2) f.set(list[i]!, list[i + 1]!);
  return f;
}

/** The booking of an outbox entry, or why it is not one. */
export function parseBooking(entry: RawEntry, eventId: string | undefined): BookingEntry | string {
  if (eventId === undefined) return 'unknown outbox';
  const f = fieldMap(entry.fields);
  const id = f.get('id');
  const key = f.get('key');
  const holder = f.get('holder');
  if (!isBookingId(id)) return 'bad or missing id';
  if (!key) return 'missing key';
  if (!holder) return 'missing holder';
  const ga = parsePlaces(f.get('ga'));
  if (typeof ga === 'string') return ga;
  let seats: number[];
  try {
    const raw: unknown = JSON.parse(f.get('seats') ?? '');
    // Lua's cjson writes an empty list as {}: a booking of places only
    if (ga.length > 0 && isEmptyObject(raw)) seats = [];
    else if (!Array.isArray(raw) || raw.length === 0) return 'seats is not a non-empty array';
    else seats = raw.map(Number);
  } catch {
    return 'seats is not JSON';
  }
  if (!seats.every((s) => Number.isSafeInteger(s) && s >= 0 && s <= 0x7fffffff)) return 'bad seat number';
  const seq = Number(f.get('seq'));
  const epoch = Number(f.get('epoch'));
  const at = Number(f.get('at'));
  if (![seq, epoch, at].every(Number.isSafeInteger)) return 'bad seq, epoch or at';
  const state = f.get('state') ?? 'confirmed';
  if (state !== 'confirmed' && state !== 'pending_payment') return 'bad state';
  const payBy = state === 'pending_payment' ? Number(f.get('payBy')) : null;
  if (payBy !== null && !Number.isSafeInteger(payBy)) return 'bad payBy';
  return { stream: entry.stream, entryId: entry.entryId, eventId, id: id.toLowerCase(), key, holder, token: f.get('token') || null, seats, ga, seq, epoch, at, state, payBy };
}

/** A booking entry's `ga` field ('' or absent: none) as [area, qty] pairs, or why it is malformed. */
function parsePlaces(raw: string | undefined): [number, number][] | string {
  if (raw === undefined || raw === '') return [];
  let value: unknown;
  try {
    value = JSON.parse(raw);
  } catch {
    return 'ga is not JSON';
  }
  if (typeof value !== 'object' || value === null || Array.isArray(value)) return 'ga is not an object';
  const pairs: [number, number][] = [];
  for (const [area, qty] of Object.entries(value)) {
    const a = Number(area);
    if (!/^\d+$/.test(area) || !Number.isSafeInteger(a) || !Number.isSafeInteger(qty) || (qty as number) < 1 || a > 0x7fffffff || (qty as number) > 0x7fffffff) return 'bad ga place';
    pairs.push([a, qty as number]);
  }
  return pairs;
}

function isEmptyObject(value: unknown): boolean {
  return typeof value === 'object' && value !== null && !Array.isArray(value) && Object.keys(value).length === 0;
}

/** The expired hold of an outbox entry, or why it is not one. */
export function parseHoldExpiry(entry: RawEntry, eventId: string | undefined): HoldExpiryEntry | string {
  if (eventId === undefined) return 'unknown outbox';
  const f = fieldMap(entry.fields);
  const token = f.get('token');
  const holder = f.get('holder');
  if (!token || !holder) return 'missing token or holder';
  let seats: number[];
  try {
    const raw: unknown = JSON.parse(f.get('seats') ?? '');
    if (!Array.isArray(raw) || raw.length === 0) return 'seats is not a non-empty array';
    seats = raw.map(Number);
  } catch {
    return 'seats is not JSON';
  }
  if (!seats.every((s) => Number.isSafeInteger(s) && s >= 0)) return 'bad seat number';
  const expiredAt = Number(f.get('expiredAt'));
  const epoch = Number(f.get('epoch'));
  if (![expiredAt, epoch].every(Number.isSafeInteger)) return 'bad expiredAt or epoch';
  return { stream: entry.stream, entryId: entry.entryId, eventId, token, holder, seats, expiredAt, epoch };
}
