/** Seat states as stored in the status byte-string and sent to clients. */
export const SeatState = {
  FREE: 0,
  HELD: 1,
  BOOKED: 2,
  BLOCKED: 3,
  /** free, but only for the members of a sales channel (docs/store.md#sales-channels) */
  RESERVED: 4,
} as const;

export type SeatStateValue = (typeof SeatState)[keyof typeof SeatState];

export const SEAT_STATE_NAMES = ['free', 'held', 'booked', 'blocked', 'reserved'] as const;
