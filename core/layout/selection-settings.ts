/**
 * The selection settings of a layout: the orphan-seat policy and the
 * protection of accessible seats. They sit in the layout's `settings` object
 * beside the hold limits (settings.ts) but are checked here, on their own,
 * because they are not numbers the store's hold rules carry: they are
 * compiled into the event's geometry (core/store/geometry.ts) instead.
 */
import { z } from 'zod';
import { formatPath } from './issues.js';
import type { SettingsProblem } from './settings.js';

/** How the store treats a change that would leave a single free seat between taken ones (docs/store.md). */
export type OrphanPolicy = 'off' | 'lenient' | 'strict';
export const ORPHAN_POLICIES: readonly OrphanPolicy[] = ['off', 'lenient', 'strict'];

export interface AccessibleSettings {
  /** epoch ms until which wheelchair seats are kept for accessible buyers; null: never protected */
  protectUntil: number | null;
  /** companion seats one wheelchair seat of a token allows, 1..3 */
  maxCompanionsPerWheelchair: number;
}

export interface SelectionSettings {
  orphanPolicy: OrphanPolicy;
  accessible: AccessibleSettings;
}

/** The layout `settings` fields this module owns. */
export const SELECTION_SETTING_FIELDS = ['orphanPolicy', 'accessible'] as const;

export const DEFAULT_SELECTION_SETTINGS: Readonly<SelectionSettings> = Object.freeze({
  orphanPolicy: 'off',
  accessible: Object.freeze({ protectUntil: null, maxCompanionsPerWheelchair: 1 }),
});

export const MAX_COMPANIONS_PER_WHEELCHAIR = 3;

export const selectionSettingsOverridesSchema = z.strictObject({
  orphanPolicy: z.enum(['off', 'lenient', 'strict'], { error: 'orphanPolicy must be "off", "lenient" or "strict"' }).optional(),
  accessible: z
    .strictObject({
      protectUntil: z.number().int({ error: 'protectUntil must be an integer (epoch ms)' }).nonnegative().max(8.64e15).optional(),
      maxCompanionsPerWheelchair: z.number().int().min(1).max(MAX_COMPANIONS_PER_WHEELCHAIR).optional(),
    })
    .optional(),
});

export type SelectionSettingsOverrides = z.infer<typeof selectionSettingsOverridesSchema>;

export type SelectionResolution =
  | { ok: true; settings: SelectionSettings; overrides: SelectionSettingsOverrides }
  | { ok: false; problems: SettingsProblem[] };

/** Validates the selection overrides (undefined = none) and merges them over the defaults. */
export function resolveSelectionSettings(input: unknown = {}): SelectionResolution {
  const parsed = selectionSettingsOverridesSchema.safeParse(input);
  if (!parsed.success) {
    return { ok: false, problems: parsed.error.issues.map((issue) => ({ path: formatPath(issue.path), message: issue.message })) };
  }
  const overrides: SelectionSettingsOverrides = {};
  if (parsed.data.orphanPolicy !== undefined) overrides.orphanPolicy = parsed.data.orphanPolicy;
  if (parsed.data.accessible !== undefined) {
    const { protectUntil, maxCompanionsPerWheelchair } = parsed.data.accessible;
    overrides.accessible = {
      ...(protectUntil !== undefined && { protectUntil }),
      ...(maxCompanionsPerWheelchair !== undefined && { maxCompanionsPerWheelchair }),
    };
  }
  const defaults = DEFAULT_SELECTION_SETTINGS.accessible;
  return {
    ok: true,
    overrides,
    settings: {
      orphanPolicy: overrides.orphanPolicy ?? DEFAULT_SELECTION_SETTINGS.orphanPolicy,
      accessible: {
        protectUntil: overrides.accessible?.protectUntil ?? defaults.protectUntil,
        maxCompanionsPerWheelchair: overrides.accessible?.maxCompanionsPerWheelchair ?? defaults.maxCompanionsPerWheelchair,
      },
    },
  };
}

/** Splits a layout's raw `settings` into the hold limits (settings.ts) and the selection fields (here). */
export function splitSettings(raw: unknown): { limits: unknown; selection: unknown } {
  if (typeof raw !== 'object' || raw === null || Array.isArray(raw)) return { limits: raw, selection: undefined };
  const limits: Record<string, unknown> = {};
  const selection: Record<string, unknown> = {};
  for (const [field, value] of Object.entries(raw)) {
    if ((SELECTION_SETTING_FIELDS as readonly string[]).includes(field)) selection[field] = value;
    else limits[field] = value;
  }
  return { limits, selection };
}
