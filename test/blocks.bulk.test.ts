/**
 * Blocking and unblocking in bulk, by section and category, through a real
 * gateway, Redis and Postgres: one change-log entry per call seen by a
 * watcher as one diff, held and booked seats reported and left as they are,
 * the rows of blocked_seats following Redis exactly, unknown ids refused
 * naming them with nothing changed; and availability per section and
 * category with the largest blocks of adjacent free seats, on the layout
 * docs/layout.md uses as its example.
 */
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createEventFromLayout } from '../core/events.js';
import { compileLayout, countAvailability, generateVenue, parseLayout, seatsOfGroups, type CompiledLayout } from '../core/layout/index.js';
import { SeatState } from '../core/store/index.js';
import type { DiffMessage } from '../core/protocol/index.js';
import { createVenueEvent, startTestGateway, testDatabaseFor, token, wipePrefix, type TestGateway } from './support/gateway.js';
import { apiFetch } from './support/openapi.js';
import { TestClient } from './support/ws-client.js';

let gw: TestGateway;
let pool: pg.Pool;
let adminToken: string;
const clients: TestClient[] = [];
/** the venue createVenueEvent makes for 500 seats: sections A–E, categories front, premium, standard */
let venue: CompiledLayout;

/** The example of docs/layout.md: row A (0–2, front), row B (3–6; B3 = seat 5 front, the rest standard). */
const STUDIO = {
  version: 1,
  name: 'Studio Stage',
  currency: 'EUR',
  categories: [
    { id: 'front', label: 'Front', price: 4500 },
    { id: 'standard', label: 'Standard', price: 2900 },
  ],
  sections: [
    {
      id: 'A',
      label: 'Stalls A',
      category: 'standard',
      rows: [
        { label: 'A', category: 'front', seats: [{ label: '1', x: -0.55, y: 4 }, { label: '2', x: 0, y: 4 }, { label: '3', x: 0.55, y: 4 }] },
        {
          label: 'B',
          seats: [{ label: '1', x: -0.8, y: 4.85 }, { label: '2', x: -0.25, y: 4.9 }, { label: '3', x: 0.25, y: 4.9, category: 'front' }, { label: '4', x: 0.8, y: 4.85 }],
        },
      ],
    },
    { id: 'Z', label: 'Box Z', category: 'front', rows: [{ label: '1', seats: [{ label: '1', x: 5, y: 1 }, { label: '2', x: 5.5, y: 1 }] }] },
  ],
  settings: { maxSeatsPerToken: 4 },
};

beforeAll(async () => {
  gw = await startTestGateway({ TICK_MS: '10' });
  pool = new pg.Pool({ connectionString: await testDatabaseFor(gw.prefix), max: 3 });
  adminToken = await token('ops', 'admin');
  venue = compileLayout(parseLayout(generateVenue({ seats: 500, seed: 7, name: 'bulk' })));
});

afterAll(async () => {
  for (const c of clients) c.ws.terminate();
  await gw.stop();
  await pool.end();
  await wipePrefix(gw.prefix);
});

async function client(sub: string, scope?: string): Promise<TestClient> {
  const c = await TestClient.connect(gw.wsUrl, { token: await token(sub, scope) });
  clients.push(c);
  return c;
}

function post(path: string, body: unknown, bearer = adminToken): Promise<Response> {
  return apiFetch(`${gw.httpUrl}${path}`, { method: 'POST', headers: { authorization: `Bearer ${bearer}`, 'content-type': 'application/json' }, body: JSON.stringify(body) });
}

async function blockedRows(eventId: string): Promise<number[]> {
  const rows = await pool.query<{ seat: number }>('SELECT seat FROM blocked_seats WHERE event_id = $1 ORDER BY seat', [eventId]);
  return rows.rows.map((r) => r.seat);
}

/** Seats of a section, and of a category, read straight off the compiled arrays. */
function sectionSeats(c: CompiledLayout, id: string): number[] {
  const s = c.sections.find((x) => x.id === id)!;
  const out: number[] = [];
  for (let i = c.rowStart[s.firstRow]!; i < c.rowStart[s.firstRow + s.rowCount]!; i++) out.push(i);
  return out;
}
function categorySeats(c: CompiledLayout, id: string): number[] {
  const k = c.categories.findIndex((x) => x.id === id);
  return [...c.seatCategory.keys()].filter((i) => c.seatCategory[i] === k);
}

