import { z } from 'zod';
import { formatPath } from './issues.js';

/** Per-event limits on holds. A layout may override any of them; the rest come from DEFAULT_SETTINGS. */
export interface EventSettings {
  /** How long a hold lives without being extended. */
  holdTtlMs: number;
  /** Upper bound on a hold's total life, however often it is extended. */
  maxHoldLifetimeMs: number;
  /** Most seats one hold token may hold. */
  maxSeatsPerToken: number;
  /** Most seats one holder may hold across all of their tokens. */
  maxSeatsPerHolder: number;
  /** How long a checkout waits for its payment before the booking expires and its seats are freed. */
  paymentWindowMs: number;
}

export const DEFAULT_SETTINGS: Readonly<EventSettings> = Object.freeze({
  holdTtlMs: 600_000,
  maxHoldLifetimeMs: 1_800_000,
  maxSeatsPerToken: 10,
  maxSeatsPerHolder: 20,
  paymentWindowMs: 900_000, // 15 min
});

/** Inclusive upper bounds; beyond them a value is a typo rather than a policy. */
export const SETTINGS_LIMITS: Readonly<EventSettings> = Object.freeze({
  holdTtlMs: 86_400_000, // 24 h
  maxHoldLifetimeMs: 86_400_000,
  maxSeatsPerToken: 1_000,
  maxSeatsPerHolder: 10_000,
  paymentWindowMs: 604_800_000, // 7 days
});

const bounded = (max: number) => z.number().int().positive().max(max);

const settingsFields = {
  holdTtlMs: bounded(SETTINGS_LIMITS.holdTtlMs),
  maxHoldLifetimeMs: bounded(SETTINGS_LIMITS.maxHoldLifetimeMs),
  maxSeatsPerToken: bounded(SETTINGS_LIMITS.maxSeatsPerToken),
  maxSeatsPerHolder: bounded(SETTINGS_LIMITS.maxSeatsPerHolder),
  paymentWindowMs: bounded(SETTINGS_LIMITS.paymentWindowMs),
};

/** Overrides as written in a layout: any subset of the fields, each bounded; unknown fields are rejected. */
export const eventSettingsOverridesSchema = z.strictObject(settingsFields).partial();

/** A complete, consistent set of settings. */
export const eventSettingsSchema = z.strictObject(settingsFields).superRefine((settings, ctx) => {
  if (settings.holdTtlMs > settings.maxHoldLifetimeMs) {
    ctx.addIssue({
      code: 'custom',
      path: ['holdTtlMs'],
      message: `holdTtlMs (${settings.holdTtlMs}) must not exceed maxHoldLifetimeMs (${settings.maxHoldLifetimeMs})`,
    });
  }
  if (settings.maxSeatsPerToken > settings.maxSeatsPerHolder) {
    ctx.addIssue({
      code: 'custom',
      path: ['maxSeatsPerToken'],
      message: `maxSeatsPerToken (${settings.maxSeatsPerToken}) must not exceed maxSeatsPerHolder (${settings.maxSeatsPerHolder})`,
    });
  }
});

export type EventSettingsOverrides = Partial<EventSettings>;

export interface SettingsProblem {
  /** Relative to the settings object, e.g. `holdTtlMs`; `""` is the object itself. */
  path: string;
  message: string;
}

export type SettingsResolution =
  | { ok: true; settings: EventSettings; overrides: EventSettingsOverrides }
  | { ok: false; problems: SettingsProblem[] };

/**
 * Validates overrides (undefined = none), merges them over DEFAULT_SETTINGS and
 * checks the merged result, so a lone override that contradicts a default
 * (e.g. holdTtlMs above the default lifetime) is caught too.
 */
export function resolveSettings(input: unknown = {}): SettingsResolution {
  const parsedOverrides = eventSettingsOverridesSchema.safeParse(input);
  if (!parsedOverrides.success) return { ok: false, problems: toProblems(parsedOverrides.error) };
  const overrides = withoutUndefined(parsedOverrides.data);
  const merged = eventSettingsSchema.safeParse({ ...DEFAULT_SETTINGS, ...overrides });
  if (!merged.success) return { ok: false, problems: toProblems(merged.error) };
  return { ok: true, settings: merged.data, overrides };
}

function withoutUndefined(overrides: EventSettingsOverrides): EventSettingsOverrides {
  return Object.fromEntries(Object.entries(overrides).filter(([, value]) => value !== undefined));
}

function toProblems(error: z.ZodError): SettingsProblem[] {
  return error.issues.map((issue) => ({ path: formatPath(issue.path), message: issue.message }));
}
