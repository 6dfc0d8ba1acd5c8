/**
 * Generates realistic demo venues: a stage at the origin with the audience
 * towards +y, an optional floor of straight rows in front of it, and tiers of
 * curved rows on arcs around it. Seat categories follow the distance to the
 * stage. Positions are in metres. Pure and deterministic (same seed, same
 * venue): the gateway's demo event, tests and benchmarks call it; the command
 * line is scripts/generate-venue.ts.
 */
import type { Category, Layout, Row, Section } from './schema.js';

export const MIN_VENUE_SEATS = 100;
export const MAX_VENUE_SEATS = 200_000;

export interface VenueOptions {
  /** Exact number of seats, MIN_VENUE_SEATS..MAX_VENUE_SEATS. */
  seats: number;
  /** Same seed, same venue. Defaults to 1. */
  seed?: number;
  name?: string;
}

// Geometry, in metres.
const SEAT_PITCH = 0.55;
const ROW_DEPTH = 0.85;
const SECTION_AISLE = 1.2; // radial aisle between neighbouring sections
const MID_AISLE = 1.1; // gap splitting a wide section
const MID_AISLE_FROM = 14; // rows longer than this get the mid-section aisle
const TIER_GAP = 3; // walkway between the floor and a tier, or between tiers
const FLOOR_FRONT = 4; // distance from the stage edge to the first floor row
const FLOOR_BLOCK_GAP = 1.5;

type CategoryId = 'front' | 'premium' | 'standard' | 'balcony';

const CATEGORIES: Record<CategoryId, Category> = {
  front: { id: 'front', label: 'Front', price: 12_000 },
  premium: { id: 'premium', label: 'Premium', price: 8_900 },
  standard: { id: 'standard', label: 'Standard', price: 5_900 },
  balcony: { id: 'balcony', label: 'Balcony', price: 3_900 },
};

/** A tier's rows, nearest first, get the category of the first band whose `until` exceeds their depth fraction. */
type Bands = readonly { until: number; category: CategoryId }[];

interface FloorSpec {
  blocks: number;
  blockWidth: number;
  rowsPerDepth: number;
}

interface TierSpec {
  /** 'letters' -> A, B, C...; a number -> that level's hundreds: 101, 102... */
  sectionIds: 'letters' | number;
  sectionLabel: string;
  sections: number;
  spanDegrees: number;
  rowsPerDepth: number;
  rowLabels: 'letters' | 'numbers';
  bands: Bands;
}

interface VenueShape {
  title: string;
  floor?: FloorSpec;
  tiers: TierSpec[];
  /** Radius of the first tier when there is no floor to wrap around. */
  firstRadius: number;
}

/** The rough shape suits the size; the depth (rows) is then searched for. */
function shapeFor(seats: number): VenueShape {
  if (seats < 2_000) {
    const stalls: TierSpec = {
      sectionIds: 'letters', sectionLabel: 'Stalls', sections: seats < 500 ? 3 : 5, spanDegrees: 110,
      rowsPerDepth: 1, rowLabels: 'letters',
      bands: [{ until: 0.15, category: 'front' }, { until: 0.5, category: 'premium' }, { until: 1, category: 'standard' }],
    };
    const balcony: TierSpec = {
      sectionIds: 2, sectionLabel: 'Balcony', sections: 3, spanDegrees: 100,
      rowsPerDepth: 0.5, rowLabels: 'letters', bands: [{ until: 1, category: 'balcony' }],
    };
    return { title: 'Theatre', tiers: seats < 800 ? [stalls] : [stalls, balcony], firstRadius: 4 + Math.sqrt(seats) / 5 };
  }
  if (seats < 30_000) {
    const lower: TierSpec = {
      sectionIds: 1, sectionLabel: 'Section', sections: 14, spanDegrees: 200, rowsPerDepth: 1, rowLabels: 'numbers',
      bands: [{ until: 0.35, category: 'premium' }, { until: 1, category: 'standard' }],
    };
    const upper: TierSpec = {
      sectionIds: 2, sectionLabel: 'Section', sections: 18, spanDegrees: 200, rowsPerDepth: 0.8, rowLabels: 'numbers',
      bands: [{ until: 1, category: 'balcony' }],
    };
    return {
      title: 'Arena',
      floor: { blocks: seats < 8_000 ? 3 : 4, blockWidth: 9, rowsPerDepth: 0.5 },
      tiers: seats < 8_000 ? [lower] : [lower, upper],
      firstRadius: 0,
    };
  }
  const ring = (level: number, sections: number, rowsPerDepth: number, bands: Bands): TierSpec => ({
    sectionIds: level, sectionLabel: 'Section', sections, spanDegrees: 270, rowsPerDepth, rowLabels: 'numbers', bands,
  });
  return {
    title: 'Stadium',
    floor: { blocks: 5, blockWidth: 12, rowsPerDepth: 0.5 },
    tiers: [
      ring(1, 24, 1, [{ until: 0.4, category: 'premium' }, { until: 1, category: 'standard' }]),
      ring(2, 28, 0.7, [{ until: 1, category: 'standard' }]),
      ring(3, 32, 1, [{ until: 1, category: 'balcony' }]),
    ],
    firstRadius: 0,
  };
}

