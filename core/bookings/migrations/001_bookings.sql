-- Bookings committed from the Redis outbox (see docs/bookings.md).

CREATE TABLE events (
  id          text PRIMARY KEY,
  epoch       bigint,
  layout      jsonb,
  settings    jsonb,
  seat_count  int,
  created_at  timestamptz DEFAULT now()
);

CREATE TABLE bookings (
  id               uuid PRIMARY KEY,
  reference        text UNIQUE NOT NULL,
  event_id         text NOT NULL,
  holder           text NOT NULL,
  idempotency_key  text NOT NULL,
  state            text NOT NULL CHECK (state IN ('confirmed', 'cancelled')),
  seats            int[] NOT NULL,
  seq              bigint,
  epoch            bigint,
  booked_at        timestamptz NOT NULL,
  committed_at     timestamptz DEFAULT now(),
  cancelled_at     timestamptz,
  UNIQUE (event_id, idempotency_key)
);

CREATE INDEX bookings_event_holder_idx ON bookings (event_id, holder);

-- One row per seat of each ACTIVE (confirmed) booking: the primary key makes
-- Postgres refuse a second active booking of a seat. Cancelling deletes the rows.
CREATE TABLE booked_seats (
  event_id    text NOT NULL,
  seat        int NOT NULL,
  booking_id  uuid NOT NULL REFERENCES bookings (id),
  PRIMARY KEY (event_id, seat)
);

CREATE INDEX booked_seats_booking_idx ON booked_seats (booking_id);

CREATE TABLE booking_history (
  id          bigserial PRIMARY KEY,
  booking_id  uuid NOT NULL,
  from_state  text NOT NULL,
  to_state    text NOT NULL,
  at          timestamptz DEFAULT now(),
  detail      jsonb
);

CREATE INDEX booking_history_booking_idx ON booking_history (booking_id);

CREATE TABLE seat_changes (
  id          bigserial PRIMARY KEY,
  event_id    text NOT NULL,
  seat        int NOT NULL,
  booking_id  uuid,
  change      text NOT NULL,
  at          timestamptz DEFAULT now()
);

CREATE INDEX seat_changes_event_seat_idx ON seat_changes (event_id, seat);
