/**
 * Availability of an event from its seat states and compiled layout: seats
 * per state in total, per category and per section, and per section and per
 * category the largest block of adjacent free seats, what a box-office
 * clerk asks first ("six together?"). One pass over the seats.
 *
 * Adjacent (docs/layout.md, "Blocks of adjacent seats"): two seats are
 * adjacent when they are in the same row and their seat indexes differ by
 * one, i.e. they follow each other in the row's seat list. A block is a run
 * of adjacent free seats; a category's block also has every seat of that
 * category, so a category change inside a row ends it.
 */
import type { CompiledLayout } from './compile.js';

/** Seat states as stored (core/store/seat-state.ts), in the order of the counts. */
export const STATE_NAMES = ['free', 'held', 'booked', 'blocked', 'reserved'] as const;
/** states counted (reserved: a sales channel's free seat, docs/store.md#sales-channels) */
const STATES = STATE_NAMES.length;
export type StateCounts = Record<(typeof STATE_NAMES)[number], number>;

/** The largest block of adjacent free seats: its size and first seat (null when no seat is free). */
export interface FreeBlock {
  size: number;
  first: number | null;
}

export type GroupAvailability = { id: string; label: string } & StateCounts & { largestBlock: FreeBlock };

export interface AvailabilityCounts {
  totals: StateCounts;
  /** per category of the layout, in its order; empty without a layout */
  categories: GroupAvailability[];
  /** per section of the layout, in its order; empty without a layout */
  sections: GroupAvailability[];
}

type Layout = Pick<CompiledLayout, 'categories' | 'sections' | 'rows' | 'rowStart' | 'seatCategory'>;

const FREE = 0;

export function countAvailability(status: Uint8Array, compiled: Layout | null): AvailabilityCounts {
  const totals = new Float64Array(STATES);
  if (!compiled) {
    for (let i = 0; i < status.length; i++) {
      const s = status[i]!;
      if (s < STATES) totals[s]! += 1;
    }
    return { totals: counts(totals, 0), categories: [], sections: [] };
  }
  const { categories, sections, rows, rowStart, seatCategory } = compiled;
  const byCategory = new Float64Array(categories.length * STATES);
  const bySection = new Float64Array(sections.length * STATES);
  const categoryBest = new Int32Array(categories.length);
  const categoryFirst = new Int32Array(categories.length).fill(-1);
  const sectionBest = new Int32Array(sections.length);
  const sectionFirst = new Int32Array(sections.length).fill(-1);

  for (let r = 0; r < rows.length; r++) {
    const section = rows[r]!.section;
    let sectionRun = 0;
    let categoryRun = 0;
    let runCategory = -1;
    for (let i = rowStart[r]!; i < rowStart[r + 1]!; i++) {
      const s = status[i]!;
      if (s >= STATES) continue; // not a known state
      const c = seatCategory[i]!;
      totals[s]! += 1;
      byCategory[c * STATES + s]! += 1;
      bySection[section * STATES + s]! += 1;
      if (s !== FREE) {
        sectionRun = 0;
        categoryRun = 0;
        continue;
      }
      sectionRun++;
      if (sectionRun > sectionBest[section]!) {
        sectionBest[section] = sectionRun;
        sectionFirst[section] = i - sectionRun + 1;
      }
      categoryRun = categoryRun > 0 && runCategory === c ? categoryRun + 1 : 1;
      runCategory = c;
      if (categoryRun > categoryBest[c]!) {
        categoryBest[c] = categoryRun;
        categoryFirst[c] = i - categoryRun + 1;
      }
    }
  }
  const block = (best: Int32Array, first: Int32Array, i: number): FreeBlock => ({ size: best[i]!, first: first[i]! < 0 ? null : first[i]! });
  return {
    totals: counts(totals, 0),
    categories: categories.map((c, i) => ({ id: c.id, label: c.label, ...counts(byCategory, i * STATES), largestBlock: block(categoryBest, categoryFirst, i) })),
    sections: sections.map((s, i) => ({ id: s.id, label: s.label, ...counts(bySection, i * STATES), largestBlock: block(sectionBest, sectionFirst, i) })),
  };
}

function counts(a: Float64Array, at: number): StateCounts {
  return { free: a[at]!, held: a[at + 1]!, booked: a[at + 2]!, blocked: a[at + 3]!, reserved: a[at + 4]! };
}
