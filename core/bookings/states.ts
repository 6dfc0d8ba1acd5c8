/**
 * The booking state graph: the one place that says which action may take a
 * booking from which state to which, and who may ask for it. Every change of
 * a booking is checked here before anything is written, and each history row
 * Postgres keeps is one of these edges (docs/bookings.md draws the graph).
 */

export type BookingState = 'pending_payment' | 'confirmed' | 'checked_in' | 'cancelled' | 'failed' | 'expired';

export const BOOKING_STATES: readonly BookingState[] = ['pending_payment', 'confirmed', 'checked_in', 'cancelled', 'failed', 'expired'];

/** States whose seats are the booking's (rows in booked_seats, BOOKED in Redis). */
export const ACTIVE_STATES: readonly BookingState[] = ['pending_payment', 'confirmed', 'checked_in'];

/** Where a booking comes from in its first history row. */
export type Origin = 'none';

export type BookingAction = 'book' | 'checkout' | 'confirm' | 'fail' | 'expire' | 'cancel' | 'cancel_seats' | 'check_in';

export interface ActionRule {
  /** the states the action applies to */
  readonly from: readonly (BookingState | Origin)[];
  /** the state afterwards; `same` keeps the state (some seats change) */
  readonly to: BookingState | 'same';
  /** who may cause it (for the documentation and error messages) */
  readonly by: string;
}

export const BOOKING_ACTIONS: Readonly<Record<BookingAction, ActionRule>> = {
  book: { from: ['none'], to: 'confirmed', by: 'a client with seats:book (`book`), committed by the flusher' },
  checkout: { from: ['none'], to: 'pending_payment', by: 'a client with seats:book (`checkout`), committed by the flusher' },
  confirm: { from: ['pending_payment'], to: 'confirmed', by: 'the payment provider (signed callback) or an admin' },
  fail: { from: ['pending_payment'], to: 'failed', by: 'the payment provider (signed callback) or an admin' },
  expire: { from: ['pending_payment'], to: 'expired', by: 'the gateway, once payBy has passed' },
  cancel: { from: ['pending_payment', 'confirmed'], to: 'cancelled', by: 'an admin' },
  cancel_seats: { from: ['confirmed', 'checked_in'], to: 'same', by: 'an admin (seats not checked in)' },
  check_in: { from: ['confirmed', 'checked_in'], to: 'checked_in', by: 'a door scanner with seats:door' },
};

/** The state an action leads to from `from`, or null when the graph has no such edge. */
export function transitionOf(action: BookingAction, from: BookingState | Origin): BookingState | null {
  const rule = BOOKING_ACTIONS[action];
  if (!rule.from.includes(from)) return null;
  if (rule.to !== 'same') return rule.to;
  return from === 'none' ? null : from;
}

/** Every edge of the graph: from -> the states it may go to (the same state for a change of seats). */
export const BOOKING_TRANSITIONS: Readonly<Record<BookingState | Origin, readonly BookingState[]>> = (() => {
  const edges: Record<string, BookingState[]> = { none: [] };
  for (const s of BOOKING_STATES) edges[s] = [];
  for (const action of Object.keys(BOOKING_ACTIONS) as BookingAction[]) {
    for (const from of BOOKING_ACTIONS[action].from) {
      const to = transitionOf(action, from);
      if (to && !edges[from]!.includes(to)) edges[from]!.push(to);
    }
  }
  return edges as Record<BookingState | Origin, BookingState[]>;
})();

export function canTransition(from: BookingState | Origin, to: BookingState): boolean {
  return BOOKING_TRANSITIONS[from].includes(to);
}

export function isActive(state: BookingState): boolean {
  return ACTIVE_STATES.includes(state);
}

export function isBookingState(value: unknown): value is BookingState {
  return typeof value === 'string' && (BOOKING_STATES as readonly string[]).includes(value);
}
