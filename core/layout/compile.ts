import { LayoutError } from './issues.js';
import type { AreaShape, Category, Layout, SeatAttribute } from './schema.js';
import type { EventSettings } from './settings.js';
import type { SelectionSettings } from './selection-settings.js';
import { findContentIssues, resolveLayoutSettings } from './validate.js';

/**
 * A layout flattened for the hot path. Seats get dense indexes in row-major
 * order: section order, then row order, then seat order, so the seats of a row
 * are a contiguous index range [rowStart[r], rowStart[r + 1]).
 */
export interface CompiledLayout {
  name: string;
  currency: string;
  seatCount: number;
  /** The layout's overrides merged over DEFAULT_SETTINGS. */
  settings: EventSettings;
  /** The orphan policy and accessible-seat protection, merged over their defaults. */
  selection: SelectionSettings;
  categories: Category[];
  /** Per seat: index into `categories`. */
  seatCategory: Uint16Array;
  seatX: Float32Array;
  seatY: Float32Array;
  /** First seat index of each row; one extra entry at the end equals seatCount. */
  rowStart: Uint32Array;
  /** Per seat: its row number, an index into `rows` and `rowStart`. */
  seatRow: Uint32Array;
  rows: { section: number; label: string }[];
  sections: { id: string; label: string; firstRow: number; rowCount: number }[];
  /**
   * The general-admission areas (sections of kind `ga`), in layout order; an area's
   * position here is its area index, the one the store and the protocol use. They
   * are not in `sections`, which lists the seated sections only.
   */
  areas: CompiledArea[];
  /** The index of an area given its section id. */
  areaIndex(id: string): number | undefined;
  /** Per seat: its attributes as bits, SEAT_ATTRIBUTE_BITS. */
  seatAttrs: Uint8Array;
  /** Per seat: its place in best available, 0 best; equal ranks are ties (see rankSeats). */
  seatRank: Uint32Array;
  /** The layout's focal point, or the centre of the seats' bounding box. */
  focal: { x: number; y: number };
  /** Human labels of a seat; throws RangeError for an index out of range. */
  seatLabel(index: number): { section: string; row: string; seat: string };
  /** The index of a seat given its section id and row and seat labels. */
  seatIndex(section: string, row: string, seat: string): number | undefined;
  /** Whether two valid seat indexes are in the same row (false when either is out of range). */
  sameRow(a: number, b: number): boolean;
}

export interface CompiledArea {
  id: string;
  label: string;
  /** index into `categories` */
  category: number;
  capacity: number;
  shape: AreaShape;
}

/**
 * Compiles a layout, normally one returned by parseLayout. The semantic checks
 * are repeated (they are cheap) so a hand-built layout cannot produce
 * ambiguous lookups; failures throw LayoutError.
 */
export function compileLayout(layout: Layout): CompiledLayout {
  const resolved = resolveLayoutSettings(layout.settings);
  const issues = [...findContentIssues(layout), ...(resolved.ok ? [] : resolved.issues)];
  if (!resolved.ok || issues.length > 0) throw new LayoutError(issues);

  const categoryIndex = new Map(layout.categories.map((category, i) => [category.id, i]));
  let seatCount = 0;
  let rowCount = 0;
  for (const section of layout.sections) {
    rowCount += section.rows.length;
    for (const row of section.rows) seatCount += row.seats.length;
  }

  const seatCategory = new Uint16Array(seatCount);
  const seatX = new Float32Array(seatCount);
  const seatY = new Float32Array(seatCount);
  const seatRow = new Uint32Array(seatCount);
  const rowStart = new Uint32Array(rowCount + 1);
  const seatLabels: string[] = new Array<string>(seatCount);
  const rows: CompiledLayout['rows'] = [];
  const sections: CompiledLayout['sections'] = [];

  const areas: CompiledArea[] = [];
  let seat = 0;
  for (const section of layout.sections) {
    if (section.kind === 'ga') {
      // findContentIssues guarantees a declared category, a capacity and a shape.
      const { x, y, width, height } = section.shape as AreaShape;
      areas.push({ id: section.id, label: section.label, category: categoryIndex.get(section.category as string) as number, capacity: section.capacity as number, shape: { x, y, width, height } });
      continue;
    }
    const s = sections.length;
    sections.push({ id: section.id, label: section.label, firstRow: rows.length, rowCount: section.rows.length });
    for (const row of section.rows) {
      const r = rows.length;
      rows.push({ section: s, label: row.label });
      rowStart[r] = seat;
      const inherited = row.category ?? section.category;
      for (const { label, x, y, category } of row.seats) {
        // findContentIssues guarantees the chain ends in a declared category.
        seatCategory[seat] = categoryIndex.get((category ?? inherited) as string) as number;
        seatX[seat] = x;
        seatY[seat] = y;
        seatRow[seat] = r;
        seatLabels[seat] = label;
        seat++;
      }
    }
  }
  rowStart[rowCount] = seatCount;
  const areaById = new Map(areas.map((area, a) => [area.id, a]));

  const seatAttrs = new Uint8Array(seatCount);
  const explicitRank: (number | undefined)[] = new Array<number | undefined>(seatCount);
  // the bounding box from the document's numbers: exact, where the Float32 copies are not
  const box = { minX: Infinity, maxX: -Infinity, minY: Infinity, maxY: -Infinity };
  seat = 0;
  for (const section of layout.sections) {
    for (const row of section.rows) {
      for (const s of row.seats) {
        let bits = 0;
        for (const attr of s.attrs ?? []) bits |= SEAT_ATTRIBUTE_BITS[attr as SeatAttribute] ?? 0;
        seatAttrs[seat] = bits;
        explicitRank[seat] = s.rank;
        box.minX = Math.min(box.minX, s.x);
        box.maxX = Math.max(box.maxX, s.x);
        box.minY = Math.min(box.minY, s.y);
        box.maxY = Math.max(box.maxY, s.y);
        seat++;
      }
    }
  }
  const focal = layout.focal ?? { x: (box.minX + box.maxX) / 2, y: (box.minY + box.maxY) / 2 };
  const seatRank = rankSeats(seatX, seatY, explicitRank, focal);

  const lookup = createSeatLookup(sections, rows, rowStart, seatLabels);

  return {
    name: layout.name,
    currency: layout.currency,
    seatCount,
    settings: resolved.settings,
    selection: resolved.selection,
    categories: layout.categories.map(({ id, label, price }) => ({ id, label, price })),
    seatCategory,
    seatX,
    seatY,
    rowStart,
    seatRow,
    rows,
    sections,
    areas,
    areaIndex: (id) => areaById.get(id),
    seatAttrs,
    seatRank,
    focal: { x: focal.x, y: focal.y },
    seatLabel(index) {
      if (!Number.isInteger(index) || index < 0 || index >= seatCount) {
        throw new RangeError(`seat index ${index} is out of range [0, ${seatCount})`);
      }
      const row = rows[seatRow[index] as number] as CompiledLayout['rows'][number];
      const section = sections[row.section] as CompiledLayout['sections'][number];
      return { section: section.id, row: row.label, seat: seatLabels[index] as string };
    },
    seatIndex: lookup,
    sameRow(a, b) {
      return isSeat(a, seatCount) && isSeat(b, seatCount) && seatRow[a] === seatRow[b];
    },
  };
}

