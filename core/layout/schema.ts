import { z } from 'zod';
import { SAFE_TEXT_RULE, isSafeText } from '../text.js';
import type { EventSettingsOverrides } from './settings.js';
import type { SelectionSettingsOverrides } from './selection-settings.js';

/** The fixed vocabulary of seat attributes (docs/layout.md). */
export const SEAT_ATTRIBUTES = ['wheelchair', 'companion', 'aisle', 'restrictedView'] as const;
export type SeatAttribute = (typeof SEAT_ATTRIBUTES)[number];

/** A layout's `settings`: hold limits and selection settings, each field optional. */
export type LayoutSettingsOverrides = EventSettingsOverrides & SelectionSettingsOverrides;

/** The layout format, version 1. docs/layout.md is the normative description. */
export interface Layout {
  version: 1;
  name: string;
  /** ISO 4217 code; parseLayout fills in "EUR" when the document omits it. */
  currency: string;
  categories: Category[];
  sections: Section[];
  /** The stage: best available prefers seats close to it. Default: the centre of the seats' bounding box. */
  focal?: { x: number; y: number };
  /** Overrides merged over DEFAULT_SETTINGS and DEFAULT_SELECTION_SETTINGS when the layout is compiled. */
  settings?: LayoutSettingsOverrides;
}

export interface Category {
  id: string;
  label: string;
  /** Integer, minor currency units (cents for EUR). */
  price: number;
}

/** How a section sells: numbered seats in rows, or general admission (a standing area sold by quantity). */
export const SECTION_KINDS = ['seated', 'ga'] as const;
export type SectionKind = (typeof SECTION_KINDS)[number];

/** Where a general-admission area is drawn: an axis-aligned rectangle, top-left corner and size, in seat coordinates. */
export interface AreaShape {
  x: number;
  y: number;
  width: number;
  height: number;
}

export interface Section {
  id: string;
  label: string;
  /** Default `seated`. A `ga` section has no rows: a `capacity`, a `category` and a `shape` instead. */
  kind?: SectionKind;
  /** Default category of the section's seats; the category of a `ga` section's places. */
  category?: string;
  /** Seated sections only; a `ga` section has none (parseLayout fills in `[]`). */
  rows: Row[];
  /** `ga` only: how many people the area admits, 1..MAX_AREA_CAPACITY. */
  capacity?: number;
  /** `ga` only: where the map draws the area. */
  shape?: AreaShape;
}

export interface Row {
  label: string;
  /** Default category of the row's seats; wins over the section's. */
  category?: string;
  seats: Seat[];
}

export interface Seat {
  label: string;
  x: number;
  y: number;
  /** Wins over the row's and the section's category. */
  category?: string;
  /** From SEAT_ATTRIBUTES; checked as UNKNOWN_ATTRIBUTE, not by the structure. */
  attrs?: string[];
  /** Integer, lower is better; ranked seats come before every unranked one in best available. */
  rank?: number;
}

export const DEFAULT_CURRENCY = 'EUR';
export const MAX_LABEL_LENGTH = 32;
export const MAX_ID_LENGTH = 32;
export const MAX_CATEGORIES = 1_000;
/** Float32 keeps centimetre precision up to here, plenty for any venue. */
export const MAX_COORDINATE = 1_000_000;

const text = (what: string, max: number) =>
  z
    .string({ error: `${what} must be a string` })
    .max(max, { error: `${what} must be at most ${max} characters` })
    .regex(/\S/, { error: `${what} must not be empty or blank` })
    // labels and ids reach Postgres (the layout is kept there for rebuilds) and every client
    .refine((v) => isSafeText(v, Infinity, 0), { error: `${what} must contain ${SAFE_TEXT_RULE}` });

const id = text('id', MAX_ID_LENGTH);
const label = text('label', MAX_LABEL_LENGTH);
const coordinate = z.number().min(-MAX_COORDINATE).max(MAX_COORDINATE);

const categorySchema = z.strictObject({
  id,
  label,
  price: z.number().int({ error: 'price must be an integer in minor currency units' }).nonnegative(),
});

export const MAX_RANK = 1_000_000_000;
/** The largest general-admission area: a stadium floor. */
export const MAX_AREA_CAPACITY = 1_000_000;
/** Areas per layout; each has its counters in the event's Redis hash and a capacity row in Postgres. */
export const MAX_AREAS = 1_000;

const seatSchema = z.strictObject({
  label,
  x: coordinate,
  y: coordinate,
  category: id.optional(),
  // the values are checked as UNKNOWN_ATTRIBUTE (validate.ts), so a typo gets its own code
  attrs: z.array(z.string({ error: 'an attribute must be a string' }).max(32)).max(SEAT_ATTRIBUTES.length).optional(),
  rank: z.number().int({ error: 'rank must be an integer' }).min(0).max(MAX_RANK).optional(),
});

const rowSchema = z.strictObject({ label, category: id.optional(), seats: z.array(seatSchema) });

const shapeSchema = z.strictObject({
  x: coordinate,
  y: coordinate,
  width: z.number().positive().max(2 * MAX_COORDINATE),
  height: z.number().positive().max(2 * MAX_COORDINATE),
});

// One object for both kinds: which fields a kind needs is checked as INCOMPLETE_AREA and
// MIXED_SECTION (validate.ts), clearer than a union's "no variant matched".
const sectionSchema = z.strictObject({
  id,
  label,
  kind: z.enum(SECTION_KINDS, { error: 'kind must be "seated" or "ga"' }).optional(),
  category: id.optional(),
  rows: z.array(rowSchema).default([]),
  capacity: z.number().int({ error: 'capacity must be an integer' }).min(1).max(MAX_AREA_CAPACITY).optional(),
  shape: shapeSchema.optional(),
});

/**
 * The structure of a layout document. `settings` is deliberately left opaque
 * here: it is checked on its own (settings.ts) so that its problems are
 * reported as BAD_SETTINGS and never hide the rest of the document's problems.
 */
export const layoutStructureSchema = z.strictObject({
  version: z.literal(1, { error: 'version must be 1' }),
  name: text('name', 100),
  currency: z
    .string()
    .regex(/^[A-Z]{3}$/, { error: 'currency must be an ISO 4217 code such as "EUR"' })
    .default(DEFAULT_CURRENCY),
  categories: z.array(categorySchema).max(MAX_CATEGORIES),
  sections: z.array(sectionSchema).min(1, { error: 'a layout needs at least one section' }),
  focal: z.strictObject({ x: coordinate, y: coordinate }).optional(),
  settings: z.unknown().optional(),
});
