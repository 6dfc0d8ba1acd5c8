-- Sales channels (presales, docs/bookings.md#sales-channels): per event and
-- channel key, the seats the channel holds back (those it reserved when it was
-- put; resolved from sections and categories to seat indexes) and when its
-- still-free seats go on sale. Written by the admin API in the transaction of
-- the change; a delete removes the row. A rebuild restores every channel whose
-- release_at has not passed; a row whose release_at passed is the record of a
-- presale that is over, and restores nothing.
CREATE TABLE sales_channels (
  event_id    text NOT NULL,
  key         text NOT NULL CHECK (key ~ '^[A-Za-z0-9_.-]{1,32}$'),
  seats       int[] NOT NULL,
  release_at  timestamptz,
  updated_at  timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (event_id, key)
);