/** Seats per category: `result[c]` counts the seats of `compiled.categories[c]`. */
export function seatsByCategory(compiled: CompiledLayout): Uint32Array {
  const counts = new Uint32Array(compiled.categories.length);
  for (const category of compiled.seatCategory) counts[category]! += 1;
  return counts;
}

/** The bit of each seat attribute in `seatAttrs` (the store's scripts read the same bits). */
export const SEAT_ATTRIBUTE_BITS: Readonly<Record<SeatAttribute, number>> = Object.freeze({
  wheelchair: 1,
  companion: 2,
  aisle: 4,
  restrictedView: 8,
});

/**
 * Dense ranks, 0 best: seats with a layout `rank` first, by that rank; then
 * the others by their distance to the focal point, to the centimetre (closer
 * is better). Equal keys get equal ranks, so best available sees the tie and
 * breaks it at random.
 */
function rankSeats(xs: Float32Array, ys: Float32Array, explicit: readonly (number | undefined)[], focal: { x: number; y: number }): Uint32Array {
  const n = xs.length;
  const keyGroup = new Uint8Array(n);
  const keyValue = new Float64Array(n);
  for (let i = 0; i < n; i++) {
    const rank = explicit[i];
    if (rank !== undefined) {
      keyValue[i] = rank;
    } else {
      keyGroup[i] = 1;
      keyValue[i] = Math.round(Math.hypot(xs[i]! - focal.x, ys[i]! - focal.y) * 100);
    }
  }
  const order = Array.from({ length: n }, (_, i) => i).sort((a, b) => keyGroup[a]! - keyGroup[b]! || keyValue[a]! - keyValue[b]!);
  const ranks = new Uint32Array(n);
  let rank = 0;
  for (let k = 0; k < n; k++) {
    const i = order[k]!;
    const prev = k > 0 ? order[k - 1]! : -1;
    if (k > 0 && (keyGroup[i] !== keyGroup[prev] || keyValue[i] !== keyValue[prev])) rank++;
    ranks[i] = rank;
  }
  return ranks;
}

function isSeat(index: number, seatCount: number): boolean {
  return Number.isInteger(index) && index >= 0 && index < seatCount;
}

/**
 * Reverse lookup by labels. Sections and rows are indexed up front; the
 * per-seat map is built on first use, since most consumers never need it and
 * it is the only part that costs memory per seat.
 */
function createSeatLookup(
  sections: CompiledLayout['sections'],
  rows: CompiledLayout['rows'],
  rowStart: Uint32Array,
  seatLabels: readonly string[],
): CompiledLayout['seatIndex'] {
  const sectionById = new Map(sections.map((section, s) => [section.id, s]));
  // Keys lead with a number, so "<number>:<label>" is unambiguous whatever the label holds.
  const rowByKey = new Map(rows.map((row, r) => [`${row.section}:${row.label}`, r]));
  let seatByKey: Map<string, number> | undefined;

  const buildSeatMap = (): Map<string, number> => {
    const map = new Map<string, number>();
    for (let r = 0; r < rows.length; r++) {
      for (let seat = rowStart[r] as number; seat < (rowStart[r + 1] as number); seat++) {
        map.set(`${r}:${seatLabels[seat] as string}`, seat);
      }
    }
    return map;
  };

  return (sectionId, rowLabel, seatLabel) => {
    const section = sectionById.get(sectionId);
    if (section === undefined) return undefined;
    const row = rowByKey.get(`${section}:${rowLabel}`);
    if (row === undefined) return undefined;
    seatByKey ??= buildSeatMap();
    return seatByKey.get(`${row}:${seatLabel}`);
  };
}
