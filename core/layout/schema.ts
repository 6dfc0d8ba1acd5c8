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

export interface Section {
  id: string;
  label: string;
  /** Default category of the section's seats. */
  category?: string;
  rows: Row[];
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

const sectionSchema = z.strictObject({ id, label, category: id.optional(), rows: z.array(rowSchema) });

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