/** Where a row's seats go: an arc around the stage or a straight line across the floor. */
type RowGeometry = { kind: 'arc'; radius: number; startAngle: number } | { kind: 'line'; x0: number; y: number };

/** A stretch of a row holding `seats` seats, `start` metres along it. */
interface Segment {
  start: number;
  length: number;
  seats: number;
}

interface RowPlan {
  label: string;
  category: CategoryId;
  geometry: RowGeometry;
  segments: Segment[];
  capacity: number;
}

interface SectionPlan {
  id: string;
  label: string;
  rows: RowPlan[];
}

/** Per-section randomness, drawn once so that the venue only grows with depth. */
interface SectionTraits {
  /** Relative width of the section's wedge, around 1. */
  widthWeight: number;
  rowDropFraction: number;
  aisleFraction: number;
}

/** Plans a venue whose tiers are `depth` rows deep (scaled per tier); seats are only counted. */
function planVenue(shape: VenueShape, depth: number, traits: SectionTraits[][]): SectionPlan[] {
  const sections: SectionPlan[] = [];
  let radius = shape.firstRadius;
  if (shape.floor) {
    const floor = planFloor(shape.floor, depth);
    sections.push(...floor.sections);
    radius = floor.reach + TIER_GAP;
  }
  shape.tiers.forEach((tier, t) => {
    const tierRows = Math.max(1, Math.round(depth * tier.rowsPerDepth));
    sections.push(...planTier(tier, tierRows, radius, traits[t] ?? []));
    radius += tierRows * ROW_DEPTH + TIER_GAP;
  });
  return sections;
}

/** Rectangular blocks of straight rows in front of the stage, all Front. */
function planFloor(floor: FloorSpec, depth: number): { sections: SectionPlan[]; reach: number } {
  const rowCount = Math.max(1, Math.ceil(depth * floor.rowsPerDepth));
  const width = floor.blocks * floor.blockWidth + (floor.blocks - 1) * FLOOR_BLOCK_GAP;
  const sections: SectionPlan[] = [];
  for (let b = 0; b < floor.blocks; b++) {
    const x0 = -width / 2 + b * (floor.blockWidth + FLOOR_BLOCK_GAP);
    const rows: RowPlan[] = [];
    for (let r = 0; r < rowCount; r++) {
      const segments = segmentsOf(floor.blockWidth, undefined);
      rows.push({
        label: letters(r, ROW_LETTERS),
        category: 'front',
        geometry: { kind: 'line', x0, y: FLOOR_FRONT + r * ROW_DEPTH },
        segments,
        capacity: capacityOf(segments),
      });
    }
    const id = letters(b, SECTION_LETTERS);
    sections.push({ id, label: `Floor ${id}`, rows });
  }
  // The tier around the floor must clear its far corners.
  const reach = Math.hypot(width / 2, FLOOR_FRONT + (rowCount - 1) * ROW_DEPTH);
  return { sections, reach };
}