describe('bulk block and unblock', () => {
  it('blocks a section and a category in one change-log entry, one diff for a watcher; held and booked seats are reported and unchanged', async () => {
    await createVenueEvent(gw.store, 'bulk1', 500);
    const buyer = await client('buyer-b1');
    const watcher = await client('watcher-b1');
    await watcher.ok({ t: 'sub', ev: 'bulk1' });

    const union = [...new Set([...sectionSeats(venue, 'B'), ...categorySeats(venue, 'front')])].sort((a, b) => a - b);
    const front = new Set(categorySeats(venue, 'front'));
    const plainB = sectionSeats(venue, 'B').filter((s) => !front.has(s));
    const heldSeat = plainB[3]!;
    const bookedSeat = categorySeats(venue, 'front')[0]!;
    await buyer.ok({ t: 'hold', ev: 'bulk1', seats: [heldSeat] });
    const forBooking = await buyer.ok({ t: 'hold', ev: 'bulk1', seats: [bookedSeat] });
    await buyer.ok({ t: 'book', ev: 'bulk1', tok: forBooking.tok as string, key: 'bulk1-order' });
    // a seat blocked already, seat by seat: counted as unchanged
    const alreadySeat = plainB[10]!;
    expect((await post('/events/bulk1/block', { seats: [alreadySeat] })).status).toBe(200);
    const before = (await gw.store.snapshot('bulk1'))!;
    await watcher.until('bulk1', (v) => v.seq === before.seq);
    const diffsBefore = watcher.messages.length;

    const res = await post('/events/bulk1/block', { sections: ['B'], categories: ['front'] });
    expect(res.status).toBe(200);
    const body = (await res.json()) as { seq: number; changed: number; unchanged: number; held: number[]; booked: number[] };
    expect(body).toEqual({ seq: before.seq + 1, changed: union.length - 3, unchanged: 1, held: [heldSeat], booked: [bookedSeat] });

    // Redis: every free seat of the union blocked, the held and booked ones as they were, nothing else touched
    const after = (await gw.store.snapshot('bulk1'))!;
    const inUnion = new Set(union);
    for (let i = 0; i < 500; i++) {
      const expected = i === heldSeat ? SeatState.HELD : i === bookedSeat ? SeatState.BOOKED : inUnion.has(i) ? SeatState.BLOCKED : SeatState.FREE;
      expect(after.status[i], `seat ${i}`).toBe(expected);
    }
    // one change-log entry, op block, listing exactly the seats that moved
    const log = (await gw.store.changesSince('bulk1', before.seq))!;
    expect(log.entries).toHaveLength(1);
    expect(log.entries[0]!.op).toBe('block');
    const moved = union.filter((s) => s !== heldSeat && s !== bookedSeat && s !== alreadySeat);
    const changes = log.entries[0]!.changes;
    expect(changes.filter((_, i) => i % 2 === 0)).toEqual(moved);
    expect(changes.filter((_, i) => i % 2 === 1).every((s) => s === SeatState.BLOCKED)).toBe(true);

    // the watcher: one diff from before.seq to before.seq + 1, and its view equals Redis
    const view = await watcher.until('bulk1', (v) => v.seq === before.seq + 1);
    expect(Buffer.from(view.status).equals(after.status)).toBe(true);
    const diffs = watcher.messages.slice(diffsBefore).filter((m): m is DiffMessage => m.t === 'diff');
    expect(diffs.map((d) => [d.from, d.to, d.ch.length])).toEqual([[before.seq, before.seq + 1, moved.length * 2]]);

    // Postgres: exactly the blocked seats, so a rebuild restores them
    expect(await blockedRows('bulk1')).toEqual([...moved, alreadySeat].sort((a, b) => a - b));

    // again: nothing moves, no entry, the same seq
    const again = (await (await post('/events/bulk1/block', { sections: ['B'], categories: ['front'] })).json()) as typeof body;
    expect(again).toEqual({ seq: before.seq + 1, changed: 0, unchanged: moved.length + 1, held: [heldSeat], booked: [bookedSeat] });
    expect((await gw.store.changesSince('bulk1', before.seq + 1))!.entries).toEqual([]);
  });

  it('unblocks by category only what is blocked, with seats listed beside it, and Postgres follows', async () => {
    const before = (await gw.store.snapshot('bulk1'))!;
    const front = categorySeats(venue, 'front');
    const extra = sectionSeats(venue, 'B').filter((s) => !front.includes(s))[0]!; // blocked by the call above, not front
    const res = await post('/events/bulk1/unblock', { categories: ['front'], seats: [extra] });
    expect(res.status).toBe(200);
    const body = (await res.json()) as { seq: number; changed: number; unchanged: number; held: number[]; booked: number[] };
    const bookedSeat = front[0]!;
    expect(body.booked).toEqual([bookedSeat]);
    expect(body.held).toEqual([]);
    expect(body.seq).toBe(before.seq + 1);
    expect(body.changed).toBe(front.length - 1 + 1);
    expect(body.unchanged).toBe(0);
    const after = (await gw.store.snapshot('bulk1'))!;
    for (const s of [...front.slice(1), extra]) expect(after.status[s], `seat ${s}`).toBe(SeatState.FREE);
    expect(after.status[bookedSeat]).toBe(SeatState.BOOKED);
    const rows = await blockedRows('bulk1');
    for (const s of [...front, extra]) expect(rows).not.toContain(s);
    // what is left blocked in Redis is exactly what Postgres has
    expect(rows).toEqual([...after.status.keys()].filter((i) => after.status[i] === SeatState.BLOCKED));
  });

  it('refuses unknown section and category ids naming them, an empty list, and changes nothing', async () => {
    const before = (await gw.store.snapshot('bulk1'))!;
    const rowsBefore = await blockedRows('bulk1');
    const res = await post('/events/bulk1/block', { sections: ['A', 'Q9', 'Q9'], categories: ['front', 'vip'] });
    expect(res.status).toBe(400);
    const err = (await res.json()) as { code: string; msg: string };
    expect(err.code).toBe('BAD_REQUEST');
    expect(err.msg).toContain('no section "Q9"');
    expect(err.msg).toContain('no category "vip"');
    expect(err.msg).not.toContain('"A"');
    for (const bad of [{ sections: [] }, { categories: 'front' }, { sections: [7] }, {}, { sections: ['x'.repeat(33)] }]) {
      const r = await post('/events/bulk1/unblock', bad);
      expect(r.status, JSON.stringify(bad)).toBe(400);
      expect(((await r.json()) as { code: string }).code).toBe('BAD_REQUEST');
    }
    // an index out of range beside a section: BAD_SEAT, all or nothing
    const outOfRange = await post('/events/bulk1/block', { sections: ['A'], seats: [500, -1] });
    expect(outOfRange.status).toBe(400);
    expect(await outOfRange.json()).toMatchObject({ code: 'BAD_SEAT', seats: [-1, 500] });
    expect(await post('/events/nope/block', { sections: ['A'] }).then((r) => r.status)).toBe(404);
    // an event stored without a layout has no sections: name seats instead
    const rules = { holdTtlMs: 60_000, maxHoldLifetimeMs: 600_000, maxSeatsPerToken: 10, maxSeatsPerHolder: 10 };
    expect((await gw.store.createEvent({ eventId: 'bare-bulk', seatCount: 5, rules })).ok).toBe(true);
    const bare = await post('/events/bare-bulk/block', { sections: ['A'] });
    expect(bare.status).toBe(400);
    expect(((await bare.json()) as { msg: string }).msg).toMatch(/has no layout/);
    // a buyer's token is not enough
    expect((await post('/events/bulk1/block', { sections: ['A'] }, await token('buyer-x'))).status).toBe(403);

    const after = (await gw.store.snapshot('bulk1'))!;
    expect(after.seq).toBe(before.seq);
    expect(after.status.equals(before.status)).toBe(true);
    expect(await blockedRows('bulk1')).toEqual(rowsBefore);
  });

  it('racing holds on other connections: every seat of the section ends blocked or held by a hold that succeeded, never both, and Postgres agrees', async () => {
    await createVenueEvent(gw.store, 'bulk3', 500, { maxSeatsPerToken: 4, maxSeatsPerHolder: 40 });
    const section = sectionSeats(venue, 'C');
    const buyers = await Promise.all(Array.from({ length: 8 }, (_, i) => client(`racer-${i}`)));
    const heldByBuyers: number[] = [];
    let refused = 0;
    const holds = buyers.map(async (c, i) => {
      for (let round = 0; round < 6; round++) {
        const seats = [section[(i * 13 + round * 7) % section.length]!, section[(i * 13 + round * 7 + 1) % section.length]!];
        const reply = await c.request({ t: 'hold', ev: 'bulk3', seats: [...new Set(seats)] });
        if (reply.t === 'ok') heldByBuyers.push(...new Set(seats));
        else refused++;
      }
    });
    const block = (async () => {
      await new Promise((resolve) => setTimeout(resolve, 5));
      return (await (await post('/events/bulk3/block', { sections: ['C'] })).json()) as { changed: number; held: number[]; booked: number[] };
    })();
    const [answer] = await Promise.all([block, ...holds]);
    const snap = (await gw.store.snapshot('bulk3'))!;
    const held = new Set(heldByBuyers);
    for (const s of section) expect(snap.status[s], `seat ${s}`).toBe(held.has(s) ? SeatState.HELD : SeatState.BLOCKED);
    // what the block reported held was held by then, and every other seat of the section it blocked
    for (const s of answer.held) expect(held.has(s)).toBe(true);
    expect(answer.changed + answer.held.length).toBe(section.length);
    expect(await blockedRows('bulk3')).toEqual(section.filter((s) => !held.has(s)));
    expect(refused + heldByBuyers.length).toBeGreaterThan(0);
  });

  it('a whole 20,000-seat arena blocked by its categories in one call reaches a watcher as one diff, and unblocked again', async () => {
    await createVenueEvent(gw.store, 'arena', 20_000);
    const arena = compileLayout(parseLayout(generateVenue({ seats: 20_000, seed: 7, name: 'arena' })));
    const watcher = await client('watcher-arena');
    await watcher.ok({ t: 'sub', ev: 'arena' });
    const everything = { categories: arena.categories.map((c) => c.id) };
    const blocked = (await (await post('/events/arena/block', everything)).json()) as { seq: number; changed: number };
    expect(blocked).toMatchObject({ seq: 1, changed: 20_000, unchanged: 0 });
    let view = await watcher.until('arena', (v) => v.seq === 1, 10_000);
    expect(view.status.every((s) => s === SeatState.BLOCKED)).toBe(true);
    const diffs = watcher.messages.filter((m): m is DiffMessage => m.t === 'diff');
    expect(diffs.map((d) => [d.from, d.to, d.ch.length])).toEqual([[0, 1, 40_000]]);
    expect(await blockedRows('arena')).toHaveLength(20_000);
    const unblocked = (await (await post('/events/arena/unblock', { sections: arena.sections.map((x) => x.id) })).json()) as { seq: number; changed: number };
    expect(unblocked).toMatchObject({ seq: 2, changed: 20_000 });
    view = await watcher.until('arena', (v) => v.seq === 2, 10_000);
    expect(view.status.every((s) => s === SeatState.FREE)).toBe(true);
    expect(await blockedRows('arena')).toEqual([]);
  });

  it('a body of seats alone keeps its all-or-nothing answer {seq}', async () => {
    await createVenueEvent(gw.store, 'bulk2', 100);
    const ok = await post('/events/bulk2/block', { seats: [1, 2] });
    expect(await ok.json()).toEqual({ seq: 1 });
    const refused = await post('/events/bulk2/block', { seats: [2, 3] });
    expect(refused.status).toBe(409);
    expect(await refused.json()).toMatchObject({ code: 'UNAVAILABLE', seats: [2] });
    expect((await gw.store.snapshot('bulk2'))!.status[3]).toBe(SeatState.FREE);
  });
});

