import { formatPath, joinPath, LayoutError, type LayoutIssue } from './issues.js';
import { layoutStructureSchema, type Layout } from './schema.js';
import { resolveSettings, type EventSettings } from './settings.js';
import { resolveSelectionSettings, splitSettings, type SelectionSettings } from './selection-settings.js';
import { MAX_AREAS, SEAT_ATTRIBUTES, type LayoutSettingsOverrides, type Section } from './schema.js';

/** The largest layout accepted; the seat status string and the typed arrays are sized by it. */
export const MAX_SEATS = 250_000;

export type LayoutValidation = { ok: true; layout: Layout } | { ok: false; issues: LayoutIssue[] };

/**
 * Checks a layout document and reports every problem found. Structure comes
 * first (zod); the semantic checks need a sound structure, so they run only
 * when it is. Settings are checked on their own, so their problems never hide
 * the others.
 */
export function validateLayout(input: unknown): LayoutValidation {
  // Refuse oversized documents before walking them in depth.
  const seatCount = countSeatsLoosely(input);
  if (seatCount > MAX_SEATS) return { ok: false, issues: [tooManySeats(seatCount)] };

  const issues: LayoutIssue[] = [];
  const structure = layoutStructureSchema.safeParse(input);
  if (!structure.success) {
    for (const issue of structure.error.issues) {
      issues.push({ code: 'INVALID_SHAPE', path: formatPath(issue.path), message: issue.message });
    }
  }
  const rawSettings = isRecord(input) ? input['settings'] : undefined;
  const settings = resolveLayoutSettings(rawSettings);
  if (!settings.ok) issues.push(...settings.issues);
  if (structure.success) issues.push(...findContentIssues(structure.data));
  if (!structure.success || !settings.ok || issues.length > 0) return { ok: false, issues };

  const { version, name, currency, categories, sections, focal } = structure.data;
  const layout: Layout = { version, name, currency, categories, sections };
  if (focal !== undefined) layout.focal = focal;
  if (rawSettings !== undefined) layout.settings = settings.overrides;
  return { ok: true, layout };
}

/** Validates a layout document; throws LayoutError listing every problem. */
export function parseLayout(input: unknown): Layout {
  const result = validateLayout(input);
  if (!result.ok) throw new LayoutError(result.issues);
  return result.layout;
}

/**
 * Resolves a layout's `settings` over the defaults, reporting problems as
 * BAD_SETTINGS issues: the hold limits (settings.ts) and the selection fields
 * (selection-settings.ts) are checked apart and their overrides merged back.
 */
export function resolveLayoutSettings(
  rawSettings: unknown,
):
  | { ok: true; settings: EventSettings; selection: SelectionSettings; overrides: LayoutSettingsOverrides }
  | { ok: false; issues: LayoutIssue[] } {
  const { limits, selection } = splitSettings(rawSettings);
  const resolution = resolveSettings(limits);
  const selected = resolveSelectionSettings(selection);
  if (resolution.ok && selected.ok) {
    return { ok: true, settings: resolution.settings, selection: selected.settings, overrides: { ...resolution.overrides, ...selected.overrides } };
  }
  const problems = [...(resolution.ok ? [] : resolution.problems), ...(selected.ok ? [] : selected.problems)];
  const issues = problems.map((problem): LayoutIssue => ({
    code: 'BAD_SETTINGS',
    path: joinPath('settings', problem.path),
    message: problem.message,
  }));
  return { ok: false, issues };
}