/** A tier of wedge-shaped sections whose rows are arcs centred on the stage. */
function planTier(tier: TierSpec, tierRows: number, innerRadius: number, traits: SectionTraits[]): SectionPlan[] {
  const span = (tier.spanDegrees * Math.PI) / 180;
  const traitsOf = (s: number): SectionTraits => traits[s] ?? { widthWeight: 1, rowDropFraction: 0, aisleFraction: 0.5 };
  let totalWeight = 0;
  for (let s = 0; s < tier.sections; s++) totalWeight += traitsOf(s).widthWeight;
  // Outer sections are somewhat shallower than the middle ones, at random.
  const maxDrop = Math.floor(tierRows / 10);
  const sections: SectionPlan[] = [];
  let wedgeStart = -span / 2;
  for (let s = 0; s < tier.sections; s++) {
    const { widthWeight, rowDropFraction, aisleFraction } = traitsOf(s);
    const wedge = (span * widthWeight) / totalWeight;
    const sideness = Math.abs(s - (tier.sections - 1) / 2) / (tier.sections / 2);
    const rowCount = tierRows - Math.floor(rowDropFraction * sideness * (maxDrop + 1));
    const rows: RowPlan[] = [];
    for (let r = 0; r < rowCount; r++) {
      const radius = innerRadius + r * ROW_DEPTH;
      const segments = segmentsOf(radius * wedge - SECTION_AISLE, aisleFraction);
      const capacity = capacityOf(segments);
      if (capacity === 0) continue;
      rows.push({
        label: tier.rowLabels === 'letters' ? letters(r, ROW_LETTERS) : String(r + 1),
        category: bandOf(tier.bands, r / tierRows),
        geometry: { kind: 'arc', radius, startAngle: wedgeStart + SECTION_AISLE / 2 / radius },
        segments,
        capacity,
      });
    }
    wedgeStart += wedge;
    if (rows.length === 0) continue;
    const id = tier.sectionIds === 'letters' ? letters(s, SECTION_LETTERS) : String(tier.sectionIds * 100 + s + 1);
    sections.push({ id, label: `${tier.sectionLabel} ${id}`, rows });
  }
  return sections;
}

function segmentsOf(length: number, aisleFraction: number | undefined): Segment[] {
  if (length <= 0) return [];
  if (aisleFraction === undefined || length <= MID_AISLE_FROM) return [segment(0, length)];
  const aisleAt = length * aisleFraction;
  return [segment(0, aisleAt - MID_AISLE / 2), segment(aisleAt + MID_AISLE / 2, length - aisleAt - MID_AISLE / 2)];
}

function segment(start: number, length: number): Segment {
  return { start, length, seats: Math.floor(length / SEAT_PITCH) };
}

function capacityOf(segments: readonly Segment[]): number {
  return segments.reduce((sum, { seats }) => sum + seats, 0);
}

function bandOf(bands: Bands, depthFraction: number): CategoryId {
  // The last band reaches 1 and depth fractions stay below it, so the fallback is never used.
  return bands.find((band) => depthFraction < band.until)?.category ?? 'standard';
}

/**
 * Splits `total` seats over rows in proportion to their capacity (largest
 * remainder), at least one and at most `capacity` per row.
 */
function apportion(capacities: readonly number[], total: number): number[] {
  const capacity = capacities.reduce((sum, c) => sum + c, 0);
  if (total > capacity || total < capacities.length) throw new Error('internal: cannot apportion seats to rows');
  const keeps = capacities.map((c) => Math.max(1, Math.floor((c * total) / capacity)));
  // Integer remainders of the proportional shares; exact, unlike fractions.
  const remainder = (i: number) => ((capacities[i] as number) * total) % capacity;
  // Largest remainder first gains a seat; smallest remainder first gives one back.
  const order = capacities.map((_, i) => i).sort((a, b) => remainder(b) - remainder(a) || a - b);
  let missing = total - keeps.reduce((sum, k) => sum + k, 0);
  while (missing !== 0) {
    const candidates = missing > 0 ? order : [...order].reverse();
    for (const i of candidates) {
      if (missing === 0) break;
      const keep = keeps[i] as number;
      if (missing > 0 && keep < (capacities[i] as number)) {
        keeps[i] = keep + 1;
        missing--;
      } else if (missing < 0 && keep > 1) {
        keeps[i] = keep - 1;
        missing++;
      }
    }
  }
  return keeps;
}

