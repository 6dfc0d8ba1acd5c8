/**
 * Small layouts for the selection tests: sections of straight rows in front
 * of a stage at (0, -5), seat k of a row at x = k - (seats - 1) / 2, so the
 * centre seats of the front row are the best, and rows further back rank
 * worse. Attributes and ranks can be set per seat index.
 */
import type { Layout, OrphanPolicy } from '../../core/layout/index.js';

export interface GridOptions {
  /** per section, the seat count of each row, front first */
  sections: number[][];
  orphanPolicy?: OrphanPolicy;
  /** seat index -> attributes */
  attrs?: Record<number, string[]>;
  /** seat index -> rank */
  ranks?: Record<number, number>;
  /** categories by section: section s gets category `c${s % categories}` */
  categories?: number;
  protectUntil?: number;
  maxCompanionsPerWheelchair?: number;
  maxSeatsPerToken?: number;
  maxSeatsPerHolder?: number;
  holdTtlMs?: number;
  maxHoldLifetimeMs?: number;
}

export function gridLayout(o: GridOptions): Layout {
  const categoryCount = o.categories ?? 1;
  let seat = 0;
  const sections = o.sections.map((rows, s) => ({
    id: `S${s}`,
    label: `Section ${s}`,
    category: `c${s % categoryCount}`,
    rows: rows.map((count, r) => ({
      label: String(r + 1),
      seats: Array.from({ length: count }, (_, k) => {
        const index = seat++;
        return {
          label: String(k + 1),
          x: s * 100 + k - (count - 1) / 2,
          y: r,
          ...(o.attrs?.[index] && { attrs: o.attrs[index] }),
          ...(o.ranks?.[index] !== undefined && { rank: o.ranks[index] }),
        };
      }),
    })),
  }));
  const accessible = {
    ...(o.protectUntil !== undefined && { protectUntil: o.protectUntil }),
    ...(o.maxCompanionsPerWheelchair !== undefined && { maxCompanionsPerWheelchair: o.maxCompanionsPerWheelchair }),
  };
  return {
    version: 1,
    name: 'Grid',
    currency: 'EUR',
    focal: { x: 0, y: -5 },
    categories: Array.from({ length: categoryCount }, (_, c) => ({ id: `c${c}`, label: `Category ${c}`, price: 1000 * (c + 1) })),
    sections,
    settings: {
      orphanPolicy: o.orphanPolicy ?? 'off',
      ...(Object.keys(accessible).length > 0 && { accessible }),
      maxSeatsPerToken: o.maxSeatsPerToken ?? 6,
      maxSeatsPerHolder: o.maxSeatsPerHolder ?? 12,
      holdTtlMs: o.holdTtlMs ?? 60_000,
      maxHoldLifetimeMs: o.maxHoldLifetimeMs ?? 120_000,
    },
  };
}
