/** Creating events from venue layouts: the bridge between core/layout and core/store. */
import { compileLayout, parseLayout, type CompiledLayout } from './layout/index.js';
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
  const created = await store.createEvent({ eventId, seatCount: compiled.seatCount, rules: compiled.settings, layout });
  return created.ok ? { ok: true, epoch: created.epoch, compiled } : created;
}
