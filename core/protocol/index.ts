export * from './messages.js';
export * from './codec.js';
export { SeatView, type DiffOutcome } from './seat-view.js';
export type { LayoutView } from './layout-view.js';
