-- What a rebuild of an event in Redis needs from Postgres, and cancellation.

-- The hold token a booking was made from: a rebuilt event restores its
-- idempotency records (key -> booking, token), so a client retrying `book`
-- with the same key and token after Redis lost the event gets the same booking.
ALTER TABLE bookings ADD COLUMN hold_token text;

-- Seats taken off sale by an admin. A rebuilt event restores them as blocked.
CREATE TABLE blocked_seats (
  event_id    text NOT NULL,
  seat        int NOT NULL,
  blocked_at  timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (event_id, seat)
);

-- Admin listing of an event's bookings, newest first.
CREATE INDEX bookings_event_booked_idx ON bookings (event_id, booked_at DESC, id);

-- An event deleted on purpose is not rebuilt; recreating it clears the mark.
ALTER TABLE events ADD COLUMN deleted_at timestamptz;
