/** Creating events from venue layouts: the bridge between core/layout and core/store. */
import { compileLayout, parseLayout, type CompiledLayout } from './layout/index.js';
import { encodeGeometry, type EventGeometry } from './store/geometry.js';
import type { OpResult } from './store/results.js';
import type { SeatStore } from './store/seat-store.js';

/**
 * Validates a layout document (throws LayoutError listing every problem),
 * compiles it and creates the event with the layout's settings as hold rules.
 */
export async function createEventFromLayout(
  store: SeatStore,
  eventId: string,
  document: unknown,
): Promise<OpResult<{ epoch: number; compiled: CompiledLayout }>> {
  const layout = parseLayout(document);
  const compiled = compileLayout(layout);
  const created = await store.createEvent({ eventId, seatCount: compiled.seatCount, rules: compiled.settings, layout, geometry: encodeGeometry(compiled), areaCapacities: compiled.areas.map((a) => a.capacity) });
  return created.ok ? { ok: true, epoch: created.epoch, compiled } : created;
}

/**
 * The geometry of a stored layout document (a rebuild), or undefined when the
 * document is not a valid layout of `seatCount` seats: the event then has no
 * best available and no orphan rule, as one created without a layout.
 */
export function geometryOfDocument(document: unknown, seatCount: number): EventGeometry | undefined {
  try {
    const compiled = compileLayout(parseLayout(document));
    return compiled.seatCount === seatCount ? encodeGeometry(compiled) : undefined;
  } catch {
    return undefined;
  }
}
