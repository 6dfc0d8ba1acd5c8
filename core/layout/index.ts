/** Venue layouts: the JSON format, its validation, the compiled form the gateway serves from, and the demo venue generator. */
export {
  LAYOUT_ISSUE_CATALOGUE,
  LAYOUT_ISSUE_CODES,
  LayoutError,
  type LayoutIssue,
  type LayoutIssueCode,
} from './issues.js';
export {
  DEFAULT_CURRENCY,
  MAX_CATEGORIES,
  MAX_COORDINATE,
  MAX_ID_LENGTH,
  MAX_LABEL_LENGTH,
  type Category,
  type Layout,
  type Row,
  type Section,
  type Seat,
  SEAT_ATTRIBUTES,
  MAX_RANK,
  MAX_AREAS,
  MAX_AREA_CAPACITY,
  SECTION_KINDS,
  type AreaShape,
  type SectionKind,
  type SeatAttribute,
  type LayoutSettingsOverrides,
} from './schema.js';
export {
  DEFAULT_SELECTION_SETTINGS,
  MAX_COMPANIONS_PER_WHEELCHAIR,
  ORPHAN_POLICIES,
  resolveSelectionSettings,
  type AccessibleSettings,
  type OrphanPolicy,
  type SelectionSettings,
  type SelectionSettingsOverrides,
} from './selection-settings.js';
export {
  DEFAULT_SETTINGS,
  SETTINGS_LIMITS,
  eventSettingsOverridesSchema,
  eventSettingsSchema,
  resolveSettings,
  type EventSettings,
  type EventSettingsOverrides,
  type SettingsProblem,
  type SettingsResolution,
} from './settings.js';
export { MAX_SEATS, parseLayout, validateLayout, type LayoutValidation } from './validate.js';
export { compileLayout, seatsByCategory, SEAT_ATTRIBUTE_BITS, type CompiledArea, type CompiledLayout } from './compile.js';
export { seatsOfGroups, type GroupSeats, type SeatGroups } from './seat-groups.js';
export { STATE_NAMES, countAvailability, type AvailabilityCounts, type FreeBlock, type GroupAvailability, type StateCounts } from './availability.js';
export { MAX_VENUE_SEATS, MIN_VENUE_SEATS, generateVenue, withDemoSelection, withStandingArea, type VenueOptions } from './generate-venue.js';