describe('availability per section and category', () => {
  it('counts per section and gives the largest blocks of adjacent free seats on a known layout', async () => {
    const created = await createEventFromLayout(gw.store, 'studio', STUDIO);
    expect(created.ok).toBe(true);
    const get = async () => {
      const res = await apiFetch(`${gw.httpUrl}/events/studio/availability`);
      expect(res.status).toBe(200);
      return (await res.json()) as { seq: number; sections: Record<string, unknown>[]; categories: Record<string, unknown>[] };
    };
    // every seat free: section A's largest block is row B (4 seats from 3); front's row A; standard's B1-B2
    let body = await get();
    expect(body.sections).toEqual([
      { id: 'A', label: 'Stalls A', free: 7, held: 0, booked: 0, blocked: 0, reserved: 0, largestBlock: { size: 4, first: 3 } },
      { id: 'Z', label: 'Box Z', free: 2, held: 0, booked: 0, blocked: 0, reserved: 0, largestBlock: { size: 2, first: 7 } },
    ]);
    expect(body.categories).toEqual([
      { id: 'front', label: 'Front', free: 6, held: 0, booked: 0, blocked: 0, reserved: 0, largestBlock: { size: 3, first: 0 } },
      { id: 'standard', label: 'Standard', free: 3, held: 0, booked: 0, blocked: 0, reserved: 0, largestBlock: { size: 2, first: 3 } },
    ]);

    // hold B2 (seat 4), block row A's middle seat (1) and box Z: blocks shrink, a section with none free says so
    const buyer = await client('buyer-studio');
    await buyer.ok({ t: 'hold', ev: 'studio', seats: [4] });
    expect((await post('/events/studio/block', { seats: [1] })).status).toBe(200);
    expect((await post('/events/studio/block', { sections: ['Z'] })).status).toBe(200);
    body = await get();
    expect(body.sections).toEqual([
      { id: 'A', label: 'Stalls A', free: 5, held: 1, booked: 0, blocked: 1, reserved: 0, largestBlock: { size: 2, first: 5 } },
      { id: 'Z', label: 'Box Z', free: 0, held: 0, booked: 0, blocked: 2, reserved: 0, largestBlock: { size: 0, first: null } },
    ]);
    // front: seats 0, 2, 5 free but none adjacent (5 is alone in row B between standard seats)
    expect(body.categories).toEqual([
      { id: 'front', label: 'Front', free: 3, held: 0, booked: 0, blocked: 3, reserved: 0, largestBlock: { size: 1, first: 0 } },
      { id: 'standard', label: 'Standard', free: 2, held: 1, booked: 0, blocked: 0, reserved: 0, largestBlock: { size: 1, first: 3 } },
    ]);
  });

  it('countAvailability: blocks never span rows, and a category change inside a row ends a category block', () => {
    const c = compileLayout(parseLayout(STUDIO));
    // seats 2 (end of row A) and 3 (start of row B) are consecutive indexes but not adjacent
    const status = new Uint8Array(9).fill(SeatState.BOOKED);
    status[2] = SeatState.FREE;
    status[3] = SeatState.FREE;
    const counted = countAvailability(status, c);
    expect(counted.sections[0]!.largestBlock).toEqual({ size: 1, first: 2 });
    // row B all free: standard B1 B2 | front B3 | standard B4
    const rowB = new Uint8Array(9).fill(SeatState.BOOKED).fill(SeatState.FREE, 3, 7);
    const b = countAvailability(rowB, c);
    expect(b.sections[0]!.largestBlock).toEqual({ size: 4, first: 3 });
    expect(b.categories.map((x) => x.largestBlock)).toEqual([{ size: 1, first: 5 }, { size: 2, first: 3 }]);
    expect(countAvailability(rowB, null)).toEqual({ totals: { free: 4, held: 0, booked: 5, blocked: 0, reserved: 0 }, categories: [], sections: [] });
    expect(seatsOfGroups(c, { sections: ['Z'], categories: ['front'], seats: [3] })).toEqual({ ok: true, seats: [0, 1, 2, 3, 5, 7, 8] });
    expect(seatsOfGroups(c, { sections: ['nope'], categories: ['x', 'x'] })).toEqual({ ok: false, unknownSections: ['nope'], unknownCategories: ['x'] });
  });
});