/** The centres of `keep` seats of a row, trimmed evenly from both ends, in order along the row. */
function seatPositions(row: RowPlan, keep: number): { x: number; y: number }[] {
  const along: number[] = [];
  for (const { start, length, seats } of row.segments) {
    const margin = (length - seats * SEAT_PITCH) / 2;
    for (let i = 0; i < seats; i++) along.push(start + margin + (i + 0.5) * SEAT_PITCH);
  }
  const skip = Math.floor((along.length - keep) / 2);
  return along.slice(skip, skip + keep).map((distance) => pointAt(row.geometry, distance));
}

function pointAt(geometry: RowGeometry, distance: number): { x: number; y: number } {
  if (geometry.kind === 'line') return { x: centimetres(geometry.x0 + distance), y: centimetres(geometry.y) };
  const angle = geometry.startAngle + distance / geometry.radius;
  return { x: centimetres(geometry.radius * Math.sin(angle)), y: centimetres(geometry.radius * Math.cos(angle)) };
}

function centimetres(metres: number): number {
  return Math.round(metres * 100) / 100 || 0; // `|| 0` turns -0 into 0
}

const SECTION_LETTERS = 'ABCDEFGHIJKLMNOPQRSTUVWXYZ';
/** Row letters skip I and O, which read as 1 and 0. */
const ROW_LETTERS = 'ABCDEFGHJKLMNPQRSTUVWXYZ';

/** 0 -> A, 25 -> Z, 26 -> AA... (bijective numbering over `alphabet`). */
function letters(index: number, alphabet: string): string {
  let label = '';
  for (let n = index + 1; n > 0; n = Math.floor((n - 1) / alphabet.length)) {
    label = alphabet[(n - 1) % alphabet.length] + label;
  }
  return label;
}

/** mulberry32: a tiny, well-distributed 32-bit PRNG. */
function seededRandom(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4_294_967_296;
  };
}

/** Builds a venue of exactly `options.seats` seats; deterministic for a seed. */
export function generateVenue(options: VenueOptions): Layout {
  const { seats, seed = 1 } = options;
  if (!Number.isInteger(seats) || seats < MIN_VENUE_SEATS || seats > MAX_VENUE_SEATS) {
    throw new RangeError(`seats must be an integer from ${MIN_VENUE_SEATS} to ${MAX_VENUE_SEATS}, got ${seats}`);
  }
  if (!Number.isSafeInteger(seed)) throw new RangeError(`seed must be an integer, got ${seed}`);
  const shape = shapeFor(seats);
  const name = options.name ?? `Demo ${shape.title}`;
  if (name.trim() === '' || name.length > 100) throw new RangeError('name must be 1-100 characters, not blank');

  const random = seededRandom(seed);
  const traits = shape.tiers.map((tier) =>
    Array.from({ length: tier.sections }, (): SectionTraits => ({
      widthWeight: 0.85 + 0.3 * random(),
      rowDropFraction: random(),
      aisleFraction: 0.35 + 0.3 * random(),
    })),
  );

  // The smallest depth that holds enough seats; the surplus is trimmed off evenly.
  let plan: SectionPlan[] = [];
  for (let depth = 1; capacityOfPlan(plan) < seats; depth++) plan = planVenue(shape, depth, traits);

  const keeps = apportion(plan.flatMap((section) => section.rows.map((row) => row.capacity)), seats);
  let rowIndex = 0;
  const sections = plan.map((section) => toSection(section, () => keeps[rowIndex++] as number));
  const used = new Set(plan.flatMap((section) => section.rows.map((row) => row.category)));
  const categories = (Object.keys(CATEGORIES) as CategoryId[]).filter((id) => used.has(id)).map((id) => CATEGORIES[id]);
  return { version: 1, name, currency: 'EUR', focal: { x: 0, y: 0 }, categories, sections };
}

