/**
 * The compiled layout of an event's current epoch, through the node's layout
 * cache: what GET /events/:id serves and what a bulk block expands section
 * and category ids with. The layout document and the meta hash are two reads;
 * the epoch read after the document proves they belong together.
 */
import type { SeatStore } from '../core/store/seat-store.js';
import type { LayoutCache, LayoutCacheEntry } from './layout-view.js';

/** The stored layout moved to another epoch while it was being read. */
export class EpochMoved extends Error {}

export interface EventLayouts {
  /** The layout document of exactly that epoch (undefined when the event has none); throws EpochMoved otherwise. */
  loadDocument(eventId: string, epoch: number): Promise<unknown>;
  /** The cache entry of the event's current epoch; 'none' for no event, 'no-layout' for an event stored without one. Throws LayoutError for an invalid stored layout. */
  current(eventId: string): Promise<LayoutCacheEntry | 'none' | 'no-layout'>;
}

export function eventLayouts(store: SeatStore, layouts: LayoutCache): EventLayouts {
  const loadDocument = async (eventId: string, epoch: number): Promise<unknown> => {
    // Layout first, then meta: the Lua script writes both at once and epochs never repeat,
    // so an unchanged epoch afterwards means the document belongs to it.
    const document = await store.layout(eventId);
    const meta = await store.meta(eventId);
    if (meta?.epoch !== epoch) throw new EpochMoved();
    return document;
  };
  return {
    loadDocument,
    async current(eventId) {
      for (let attempt = 0; ; attempt++) {
        const meta = await store.meta(eventId);
        if (!meta) return 'none';
        try {
          const entry = await layouts.getOrLoad(eventId, meta.epoch, () => loadDocument(eventId, meta.epoch));
          return entry ?? 'no-layout';
        } catch (err) {
          if (!(err instanceof EpochMoved) || attempt >= 2) throw err;
        }
      }
    },
  };
}
