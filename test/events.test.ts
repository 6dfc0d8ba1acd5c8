/** Creating events from layout documents. */
import { afterAll, describe, expect, it } from 'vitest';
import { createEventFromLayout } from '../core/events.js';
import { LayoutError } from '../core/layout/index.js';
import { generateVenue } from '../core/layout/generate-venue.js';
import { createTestStore } from './support/redis.js';

const t = createTestStore();
afterAll(() => t.cleanup());

describe('createEventFromLayout', () => {
  it('creates the event with the layout\'s seat count and settings as hold rules', async () => {
    const layout = generateVenue({ seats: 1500, seed: 7 });
    layout.settings = { holdTtlMs: 120_000, maxSeatsPerToken: 6 };
    const created = await createEventFromLayout(t.store, 'venue1', layout);
    expect(created.ok).toBe(true);
    const meta = await t.store.meta('venue1');
    expect(meta).toMatchObject({ seatCount: 1500, rules: { holdTtlMs: 120_000, maxSeatsPerToken: 6, maxSeatsPerHolder: 20, maxHoldLifetimeMs: 1_800_000 } });
    expect((await t.store.snapshot('venue1'))!.status).toHaveLength(1500);
    expect(await t.store.layout('venue1')).toEqual(JSON.parse(JSON.stringify(layout)));
    // The rules apply: 7 seats on one token is over the limit of 6.
    expect(await t.store.hold({ eventId: 'venue1', holder: 'a', seats: [0, 1, 2, 3, 4, 5, 6] })).toEqual({ ok: false, code: 'HOLD_LIMIT' });
    expect(await createEventFromLayout(t.store, 'venue1', layout)).toEqual({ ok: false, code: 'CONFLICT' });
  });

  it('refuses an invalid layout with every problem listed and creates nothing', async () => {
    const layout = generateVenue({ seats: 100 });
    layout.sections[0]!.rows[0]!.seats[1]!.label = layout.sections[0]!.rows[0]!.seats[0]!.label;
    layout.sections[0]!.rows[1]!.seats = [];
    const attempt = createEventFromLayout(t.store, 'venue2', layout);
    await expect(attempt).rejects.toBeInstanceOf(LayoutError);
    const issues = await attempt.catch((err: LayoutError) => err.issues.map((i) => i.code));
    expect(issues).toEqual(expect.arrayContaining(['DUPLICATE_SEAT', 'EMPTY_ROW']));
    expect(await t.store.meta('venue2')).toBeNull();
  });
});
