-- General-admission areas (docs/bookings.md#general-admission-areas): an area
-- row per `ga` section of an event's layout, area index order, with its
-- capacity and the places its active bookings hold. The CHECK makes Postgres
-- refuse overselling an area by itself, in the transaction of the booking, as
-- the primary key of booked_seats refuses a double-booked seat.
CREATE TABLE ga_areas (
  event_id  text NOT NULL,
  area      int NOT NULL CHECK (area >= 0),
  capacity  int NOT NULL CHECK (capacity > 0),
  booked    int NOT NULL DEFAULT 0,
  PRIMARY KEY (event_id, area),
  CONSTRAINT ga_areas_within_capacity CHECK (booked >= 0 AND booked <= capacity)
);

-- The places of each active booking, per area; ending the booking deletes them.
CREATE TABLE booked_places (
  booking_id  uuid NOT NULL REFERENCES bookings (id),
  event_id    text NOT NULL,
  area        int NOT NULL,
  qty         int NOT NULL CHECK (qty > 0),
  PRIMARY KEY (booking_id, area),
  FOREIGN KEY (event_id, area) REFERENCES ga_areas (event_id, area)
);

CREATE INDEX booked_places_event_idx ON booked_places (event_id, area);

-- The area rows follow the layout the flusher copies into events.
CREATE FUNCTION ga_areas_of_layout() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  IF NEW.layout IS NULL OR jsonb_typeof(NEW.layout -> 'sections') IS DISTINCT FROM 'array' THEN
    RETURN NEW;
  END IF;
  INSERT INTO ga_areas (event_id, area, capacity)
  SELECT NEW.id, (row_number() OVER (ORDER BY ord) - 1)::int, (s ->> 'capacity')::int
  FROM jsonb_array_elements(NEW.layout -> 'sections') WITH ORDINALITY AS x(s, ord)
  WHERE s ->> 'kind' = 'ga'
  ON CONFLICT (event_id, area) DO UPDATE SET capacity = excluded.capacity;
  RETURN NEW;
END $$;

CREATE TRIGGER events_ga_areas AFTER INSERT OR UPDATE OF layout ON events
  FOR EACH ROW EXECUTE FUNCTION ga_areas_of_layout();

-- Every booked place moves its area's counter; the CHECK above refuses one past capacity.
CREATE FUNCTION ga_areas_count() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  IF TG_OP = 'INSERT' THEN
    UPDATE ga_areas SET booked = booked + NEW.qty WHERE event_id = NEW.event_id AND area = NEW.area;
    RETURN NEW;
  ELSIF TG_OP = 'UPDATE' THEN
    UPDATE ga_areas SET booked = booked - OLD.qty WHERE event_id = OLD.event_id AND area = OLD.area;
    UPDATE ga_areas SET booked = booked + NEW.qty WHERE event_id = NEW.event_id AND area = NEW.area;
    RETURN NEW;
  END IF;
  UPDATE ga_areas SET booked = booked - OLD.qty WHERE event_id = OLD.event_id AND area = OLD.area;
  RETURN OLD;
END $$;

CREATE TRIGGER booked_places_count AFTER INSERT OR UPDATE OR DELETE ON booked_places
  FOR EACH ROW EXECUTE FUNCTION ga_areas_count();

-- A booking that ends (cancelled, failed, expired) gives its places back.
CREATE FUNCTION booked_places_release() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  DELETE FROM booked_places WHERE booking_id = NEW.id;
  RETURN NEW;
END $$;

CREATE TRIGGER bookings_release_places AFTER UPDATE OF state ON bookings
  FOR EACH ROW WHEN (NEW.state IN ('cancelled', 'failed', 'expired') AND OLD.state IS DISTINCT FROM NEW.state)
  EXECUTE FUNCTION booked_places_release();
