import { readdirSync, readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import {
  compileLayout,
  DEFAULT_SETTINGS,
  eventSettingsSchema,
  LAYOUT_ISSUE_CATALOGUE,
  LAYOUT_ISSUE_CODES,
  LayoutError,
  MAX_AREAS,
  MAX_SEATS,
  parseLayout,
  resolveSettings,
  seatsByCategory,
  validateLayout,
  type LayoutIssue,
  type LayoutIssueCode,
} from '../core/layout/index.js';

/** A layout document as it arrives from JSON: currency and settings optional, anything goes in settings. */
interface SeatDoc { label: string; x: number | string; y: number; category?: string; attrs?: string[]; rank?: number }
interface RowDoc { label: string; category?: string; seats: SeatDoc[] }
interface SectionDoc { id: string; label: string; kind?: string; category?: string; rows: RowDoc[]; capacity?: number; shape?: { x: number; y: number; width: number; height: number } }
interface LayoutDoc {
  version: number;
  name: string;
  currency?: string;
  categories: { id: string; label: string; price: number }[];
  sections: SectionDoc[];
  settings?: unknown;
  [extra: string]: unknown;
}

const seat = (label: string, x: number, y: number, category?: string): SeatDoc =>
  category === undefined ? { label, x, y } : { label, x, y, category };

/**
 * Two sections, three rows, seven seats. Categories are set at every level of
 * the chain so inheritance can be checked seat by seat:
 *   A/1: row says vip; seat 3 overrides with std
 *   A/2: nothing on the row; the section says std
 *   B/1: no section category; the row says std, seat 1 overrides with vip
 */
function hall(): LayoutDoc {
  return {
    version: 1,
    name: 'Test Hall',
    categories: [
      { id: 'vip', label: 'VIP', price: 9_900 },
      { id: 'std', label: 'Standard', price: 4_900 },
    ],
    sections: [
      {
        id: 'A',
        label: 'Section A',
        category: 'std',
        rows: [
          { label: '1', category: 'vip', seats: [seat('1', 0, 0), seat('2', 1, 0), seat('3', 2, 0, 'std')] },
          { label: '2', seats: [seat('1', 0, 1), seat('2', 1, 1.5)] },
        ],
      },
      {
        id: 'B',
        label: 'Section B',
        rows: [{ label: '1', category: 'std', seats: [seat('1', 5, 0, 'vip'), seat('2', 6, 0)] }],
      },
    ],
  };
}

function issuesOf(input: unknown): LayoutIssue[] {
  const result = validateLayout(input);
  return result.ok ? [] : result.issues;
}

function oversized(): LayoutDoc {
  const seatsPerRow = 500;
  const rowCount = Math.ceil((MAX_SEATS + 1) / seatsPerRow);
  const rows = Array.from({ length: rowCount }, (_, r) => ({
    label: String(r + 1),
    seats: Array.from({ length: seatsPerRow }, (_, k) => seat(String(k + 1), k, r)),
  }));
  return { ...hall(), sections: [{ id: 'X', label: 'Huge', category: 'std', rows }] };
}

/** One document per issue code that produces exactly that one issue, at `path`. */
const producesOnly: Record<LayoutIssueCode, { make: () => LayoutDoc; path: string }> = {
  INVALID_SHAPE: {
    make: () => withChange((doc) => (doc.sections[0]!.rows[0]!.seats[1]!.x = '1')),
    path: 'sections[0].rows[0].seats[1].x',
  },
  DUPLICATE_CATEGORY: {
    make: () => withChange((doc) => doc.categories.push({ id: 'vip', label: 'VIP again', price: 1 })),
    path: 'categories[2].id',
  },
  DUPLICATE_SECTION: { make: () => withChange((doc) => (doc.sections[1]!.id = 'A')), path: 'sections[1].id' },
  DUPLICATE_ROW: { make: () => withChange((doc) => (doc.sections[0]!.rows[1]!.label = '1')), path: 'sections[0].rows[1].label' },
  DUPLICATE_SEAT: {
    make: () => withChange((doc) => (doc.sections[0]!.rows[0]!.seats[2]!.label = '1')),
    path: 'sections[0].rows[0].seats[2].label',
  },
  EMPTY_SECTION: { make: () => withChange((doc) => (doc.sections[1]!.rows = [])), path: 'sections[1].rows' },
  EMPTY_ROW: { make: () => withChange((doc) => (doc.sections[0]!.rows[1]!.seats = [])), path: 'sections[0].rows[1].seats' },
  UNKNOWN_CATEGORY: {
    make: () => withChange((doc) => (doc.sections[0]!.rows[0]!.category = 'gold')),
    path: 'sections[0].rows[0].category',
  },
  MISSING_CATEGORY: {
    // B/1 seat 1 still names vip; seat 2 is left with nothing.
    make: () => withChange((doc) => delete doc.sections[1]!.rows[0]!.category),
    path: 'sections[1].rows[0].seats[1]',
  },
  UNKNOWN_ATTRIBUTE: {
    make: () => withChange((doc) => (doc.sections[0]!.rows[0]!.seats[1]!.attrs = ['aisle', 'wheelchar'])),
    path: 'sections[0].rows[0].seats[1].attrs[1]',
  },
  TOO_MANY_SEATS: { make: oversized, path: 'sections' },
  INCOMPLETE_AREA: { make: () => withChange((doc) => doc.sections.push({ ...floor(), capacity: undefined })), path: 'sections[2].capacity' },
  MIXED_SECTION: { make: () => withChange((doc) => (doc.sections[1]!.capacity = 10)), path: 'sections[1].capacity' },
  NO_SEATS: { make: () => withChange((doc) => (doc.sections = [floor()])), path: 'sections' },
  TOO_MANY_AREAS: {
    make: () => withChange((doc) => doc.sections.push(...Array.from({ length: MAX_AREAS + 1 }, (_, a) => ({ ...floor(), id: `F${a}` })))),
    path: 'sections',
  },
  BAD_SETTINGS: { make: () => ({ ...hall(), settings: { holdTtlMs: 0 } }), path: 'settings.holdTtlMs' },
};

/** A general-admission floor for 300, drawn below the hall. */
function floor(): SectionDoc {
  // as a document writes it: no rows at all
  const area = { id: 'FLOOR', label: 'Floor', kind: 'ga', category: 'std', capacity: 300, shape: { x: 0, y: 10, width: 20, height: 8 } };
  return area as unknown as SectionDoc;
}

function withChange(change: (doc: LayoutDoc) => unknown): LayoutDoc {
  const doc = hall();
  change(doc);
  return doc;
}

describe('validation', () => {
  it('accepts the reference hall and fills in the default currency', () => {
    const layout = parseLayout(hall());
    expect(layout.currency).toBe('EUR');
    expect(layout.settings).toBeUndefined();
    expect(layout.sections.map((section) => section.id)).toEqual(['A', 'B']);
  });

  it('has a case for every code of the catalogue, and only those', () => {
    expect(Object.keys(producesOnly).sort()).toEqual([...LAYOUT_ISSUE_CODES].sort());
    expect(LAYOUT_ISSUE_CODES).toEqual(Object.keys(LAYOUT_ISSUE_CATALOGUE));
  });

  it.each(LAYOUT_ISSUE_CODES)('reports %s alone, at the right path', (code) => {
    const { make, path } = producesOnly[code];
    const issues = issuesOf(make());
    expect(issues).toEqual([{ code, path, message: expect.any(String) }]);
    expect(issues[0]!.message.length).toBeGreaterThan(5);
  });

  it('collects every problem of a document in one pass', () => {
    const doc = hall();
    doc.categories.push({ id: 'std', label: 'Dup', price: 0 });
    doc.sections[1]!.id = 'A';
    doc.sections[0]!.rows[0]!.seats[1]!.label = '1';
    doc.sections[0]!.rows[1]!.category = 'nope';
    doc.settings = { maxSeatsPerToken: 50 };
    const codes = issuesOf(doc).map((issue) => issue.code);
    expect(codes.sort()).toEqual(['BAD_SETTINGS', 'DUPLICATE_CATEGORY', 'DUPLICATE_SEAT', 'DUPLICATE_SECTION', 'UNKNOWN_CATEGORY']);
  });

  it('reports structural problems and bad settings together', () => {
    const doc: LayoutDoc = { ...hall(), name: '', settings: { holdTtlMs: 'soon' } };
    doc.sections[0]!.rows[0]!.seats[0]!.label = 'x'.repeat(33);
    expect(issuesOf(doc).map(({ code, path }) => `${code} ${path}`).sort()).toEqual([
      'BAD_SETTINGS settings.holdTtlMs',
      'INVALID_SHAPE name',
      'INVALID_SHAPE sections[0].rows[0].seats[0].label',
    ]);
  });

  it('rejects unknown fields, so typos do not pass silently', () => {
    const doc = hall();
    (doc.sections[0]!.rows[1] as unknown as Record<string, unknown>)['categroy'] = 'vip';
    expect(issuesOf(doc)).toEqual([{ code: 'INVALID_SHAPE', path: 'sections[0].rows[1]', message: expect.stringContaining('categroy') }]);
  });

  it.each([
    ['version 2', (doc: LayoutDoc) => (doc.version = 2), 'version'],
    ['a fractional price', (doc: LayoutDoc) => (doc.categories[0]!.price = 12.5), 'categories[0].price'],
    ['a negative price', (doc: LayoutDoc) => (doc.categories[0]!.price = -1), 'categories[0].price'],
    ['a lowercase currency', (doc: LayoutDoc) => (doc.currency = 'eur'), 'currency'],
    ['an empty id', (doc: LayoutDoc) => (doc.sections[0]!.id = ''), 'sections[0].id'],
    ['a 33-character id', (doc: LayoutDoc) => (doc.categories[1]!.id = 'c'.repeat(33)), 'categories[1].id'],
    ['a blank label', (doc: LayoutDoc) => (doc.sections[1]!.rows[0]!.label = '  '), 'sections[1].rows[0].label'],
    ['no sections', (doc: LayoutDoc) => (doc.sections = []), 'sections'],
  ])('treats %s as INVALID_SHAPE', (_name, change, path) => {
    const issues = issuesOf(withChange(change));
    expect(issues.map((issue) => issue.code)).toContain('INVALID_SHAPE');
    expect(issues.map((issue) => issue.path)).toContain(path);
  });

  it('accepts labels of exactly 32 characters', () => {
    expect(issuesOf(withChange((doc) => (doc.sections[0]!.label = 'L'.repeat(32))))).toEqual([]);
  });

  it('reports a bad category once where it is written, not at every seat inheriting it', () => {
    const doc = withChange((d) => (d.sections[0]!.category = 'gold'));
    expect(issuesOf(doc)).toEqual([{ code: 'UNKNOWN_CATEGORY', path: 'sections[0].category', message: expect.any(String) }]);
  });

  it('rejects a document that is not an object at all', () => {
    expect(issuesOf(42)).toEqual([{ code: 'INVALID_SHAPE', path: '', message: expect.any(String) }]);
  });

  it('throws a LayoutError whose message names the first problems', () => {
    const doc = hall();
    doc.sections[0]!.rows[0]!.seats = doc.sections[0]!.rows[0]!.seats.map((s) => ({ ...s, label: 'same' }));
    doc.sections[0]!.rows[1]!.seats = doc.sections[0]!.rows[1]!.seats.map((s) => ({ ...s, label: 'same' }));
    const b1 = doc.sections[1]!.rows[0]!;
    b1.seats = [...b1.seats, ...b1.seats, ...b1.seats]; // two labels, three times each
    let error: unknown;
    try {
      parseLayout(doc);
    } catch (caught) {
      error = caught;
    }
    expect(error).toBeInstanceOf(LayoutError);
    expect(error).toBeInstanceOf(Error);
    const { issues, message } = error as LayoutError;
    expect(issues).toHaveLength(2 + 1 + 4);
    expect(issues.every((issue) => issue.code === 'DUPLICATE_SEAT')).toBe(true);
    expect(message).toContain('7 problems');
    expect(message).toContain('DUPLICATE_SEAT at sections[0].rows[0].seats[1].label');
    expect(message).toContain('...and 2 more');
    expect(message).not.toContain('sections[1].rows[0].seats[5]');
  });
});

describe('settings', () => {
  it('defaults to DEFAULT_SETTINGS', () => {
    expect(DEFAULT_SETTINGS).toEqual({ holdTtlMs: 600_000, maxHoldLifetimeMs: 1_800_000, maxSeatsPerToken: 10, maxSeatsPerHolder: 20, paymentWindowMs: 900_000 });
    expect(compileLayout(parseLayout(hall())).settings).toEqual(DEFAULT_SETTINGS);
  });

  it('merges partial overrides over the defaults, keeping only the overrides in the layout', () => {
    const layout = parseLayout({ ...hall(), settings: { maxSeatsPerToken: 4, holdTtlMs: 120_000 } });
    expect(layout.settings).toEqual({ maxSeatsPerToken: 4, holdTtlMs: 120_000 });
    expect(compileLayout(layout).settings).toEqual({ ...DEFAULT_SETTINGS, maxSeatsPerToken: 4, holdTtlMs: 120_000 });
  });

  it('accepts raising a limit together with the limit that bounds it', () => {
    const settings = { holdTtlMs: 3_600_000, maxHoldLifetimeMs: 7_200_000, maxSeatsPerToken: 30, maxSeatsPerHolder: 40 };
    expect(compileLayout(parseLayout({ ...hall(), settings })).settings).toEqual({ ...settings, paymentWindowMs: 900_000 });
  });

  it.each([
    ['a ttl above the default lifetime', { holdTtlMs: 3_600_000 }, 'settings.holdTtlMs'],
    ['more seats per token than per holder', { maxSeatsPerToken: 30 }, 'settings.maxSeatsPerToken'],
    ['a zero', { maxSeatsPerHolder: 0 }, 'settings.maxSeatsPerHolder'],
    ['a fraction', { maxSeatsPerToken: 2.5 }, 'settings.maxSeatsPerToken'],
    ['a ttl over 24 hours', { holdTtlMs: 86_400_001, maxHoldLifetimeMs: 86_400_000 }, 'settings.holdTtlMs'],
    ['a payment window over 7 days', { paymentWindowMs: 604_800_001 }, 'settings.paymentWindowMs'],
    ['over 1000 seats per token', { maxSeatsPerToken: 1_001, maxSeatsPerHolder: 2_000 }, 'settings.maxSeatsPerToken'],
    ['an unknown field', { holdTTL: 5 }, 'settings'],
    ['a non-object', [1, 2], 'settings'],
    ['null', null, 'settings'],
  ])('rejects %s as BAD_SETTINGS', (_name, settings, path) => {
    const issues = issuesOf({ ...hall(), settings });
    expect(issues).toEqual([{ code: 'BAD_SETTINGS', path, message: expect.any(String) }]);
  });

  it('exposes the same rules to other callers', () => {
    expect(resolveSettings()).toEqual({ ok: true, settings: DEFAULT_SETTINGS, overrides: {} });
    expect(resolveSettings({ maxSeatsPerHolder: 5 }).ok).toBe(false);
    expect(eventSettingsSchema.safeParse(DEFAULT_SETTINGS).success).toBe(true);
    expect(eventSettingsSchema.safeParse({ ...DEFAULT_SETTINGS, maxHoldLifetimeMs: 1_000 }).success).toBe(false);
  });

  it('refuses to compile a hand-built layout with bad settings', () => {
    const layout = { ...parseLayout(hall()), settings: { maxSeatsPerToken: 99 } };
    expect(() => compileLayout(layout)).toThrow(LayoutError);
  });
});

describe('compiled layout', () => {
  const compiled = compileLayout(parseLayout(hall()));

  it('numbers seats row-major: section, then row, then seat order', () => {
    expect(compiled.seatCount).toBe(7);
    const labels = Array.from({ length: compiled.seatCount }, (_, i) => Object.values(compiled.seatLabel(i)).join('/'));
    expect(labels).toEqual(['A/1/1', 'A/1/2', 'A/1/3', 'A/2/1', 'A/2/2', 'B/1/1', 'B/1/2']);
  });

  it('bounds each row with rowStart and maps each seat to its row', () => {
    expect(Array.from(compiled.rowStart)).toEqual([0, 3, 5, 7]);
    expect(Array.from(compiled.seatRow)).toEqual([0, 0, 0, 1, 1, 2, 2]);
    expect(compiled.rows).toEqual([
      { section: 0, label: '1' },
      { section: 0, label: '2' },
      { section: 1, label: '1' },
    ]);
    expect(compiled.sections).toEqual([
      { id: 'A', label: 'Section A', firstRow: 0, rowCount: 2 },
      { id: 'B', label: 'Section B', firstRow: 2, rowCount: 1 },
    ]);
  });

  it('resolves categories seat, then row, then section', () => {
    const ids = Array.from(compiled.seatCategory, (c) => compiled.categories[c]!.id);
    expect(ids).toEqual(['vip', 'vip', 'std', 'std', 'std', 'vip', 'std']);
    expect(Array.from(seatsByCategory(compiled))).toEqual([3, 4]);
  });

  it('keeps positions, names, currency and prices', () => {
    expect(Array.from(compiled.seatX)).toEqual([0, 1, 2, 0, 1, 5, 6]);
    expect(Array.from(compiled.seatY)).toEqual([0, 0, 0, 1, 1.5, 0, 0]);
    expect(compiled.name).toBe('Test Hall');
    expect(compiled.currency).toBe('EUR');
    expect(compiled.categories).toEqual([
      { id: 'vip', label: 'VIP', price: 9_900 },
      { id: 'std', label: 'Standard', price: 4_900 },
    ]);
  });

  it('round-trips seatLabel and seatIndex for every seat', () => {
    for (let i = 0; i < compiled.seatCount; i++) {
      const { section, row, seat: label } = compiled.seatLabel(i);
      expect(compiled.seatIndex(section, row, label)).toBe(i);
    }
  });

  it('answers undefined for seats that do not exist and throws for bad indexes', () => {
    expect(compiled.seatIndex('C', '1', '1')).toBeUndefined();
    expect(compiled.seatIndex('A', '3', '1')).toBeUndefined();
    expect(compiled.seatIndex('A', '1', '4')).toBeUndefined();
    expect(compiled.seatIndex('B', '2', '1')).toBeUndefined();
    expect(() => compiled.seatLabel(7)).toThrow(RangeError);
    expect(() => compiled.seatLabel(-1)).toThrow(RangeError);
    expect(() => compiled.seatLabel(1.5)).toThrow(RangeError);
  });

  it('tells seats of one row from seats of different rows', () => {
    expect(compiled.sameRow(0, 2)).toBe(true);
    expect(compiled.sameRow(2, 3)).toBe(false); // A/1 ends, A/2 begins
    expect(compiled.sameRow(3, 4)).toBe(true);
    expect(compiled.sameRow(4, 5)).toBe(false); // across sections
    expect(compiled.sameRow(6, 6)).toBe(true);
    expect(compiled.sameRow(6, 7)).toBe(false); // out of range
  });

  it('keeps lookups unambiguous whatever characters the labels hold', () => {
    const doc = hall();
    doc.sections[0]!.rows = [
      { label: '1', seats: [seat('1:1', 0, 0), seat('1', 1, 0)] },
      { label: '1:1', seats: [seat('1', 0, 1)] },
    ];
    const tricky = compileLayout(parseLayout(doc));
    expect(tricky.seatIndex('A', '1', '1:1')).toBe(0);
    expect(tricky.seatIndex('A', '1', '1')).toBe(1);
    expect(tricky.seatIndex('A', '1:1', '1')).toBe(2);
  });

  it('lays out rows of varying length contiguously', () => {
    const lengths = [1, 7, 3, 12, 2, 5];
    const doc = hall();
    doc.sections = [0, 1].map((s) => ({
      id: `S${s}`,
      label: `S${s}`,
      category: 'std',
      rows: lengths.map((length, r) => ({
        label: String(r + 1),
        seats: Array.from({ length: length + s }, (_, k) => seat(String(k + 1), k, r)),
      })),
    }));
    const varied = compileLayout(parseLayout(doc));
    const rowCount = varied.rows.length;
    expect(rowCount).toBe(12);
    expect(varied.rowStart[rowCount]).toBe(varied.seatCount);
    for (let r = 0; r < rowCount; r++) {
      const start = varied.rowStart[r]!;
      const end = varied.rowStart[r + 1]!;
      expect(end - start).toBe(lengths[r % lengths.length]! + Math.floor(r / lengths.length));
      for (let i = start; i < end; i++) {
        expect(varied.seatRow[i]).toBe(r);
        expect(varied.seatLabel(i).seat).toBe(String(i - start + 1));
        if (i + 1 < end) expect(varied.sameRow(i, i + 1)).toBe(true);
      }
      if (end < varied.seatCount) expect(varied.sameRow(end - 1, end)).toBe(false);
    }
  });

  it('refuses to compile a hand-built layout with duplicate seats', () => {
    const layout = parseLayout(hall());
    layout.sections[1]!.rows[0]!.seats.push({ label: '1', x: 9, y: 9 });
    expect(() => compileLayout(layout)).toThrow(/DUPLICATE_SEAT/);
  });
});

describe('general-admission areas', () => {
  it('compiles ga sections to an area index beside the seats, and keeps seated sections apart', () => {
    const doc = hall();
    doc.sections.splice(1, 0, floor());
    const layout = parseLayout(doc);
    expect(layout.sections[1]).toMatchObject({ kind: 'ga', rows: [], capacity: 300 });
    const compiled = compileLayout(layout);
    expect(compiled.seatCount).toBe(7);
    expect(compiled.sections.map((s) => s.id)).toEqual(['A', 'B']);
    expect(compiled.rows.map((r) => r.section)).toEqual([0, 0, 1]);
    expect(compiled.areas).toEqual([{ id: 'FLOOR', label: 'Floor', category: 1, capacity: 300, shape: { x: 0, y: 10, width: 20, height: 8 } }]);
    expect(compiled.areaIndex('FLOOR')).toBe(0);
    expect(compiled.areaIndex('A')).toBeUndefined();
  });

  it('names each missing field of an area, and rows given to one', () => {
    const doc = hall();
    doc.sections.push({ id: 'P', label: 'Pit', kind: 'ga', rows: [{ label: '1', seats: [seat('1', 0, 0, 'std')] }] });
    const result = validateLayout(doc);
    expect(result.ok).toBe(false);
    if (result.ok) return;
    expect(result.issues.map((i) => [i.code, i.path])).toEqual([
      ['INCOMPLETE_AREA', 'sections[2].capacity'],
      ['INCOMPLETE_AREA', 'sections[2].category'],
      ['INCOMPLETE_AREA', 'sections[2].shape'],
      ['MIXED_SECTION', 'sections[2].rows'],
    ]);
  });

  it('refuses a capacity that is not a positive integer, an unknown kind and an unknown area category', () => {
    for (const [change, code, path] of [
      [(a: SectionDoc) => (a.capacity = 0), 'INVALID_SHAPE', 'sections[2].capacity'],
      [(a: SectionDoc) => (a.capacity = 2.5), 'INVALID_SHAPE', 'sections[2].capacity'],
      [(a: SectionDoc) => (a.kind = 'standing'), 'INVALID_SHAPE', 'sections[2].kind'],
      [(a: SectionDoc) => (a.category = 'gold'), 'UNKNOWN_CATEGORY', 'sections[2].category'],
    ] as const) {
      const area = floor();
      change(area);
      const result = validateLayout(withChange((doc) => doc.sections.push(area)));
      expect(result.ok ? [] : result.issues.map((i) => [i.code, i.path])).toEqual([[code, path]]);
    }
  });
});

describe('module boundaries', () => {
  it('core/layout imports nothing from gateway/', () => {
    const dir = new URL('../core/layout/', import.meta.url);
    const sources = readdirSync(dir).filter((file) => file.endsWith('.ts'));
    expect(sources.length).toBeGreaterThan(0);
    for (const file of sources) {
      expect(readFileSync(new URL(file, dir), 'utf8')).not.toMatch(/from\s+['"][^'"]*gateway/);
    }
  });
});

describe('seat attributes, focal point, ranks and selection settings', () => {
  it('compiles attrs to bits, serves the focal point and ranks seats by rank, then by distance', () => {
    const doc = hall();
    doc.sections[0]!.rows[0]!.seats[0]!.attrs = ['wheelchair', 'aisle'];
    doc.sections[0]!.rows[0]!.seats[1]!.attrs = ['companion'];
    doc.sections[1]!.rows[0]!.seats[1]!.rank = 7;
    doc.focal = { x: 1, y: 0 };
    const compiled = compileLayout(parseLayout(doc));
    expect([...compiled.seatAttrs]).toEqual([1 | 4, 2, 0, 0, 0, 0, 0]);
    expect(compiled.focal).toEqual({ x: 1, y: 0 });
    // the ranked seat (6) first; then by distance to (1, 0): seat 1 (0), seats 0 and 2 (1 m, a tie), seat 3 (√2), seat 4 (1.5), seat 5 (4)
    expect([...compiled.seatRank]).toEqual([2, 1, 2, 3, 4, 5, 0]);
  });

  it('defaults the focal point to the centre of the bounding box', () => {
    expect(compileLayout(parseLayout(hall())).focal).toEqual({ x: 3, y: 0.75 });
  });

  it('refuses a seat that is both wheelchair and companion, and an attribute listed twice', () => {
    const both = withChange((doc) => (doc.sections[0]!.rows[0]!.seats[0]!.attrs = ['wheelchair', 'companion']));
    expect(issuesOf(both)).toEqual([{ code: 'UNKNOWN_ATTRIBUTE', path: 'sections[0].rows[0].seats[0].attrs', message: expect.stringContaining('not both') }]);
    const twice = withChange((doc) => (doc.sections[0]!.rows[0]!.seats[0]!.attrs = ['aisle', 'aisle']));
    expect(issuesOf(twice)).toEqual([{ code: 'UNKNOWN_ATTRIBUTE', path: 'sections[0].rows[0].seats[0].attrs[1]', message: expect.stringContaining('twice') }]);
  });

  it('refuses a rank that is not a non-negative integer, and a malformed focal point', () => {
    expect(issuesOf(withChange((doc) => (doc.sections[0]!.rows[0]!.seats[0]!.rank = 1.5)))[0]?.code).toBe('INVALID_SHAPE');
    expect(issuesOf({ ...hall(), focal: { x: 1 } })[0]).toMatchObject({ code: 'INVALID_SHAPE', path: 'focal.y' });
  });

  it('takes orphanPolicy and accessible beside the hold limits, and keeps them as written', () => {
    const settings = { maxSeatsPerToken: 4, orphanPolicy: 'lenient', accessible: { protectUntil: 1_800_000_000_000, maxCompanionsPerWheelchair: 2 } };
    const layout = parseLayout({ ...hall(), settings });
    expect(layout.settings).toEqual(settings);
    const compiled = compileLayout(layout);
    expect(compiled.settings).toEqual({ ...DEFAULT_SETTINGS, maxSeatsPerToken: 4 });
    expect(compiled.selection).toEqual({ orphanPolicy: 'lenient', accessible: { protectUntil: 1_800_000_000_000, maxCompanionsPerWheelchair: 2 } });
    expect(compileLayout(parseLayout(hall())).selection).toEqual({ orphanPolicy: 'off', accessible: { protectUntil: null, maxCompanionsPerWheelchair: 1 } });
  });

  it('reports bad selection settings as BAD_SETTINGS at their path', () => {
    expect(issuesOf({ ...hall(), settings: { orphanPolicy: 'sometimes' } })).toEqual([{ code: 'BAD_SETTINGS', path: 'settings.orphanPolicy', message: expect.any(String) }]);
    expect(issuesOf({ ...hall(), settings: { accessible: { maxCompanionsPerWheelchair: 4 } } })).toEqual([
      { code: 'BAD_SETTINGS', path: 'settings.accessible.maxCompanionsPerWheelchair', message: expect.any(String) },
    ]);
    expect(issuesOf({ ...hall(), settings: { accessible: { until: 1 } } })[0]).toMatchObject({ code: 'BAD_SETTINGS', path: 'settings.accessible' });
  });
});
