export * from './messages.js';
export * from './codec.js';
export { SeatView, type DiffOutcome } from './seat-view.js';