function capacityOfPlan(plan: readonly SectionPlan[]): number {
  return plan.reduce((sum, section) => sum + section.rows.reduce((rowSum, row) => rowSum + row.capacity, 0), 0);
}

/** The section takes its back row's category; rows that differ (nearer the stage) say so themselves. */
function toSection(plan: SectionPlan, nextKeep: () => number): Section {
  const category = plan.rows[plan.rows.length - 1]?.category ?? 'standard';
  const rows = plan.rows.map((rowPlan): Row => {
    const seats = seatPositions(rowPlan, nextKeep()).map((position, i) => ({ label: String(i + 1), ...position }));
    return rowPlan.category === category
      ? { label: rowPlan.label, seats }
      : { label: rowPlan.label, category: rowPlan.category, seats };
  });
  return { id: plan.id, label: plan.label, category, rows };
}

/**
 * The demo event's selection setup on a generated venue: the lenient orphan
 * policy, and in every section the two end seats of the back row marked
 * `wheelchair`, each with its inner neighbour a `companion` seat (rows of
 * four seats or more). Wheelchair seats are not protected (no protectUntil),
 * so anyone may buy them; the map shows them.
 */
export function withDemoSelection(layout: Layout): Layout {
  const sections = layout.sections.map((section): Section => {
    const back = section.rows.length - 1;
    return {
      ...section,
      rows: section.rows.map((row, r): Row => {
        const n = row.seats.length;
        if (r !== back || n < 4) return row;
        const attrsOf = (k: number): string[] | undefined =>
          k === 0 || k === n - 1 ? ['wheelchair'] : k === 1 || k === n - 2 ? ['companion'] : undefined;
        return { ...row, seats: row.seats.map((seat, k) => (attrsOf(k) ? { ...seat, attrs: attrsOf(k)! } : seat)) };
      }),
    };
  });
  return { ...layout, sections, settings: { ...layout.settings, orphanPolicy: 'lenient' } };
}

/** The standing area `withStandingArea` adds: its depth (metres) and the gap behind the last seats. */
const STANDING_DEPTH = 6;
const STANDING_GAP = 3;

/**
 * Adds a general-admission standing area (`kind: "ga"`, section `STANDING`)
 * behind the venue's farthest seats, centred on the stage axis, in the
 * cheapest category: the demo event's area sold by quantity. Seat indexes do
 * not change (the area is a section without seats, appended last); its
 * capacity defaults to one place per 20 seats, at least 50.
 */
export function withStandingArea(layout: Layout, capacity?: number): Layout {
  let minX = Infinity, maxX = -Infinity, maxY = -Infinity, seats = 0;
  for (const section of layout.sections) {
    for (const row of section.rows) {
      for (const seat of row.seats) {
        minX = Math.min(minX, seat.x);
        maxX = Math.max(maxX, seat.x);
        maxY = Math.max(maxY, seat.y);
        seats++;
      }
    }
  }
  const cheapest = [...layout.categories].sort((a, b) => a.price - b.price)[0];
  if (!cheapest || seats === 0) throw new RangeError('a standing area needs a layout with seats and a category');
  const width = Math.max(10, Math.round(Math.min(40, (maxX - minX) / 2)));
  const area: Section = {
    id: 'STANDING',
    label: 'Standing',
    kind: 'ga',
    category: cheapest.id,
    rows: [],
    capacity: capacity ?? Math.max(50, Math.round(seats / 20)),
    shape: { x: centimetres(-width / 2), y: centimetres(maxY + STANDING_GAP), width, height: STANDING_DEPTH },
  };
  return { ...layout, sections: [...layout.sections, area] };
}
