/**
 * Builds and caches the layout as served at GET /events/:id (the shape is
 * core/protocol's LayoutView, which clients read).
 */
import { gzipSync } from 'node:zlib';
import { compileLayout, parseLayout, SEAT_ATTRIBUTE_BITS, SEAT_ATTRIBUTES, type CompiledLayout, type Layout } from '../core/layout/index.js';
import type { LayoutView } from '../core/protocol/layout-view.js';

export type { LayoutView };

/** Compiles a stored layout document (throws LayoutError when it is invalid) and builds its view. */
export function buildLayoutView(eventId: string, epoch: number, layoutDocument: unknown): LayoutView {
  return compileView(eventId, epoch, layoutDocument).view;
}

/** parseLayout + compileLayout + the view, for callers that need the compiled layout too. */
export function compileView(eventId: string, epoch: number, layoutDocument: unknown): { compiled: CompiledLayout; view: LayoutView } {
  const layout = parseLayout(layoutDocument);
  const compiled = compileLayout(layout);
  return { compiled, view: viewOf(eventId, epoch, layout, compiled) };
}

function viewOf(eventId: string, epoch: number, layout: Layout, compiled: CompiledLayout): LayoutView {
  const n = compiled.seatCount;
  const label = new Array<string>(n);
  const x = new Array<number>(n);
  const y = new Array<number>(n);
  const category = Array.from(compiled.seatCategory);

  // Labels and coordinates come from the document, walked in the compiled (row-major)
  // order: its numbers are exact, while the compiled Float32 copies would serialise
  // as e.g. 0.550000011920929.
  let seat = 0;
  for (const section of layout.sections) {
    for (const row of section.rows) {
      for (const s of row.seats) {
        label[seat] = s.label;
        x[seat] = s.x;
        y[seat] = s.y;
        seat++;
      }
    }
  }
  if (seat !== n) throw new Error(`layout walk found ${seat} seats, compiled layout has ${n}`);

  const attrs = Object.fromEntries(SEAT_ATTRIBUTES.map((a) => [a, [] as number[]])) as LayoutView['seats']['attrs'];
  for (let i = 0; i < n; i++) {
    const bits = compiled.seatAttrs[i]!;
    if (bits !== 0) for (const a of SEAT_ATTRIBUTES) if (bits & SEAT_ATTRIBUTE_BITS[a]) attrs[a].push(i);
  }

  const rowStart = compiled.rowStart;
  return {
    id: eventId,
    epoch,
    name: compiled.name,
    currency: compiled.currency,
    seatCount: n,
    focal: compiled.focal,
    selection: { orphanPolicy: compiled.selection.orphanPolicy, accessible: { ...compiled.selection.accessible } },
    categories: compiled.categories.map(({ id, label: l, price }) => ({ id, label: l, price })),
    sections: compiled.sections.map((s) => ({
      id: s.id,
      label: s.label,
      rows: Array.from({ length: s.rowCount }, (_, i) => s.firstRow + i),
    })),
    areas: compiled.areas.map(({ id, label: l, category: c, capacity, shape }) => ({ id, label: l, category: c, capacity, shape: { ...shape } })),
    rows: compiled.rows.map((r, i) => {
      const first = rowStart[i] as number;
      return { label: r.label, section: r.section, first, count: (rowStart[i + 1] as number) - first };
    }),
    seats: { label, x, y, category, rank: Array.from(compiled.seatRank), attrs },
  };
}

export interface LayoutCacheEntry {
  eventId: string;
  epoch: number;
  compiled: CompiledLayout;
  /** the view as JSON */
  body: Buffer;
  /** `body` gzipped, computed once */
  gzip: Buffer;
  /** `"<eventId>-<epoch>"` (quotes included) */
  etag: string;
}

export function layoutEtag(eventId: string, epoch: number): string {
  return `"${eventId}-${epoch}"`;
}

/**
 * Compiled layouts and their encoded views, keyed by `${eventId}:${epoch}` (a
 * new epoch is a new layout). Bounded: past `maxEntries` the least recently
 * used entry is dropped.
 */
export class LayoutCache {
  private readonly entries = new Map<string, LayoutCacheEntry>();
  private readonly loading = new Map<string, Promise<LayoutCacheEntry | null>>();

  constructor(readonly maxEntries = 32) {}

  get size(): number {
    return this.entries.size;
  }

  get(eventId: string, epoch: number): LayoutCacheEntry | undefined {
    const key = cacheKey(eventId, epoch);
    const entry = this.entries.get(key);
    if (entry) {
      // refresh recency: Map iteration order is insertion order
      this.entries.delete(key);
      this.entries.set(key, entry);
    }
    return entry;
  }

  /** Builds (compile, JSON, gzip) and stores the entry; throws LayoutError for an invalid document. */
  set(eventId: string, epoch: number, layoutDocument: unknown): LayoutCacheEntry {
    const { compiled, view } = compileView(eventId, epoch, layoutDocument);
    const body = Buffer.from(JSON.stringify(view));
    const entry: LayoutCacheEntry = { eventId, epoch, compiled, body, gzip: gzipSync(body), etag: layoutEtag(eventId, epoch) };
    const key = cacheKey(eventId, epoch);
    this.entries.delete(key);
    this.entries.set(key, entry);
    while (this.entries.size > this.maxEntries) {
      const oldest = this.entries.keys().next().value as string;
      this.entries.delete(oldest);
    }
    return entry;
  }

  /**
   * The cached entry, or one built from what `load` returns. Concurrent calls for
   * the same key share one load. `load` returning undefined or null (the event
   * was stored without a layout) gives null and caches nothing; a LayoutError (or any error) rejects.
   */
  async getOrLoad(eventId: string, epoch: number, load: () => Promise<unknown>): Promise<LayoutCacheEntry | null> {
    const cached = this.get(eventId, epoch);
    if (cached) return cached;
    const key = cacheKey(eventId, epoch);
    let pending = this.loading.get(key);
    if (!pending) {
      const started = (async () => {
        const document = await load();
        return document === undefined || document === null ? null : this.set(eventId, epoch, document);
      })();
      pending = started;
      this.loading.set(key, started);
      const done = () => {
        if (this.loading.get(key) === started) this.loading.delete(key);
      };
      started.then(done, done);
    }
    return pending;
  }

  delete(eventId: string, epoch: number): void {
    this.entries.delete(cacheKey(eventId, epoch));
  }

  clear(): void {
    this.entries.clear();
  }
}

function cacheKey(eventId: string, epoch: number): string {
  return `${eventId}:${epoch}`;
}
