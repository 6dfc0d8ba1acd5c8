/** Seat state values on the wire (docs/protocol.md, "Seat states"). */
export const SEAT_STATE = Object.freeze({ free: 0, held: 1, booked: 2, blocked: 3, reserved: 4 } as const);

export type SeatStateName = keyof typeof SEAT_STATE;
