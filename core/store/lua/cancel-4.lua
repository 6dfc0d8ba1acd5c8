--[[
  Cancels a booking in Redis: its seats turn FREE with one change-log entry,
  so every watcher sees them free, and its idempotency record is marked
  cancelled. Postgres has already recorded the cancellation (the durable
  record); this script is idempotent, so a retried cancel changes nothing.

  Input:
    KEYS[1] meta
    KEYS[2] status
    KEYS[3] log
    KEYS[4] bookings

    ARGV[1] now (ms, '' = Redis clock)
    ARGV[2] idempotency key of the booking
    ARGV[3] booking id
    ARGV[4] seats, comma-separated (the booking's seats, from Postgres)

  Output:
    {'OK', seq, freed}   freed = number of seats set free; 0 with the
                         current seq when the booking was already cancelled
    {'NO_EVENT'}
    {'CONFLICT'}     the key belongs to another booking
    {'BAD_REQUEST'}  malformed seat list
    {'BAD_SEAT'}     a seat index out of range
]]
--- @include "includes/getNow"
--- @include "includes/readMeta"
--- @include "includes/seats"
--- @include "includes/parseSeats"
--- @include "includes/appendChange"

local keys = {meta = KEYS[1], status = KEYS[2], log = KEYS[3], bookings = KEYS[4]}
local now = getNow(ARGV[1])
local key, bookingId = ARGV[2], ARGV[3]

local meta = readMeta(keys.meta)
if not meta then
  return {'NO_EVENT'}
end
local seats, err, badSeats = parseSeats(ARGV[4], meta.seats)
if not seats then
  return {err, badSeats}
end

local record = {id = bookingId}
local raw = redis.call('HGET', keys.bookings, key)
if raw then
  record = cjson.decode(raw)
  if record.id ~= bookingId then
    return {'CONFLICT'}
  end
  if record.x == 1 then
    return {'OK', meta.seq, 0}
  end
end

-- Only seats still BOOKED are freed: the seats of a booking the event lost
-- (rebuilt without it) may have been sold again since.
local changes = {}
if raw then
  for _, seat in ipairs(seats) do
    if getSeatState(keys.status, seat) == BOOKED then
      setSeatState(keys.status, seat, FREE)
      changes[#changes + 1] = seat
      changes[#changes + 1] = FREE
    end
  end
end
record.x = 1
redis.call('HSET', keys.bookings, key, cjson.encode(record))
if #changes == 0 then
  return {'OK', meta.seq, 0}
end
local seq = appendChange(keys.meta, keys.log, meta, 'cancel', changes, now)
return {'OK', seq, #changes / 2}
