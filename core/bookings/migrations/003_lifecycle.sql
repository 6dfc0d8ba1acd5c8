-- The booking lifecycle beyond "confirmed": a payment window, check-in at the
-- door, partial cancels, and the event log every change is written to (the
-- outbox of webhooks and the pull log). See docs/bookings.md.

-- States: pending_payment (a checkout waiting for its payment until pay_by),
-- confirmed, checked_in (at least one seat scanned at the door), and the ended
-- ones: cancelled, failed (the payment failed), expired (not paid by pay_by).
ALTER TABLE bookings DROP CONSTRAINT bookings_state_check;
ALTER TABLE bookings ADD CONSTRAINT bookings_state_check
  CHECK (state IN ('pending_payment', 'confirmed', 'checked_in', 'cancelled', 'failed', 'expired'));

-- `seats` are the booking's seats now; a partial cancel moves some to `cancelled_seats`.
ALTER TABLE bookings ADD COLUMN pay_by timestamptz;
ALTER TABLE bookings ADD COLUMN cancelled_seats int[] NOT NULL DEFAULT '{}';
ALTER TABLE bookings ADD COLUMN updated_at timestamptz;

-- What the payment-window expiry claims: unpaid bookings, earliest first.
CREATE INDEX bookings_payment_due_idx ON bookings (pay_by) WHERE state = 'pending_payment';

-- The action behind each history row (book, checkout, confirm, fail, expire,
-- cancel, cancel_seats, check_in); rows from before this migration are books and cancels.
ALTER TABLE booking_history ADD COLUMN action text;
UPDATE booking_history SET action = CASE WHEN from_state = 'none' THEN 'book' ELSE 'cancel' END;

-- One row per seat checked in at the door: when, where and by whom.
CREATE TABLE seat_checkins (
  booking_id  uuid NOT NULL REFERENCES bookings (id),
  seat        int NOT NULL,
  event_id    text NOT NULL,
  at          timestamptz NOT NULL DEFAULT now(),
  gate        text,
  checked_by  text,
  PRIMARY KEY (booking_id, seat)
);

CREATE INDEX seat_checkins_event_idx ON seat_checkins (event_id);

-- Seats Postgres has released from a booking that Redis has not freed yet:
-- written in the transaction of the release, deleted once Redis has applied
-- it, retried until then.
CREATE TABLE seat_releases (
  id               bigserial PRIMARY KEY,
  booking_id       uuid NOT NULL,
  event_id         text NOT NULL,
  idempotency_key  text NOT NULL,
  seats            int[] NOT NULL,
  final            boolean NOT NULL,
  op               text NOT NULL,
  created_at       timestamptz NOT NULL DEFAULT now()
);

CREATE INDEX seat_releases_event_idx ON seat_releases (event_id);

-- Per event: the last log position handed out (its row lock orders the
-- event's log by commit), the seats taken (in active bookings, or blocked),
-- kept by every transaction that changes them, and whether that is all of them.
CREATE TABLE event_log_heads (
  event_id  text PRIMARY KEY,
  last_seq  bigint NOT NULL DEFAULT 0,
  taken     int NOT NULL DEFAULT 0,
  sold_out  boolean NOT NULL DEFAULT false
);

INSERT INTO event_log_heads (event_id, taken)
SELECT event_id, count(*) FROM (SELECT event_id FROM booked_seats UNION ALL SELECT event_id FROM blocked_seats) AS seats GROUP BY event_id;

-- The event log: every lifecycle transition, hold expiry, sell-out and
-- rebuild, written in the transaction of the change it describes.
CREATE TABLE event_log (
  event_id    text NOT NULL,
  seq         bigint NOT NULL,
  id          uuid NOT NULL UNIQUE,
  type        text NOT NULL,
  booking_id  uuid,
  data        jsonb NOT NULL,
  dedupe      text,
  at          timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (event_id, seq),
  UNIQUE (event_id, dedupe)
);

CREATE INDEX event_log_booking_idx ON event_log (booking_id) WHERE booking_id IS NOT NULL;

-- Webhook subscriptions, registered by an admin.
CREATE TABLE webhooks (
  id          uuid PRIMARY KEY,
  url         text NOT NULL,
  events      text[] NOT NULL,
  secret      text NOT NULL,
  created_at  timestamptz NOT NULL DEFAULT now(),
  created_by  text
);

-- One row per log entry per webhook that wants it, written with the entry.
CREATE TABLE webhook_deliveries (
  webhook_id       uuid NOT NULL REFERENCES webhooks (id) ON DELETE CASCADE,
  event_id         text NOT NULL,
  seq              bigint NOT NULL,
  -- deliveries of one (webhook, event, order key) go out in seq order: the booking id, '' for event-level entries
  order_key        text NOT NULL,
  state            text NOT NULL DEFAULT 'pending' CHECK (state IN ('pending', 'delivered', 'parked')),
  attempts         int NOT NULL DEFAULT 0,
  -- when it was queued (written with its entry, or replayed): the retry window starts here
  queued_at        timestamptz NOT NULL DEFAULT now(),
  next_attempt_at  timestamptz NOT NULL DEFAULT now(),
  claimed_by       text,
  claimed_until    timestamptz,
  last_status      int,
  last_error       text,
  delivered_at     timestamptz,
  parked_at        timestamptz,
  PRIMARY KEY (webhook_id, event_id, seq),
  FOREIGN KEY (event_id, seq) REFERENCES event_log (event_id, seq)
);

CREATE INDEX webhook_deliveries_due_idx ON webhook_deliveries (next_attempt_at) WHERE state = 'pending';
CREATE INDEX webhook_deliveries_order_idx ON webhook_deliveries (webhook_id, event_id, order_key, seq) WHERE state = 'pending';
CREATE INDEX webhook_deliveries_parked_idx ON webhook_deliveries (webhook_id) WHERE state = 'parked';
CREATE INDEX webhook_deliveries_event_idx ON webhook_deliveries (event_id);
