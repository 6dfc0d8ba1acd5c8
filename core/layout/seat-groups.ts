/**
 * Seats named by section and category: what a call that acts on whole parts
 * of a venue (a bulk block or unblock) means by `sections` and `categories`.
 * A seat belongs to the call when it is listed, lies in one of the sections,
 * or is of one of the categories (the union). Ids are compared exactly, as
 * layouts compare them (docs/layout.md).
 */
import type { CompiledLayout } from './compile.js';

export interface SeatGroups {
  /** seat indexes, kept as given (range is the store's to check) */
  seats?: readonly number[];
  /** section ids of the layout */
  sections?: readonly string[];
  /** category ids of the layout */
  categories?: readonly string[];
}

export type GroupSeats =
  | { ok: true; seats: number[] }
  /** ids the layout does not have, each list in the order given */
  | { ok: false; unknownSections: string[]; unknownCategories: string[] };

/** The seats of the groups, ascending and each once; or the ids the layout lacks. */
export function seatsOfGroups(compiled: Pick<CompiledLayout, 'sections' | 'categories' | 'rowStart' | 'seatCategory'>, groups: SeatGroups): GroupSeats {
  const sectionIndex = new Map(compiled.sections.map((s, i) => [s.id, i]));
  const categoryIndex = new Map(compiled.categories.map((c, i) => [c.id, i]));
  const unknownSections = [...new Set((groups.sections ?? []).filter((id) => !sectionIndex.has(id)))];
  const unknownCategories = [...new Set((groups.categories ?? []).filter((id) => !categoryIndex.has(id)))];
  if (unknownSections.length > 0 || unknownCategories.length > 0) return { ok: false, unknownSections, unknownCategories };

  const chosen = new Set<number>(groups.seats ?? []);
  for (const id of groups.sections ?? []) {
    const section = compiled.sections[sectionIndex.get(id)!]!;
    const first = compiled.rowStart[section.firstRow]!;
    const end = compiled.rowStart[section.firstRow + section.rowCount]!;
    for (let seat = first; seat < end; seat++) chosen.add(seat);
  }
  if (groups.categories && groups.categories.length > 0) {
    const wanted = new Set(groups.categories.map((id) => categoryIndex.get(id)!));
    const seatCategory = compiled.seatCategory;
    for (let seat = 0; seat < seatCategory.length; seat++) if (wanted.has(seatCategory[seat]!)) chosen.add(seat);
  }
  return { ok: true, seats: [...chosen].sort((a, b) => a - b) };
}
