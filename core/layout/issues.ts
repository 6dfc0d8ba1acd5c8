/**
 * The catalogue of layout validation problems. Codes are stable: tools and
 * tests match on them, while messages are for people and may change.
 */
export const LAYOUT_ISSUE_CATALOGUE = {
  INVALID_SHAPE: 'The JSON does not have the documented structure: a missing or mistyped field, an unknown field, a value out of range.',
  DUPLICATE_CATEGORY: 'Two categories share the same id.',
  DUPLICATE_SECTION: 'Two sections share the same id.',
  DUPLICATE_ROW: 'Two rows of one section share the same label.',
  DUPLICATE_SEAT: 'Two seats of one row share the same label.',
  EMPTY_SECTION: 'A section has no rows.',
  EMPTY_ROW: 'A row has no seats.',
  UNKNOWN_CATEGORY: 'A section, row or seat refers to a category id that is not declared.',
  MISSING_CATEGORY: 'A seat has no category: neither the seat, its row nor its section names one.',
  UNKNOWN_ATTRIBUTE: 'A seat attribute is not in the vocabulary (wheelchair, companion, aisle, restrictedView), is listed twice, or a seat is both wheelchair and companion.',
  INCOMPLETE_AREA: 'A general-admission section (kind "ga") lacks its capacity, its category or its shape.',
  MIXED_SECTION: 'A general-admission section has rows, or a seated section has a capacity or a shape.',
  NO_SEATS: 'Every section is general admission: an event needs at least one numbered seat (the seat status is sized by the seats).',
  TOO_MANY_AREAS: 'The layout has more general-admission sections than MAX_AREAS.',
  TOO_MANY_SEATS: 'The layout has more seats than MAX_SEATS; nothing else is checked.',
  BAD_SETTINGS: 'The event settings are invalid on their own or once merged over the defaults.',
} as const;

export type LayoutIssueCode = keyof typeof LAYOUT_ISSUE_CATALOGUE;

export const LAYOUT_ISSUE_CODES = Object.keys(LAYOUT_ISSUE_CATALOGUE) as LayoutIssueCode[];

export interface LayoutIssue {
  code: LayoutIssueCode;
  /** JSON-path-like location, e.g. `sections[2].rows[0].seats[5].label`; `""` is the document root. */
  path: string;
  message: string;
}

/** How many issues a LayoutError message spells out; `issues` always holds them all. */
const ISSUES_IN_MESSAGE = 5;

export class LayoutError extends Error {
  constructor(readonly issues: readonly LayoutIssue[]) {
    super(describeIssues(issues));
    this.name = 'LayoutError';
  }
}

function describeIssues(issues: readonly LayoutIssue[]): string {
  const count = issues.length === 1 ? '1 problem' : `${issues.length} problems`;
  const lines = issues.slice(0, ISSUES_IN_MESSAGE).map((issue) => `  ${issue.code} at ${issue.path || '(root)'}: ${issue.message}`);
  if (issues.length > ISSUES_IN_MESSAGE) lines.push(`  ...and ${issues.length - ISSUES_IN_MESSAGE} more`);
  return [`invalid layout, ${count}:`, ...lines].join('\n');
}

/** `['sections', 2, 'rows', 0, 'label']` -> `sections[2].rows[0].label` */
export function formatPath(segments: readonly PropertyKey[]): string {
  let path = '';
  for (const segment of segments) {
    if (typeof segment === 'number') path += `[${segment}]`;
    else path += path === '' ? String(segment) : `.${String(segment)}`;
  }
  return path;
}

export function joinPath(parent: string, child: string): string {
  if (parent === '') return child;
  if (child === '') return parent;
  return child.startsWith('[') ? parent + child : `${parent}.${child}`;
}
