-- Places of general-admission areas taken off sale (docs/bookings.md#general-admission-areas):
-- per event and area, how many are blocked, as blocked_seats records blocked seats. The admin
-- block and unblock calls write it in the transaction around their Redis script; a rebuild
-- passes it to the seat store. No row: none blocked.
CREATE TABLE blocked_places (
  event_id  text NOT NULL,
  area      int NOT NULL CHECK (area >= 0),
  qty       int NOT NULL CHECK (qty > 0),
  PRIMARY KEY (event_id, area)
);