/** The semantic checks of a structurally sound layout (settings excluded). */
export function findContentIssues(layout: Pick<Layout, 'categories' | 'sections'>): LayoutIssue[] {
  const issues: LayoutIssue[] = [];
  const seatCount = layout.sections.reduce(
    (sum, section) => sum + section.rows.reduce((rowSum, row) => rowSum + row.seats.length, 0),
    0,
  );
  if (seatCount > MAX_SEATS) return [tooManySeats(seatCount)];

  const categoryIds = new Set<string>();
  layout.categories.forEach((category, c) => {
    if (categoryIds.has(category.id)) {
      issues.push({ code: 'DUPLICATE_CATEGORY', path: `categories[${c}].id`, message: `category id "${category.id}" is declared more than once` });
    }
    categoryIds.add(category.id);
  });

  // A bad reference is reported where it is written, once, not at every seat inheriting it.
  const checkReference = (category: string | undefined, path: string): void => {
    if (category !== undefined && !categoryIds.has(category)) {
      issues.push({ code: 'UNKNOWN_CATEGORY', path, message: `category "${category}" is not declared in categories` });
    }
  };

  const areaCount = layout.sections.filter((section) => section.kind === 'ga').length;
  if (seatCount === 0 && areaCount > 0 && areaCount === layout.sections.length) {
    issues.push({ code: 'NO_SEATS', path: 'sections', message: 'every section is general admission; an event needs at least one numbered seat' });
  }
  if (areaCount > MAX_AREAS) {
    issues.push({ code: 'TOO_MANY_AREAS', path: 'sections', message: `the layout has ${areaCount} general-admission sections; at most ${MAX_AREAS} are allowed` });
  }

  const sectionIds = new Set<string>();
  layout.sections.forEach((section, s) => {
    const sectionPath = `sections[${s}]`;
    if (sectionIds.has(section.id)) {
      issues.push({ code: 'DUPLICATE_SECTION', path: `${sectionPath}.id`, message: `section id "${section.id}" is used more than once` });
    }
    sectionIds.add(section.id);
    checkReference(section.category, `${sectionPath}.category`);
    if (section.kind === 'ga') {
      checkArea(section, sectionPath, issues);
      return;
    }
    for (const field of ['capacity', 'shape'] as const) {
      if (section[field] !== undefined) {
        issues.push({ code: 'MIXED_SECTION', path: `${sectionPath}.${field}`, message: `section "${section.id}" is seated: ${field} belongs to a general-admission section (kind "ga")` });
      }
    }
    if (section.rows.length === 0) {
      issues.push({ code: 'EMPTY_SECTION', path: `${sectionPath}.rows`, message: `section "${section.id}" has no rows` });
    }

    const rowLabels = new Set<string>();
    section.rows.forEach((row, r) => {
      const rowPath = `${sectionPath}.rows[${r}]`;
      if (rowLabels.has(row.label)) {
        issues.push({ code: 'DUPLICATE_ROW', path: `${rowPath}.label`, message: `row "${row.label}" appears more than once in section "${section.id}"` });
      }
      rowLabels.add(row.label);
      checkReference(row.category, `${rowPath}.category`);
      if (row.seats.length === 0) {
        issues.push({ code: 'EMPTY_ROW', path: `${rowPath}.seats`, message: `row "${row.label}" of section "${section.id}" has no seats` });
      }

      const inherited = row.category ?? section.category;
      const seatLabels = new Set<string>();
      row.seats.forEach((seat, k) => {
        const seatPath = `${rowPath}.seats[${k}]`;
        if (seatLabels.has(seat.label)) {
          issues.push({ code: 'DUPLICATE_SEAT', path: `${seatPath}.label`, message: `seat "${seat.label}" appears more than once in row "${row.label}" of section "${section.id}"` });
        }
        seatLabels.add(seat.label);
        checkReference(seat.category, `${seatPath}.category`);
        checkAttributes(seat.attrs, `${seatPath}.attrs`, issues);
        if (seat.category === undefined && inherited === undefined) {
          issues.push({ code: 'MISSING_CATEGORY', path: seatPath, message: `seat "${seat.label}" has no category and neither its row nor its section names one` });
        }
      });
    });
  });
  return issues;
}

/** A general-admission section: a capacity, a category and a shape, and no rows. */
function checkArea(section: Section, path: string, issues: LayoutIssue[]): void {
  for (const field of ['capacity', 'category', 'shape'] as const) {
    if (section[field] === undefined) {
      issues.push({ code: 'INCOMPLETE_AREA', path: `${path}.${field}`, message: `general-admission section "${section.id}" needs a ${field}` });
    }
  }
  if (section.rows.length > 0) {
    issues.push({ code: 'MIXED_SECTION', path: `${path}.rows`, message: `general-admission section "${section.id}" is sold by quantity and has no rows` });
  }
}

/** `attrs` names only the fixed vocabulary, each once; a seat is not both a wheelchair and a companion seat. */
function checkAttributes(attrs: readonly string[] | undefined, path: string, issues: LayoutIssue[]): void {
  if (attrs === undefined) return;
  const seen = new Set<string>();
  attrs.forEach((attr, a) => {
    if (!(SEAT_ATTRIBUTES as readonly string[]).includes(attr)) {
      issues.push({ code: 'UNKNOWN_ATTRIBUTE', path: `${path}[${a}]`, message: `seat attribute ${JSON.stringify(attr)} is not one of ${SEAT_ATTRIBUTES.map((v) => `"${v}"`).join(', ')}` });
    } else if (seen.has(attr)) {
      issues.push({ code: 'UNKNOWN_ATTRIBUTE', path: `${path}[${a}]`, message: `seat attribute "${attr}" is listed twice` });
    }
    seen.add(attr);
  });
  if (seen.has('wheelchair') && seen.has('companion')) {
    issues.push({ code: 'UNKNOWN_ATTRIBUTE', path, message: 'a seat is either a wheelchair seat or a companion seat, not both' });
  }
}

function tooManySeats(seatCount: number): LayoutIssue {
  return { code: 'TOO_MANY_SEATS', path: 'sections', message: `the layout has ${seatCount} seats; at most ${MAX_SEATS} are allowed` };
}

/** Counts seats in whatever parts of the input look like sections/rows/seats. */
function countSeatsLoosely(input: unknown): number {
  if (!isRecord(input) || !Array.isArray(input['sections'])) return 0;
  let count = 0;
  for (const section of input['sections']) {
    if (!isRecord(section) || !Array.isArray(section['rows'])) continue;
    for (const row of section['rows']) {
      if (isRecord(row) && Array.isArray(row['seats'])) count += row['seats'].length;
    }
  }
  return count;
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}
