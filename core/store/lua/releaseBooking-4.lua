--[[
  Frees seats of a booking in Redis after Postgres, the durable record, has
  released them: a cancel (of the whole booking or of some of its seats), a
  payment that failed, or a payment window that ran out. The seats turn FREE
  with one change-log entry (`op` cancel, fail or unpaid), so every watcher
  sees them free. Idempotent, and never frees a seat the booking no longer
  has: only seats still in the booking's idempotency record (`s`) are freed,
  and they leave it; `final` marks the record ended (`x`), after which
  nothing of it is freed again; a final release also gives back the booking's
  general-admission places (`g`, includes/gaAreas). So a retried release, or one applied late,
  never frees a seat that was sold again since.

  Input:
    KEYS[1] meta
    KEYS[2] status
    KEYS[3] log
    KEYS[4] bookings

    ARGV[1] now (ms, '' = Redis clock)
    ARGV[2] idempotency key of the booking
    ARGV[3] booking id
    ARGV[4] seats to free, comma-separated (from Postgres)
    ARGV[5] '1' when the booking has ended (cancelled, failed, expired), '0' for some of its seats
    ARGV[6] op for the change log: cancel, fail or unpaid

  Output:
    {'OK', seq, freed}   freed = number of seats set free; 0 with the
                         current seq when there was nothing left to free
    {'NO_EVENT'}
    {'CONFLICT'}     the key belongs to another booking
    {'BAD_REQUEST'}  malformed seat list, final flag or op
    {'BAD_SEAT'}     a seat index out of range or repeated
]]
--- @include "includes/getNow"
--- @include "includes/readMeta"
--- @include "includes/seats"
--- @include "includes/parseSeats"
--- @include "includes/appendChange"
--- @include "includes/gaAreas"
--- @include "includes/channels"

local keys = {meta = KEYS[1], status = KEYS[2], log = KEYS[3], bookings = KEYS[4]}
local now = getNow(ARGV[1])
local key, bookingId, final, op = ARGV[2], ARGV[3], ARGV[5], ARGV[6]
if (final ~= '1' and final ~= '0') or (op ~= 'cancel' and op ~= 'fail' and op ~= 'unpaid') then
  return {'BAD_REQUEST'}
end

local meta = readMeta(keys.meta)
if not meta then
  return {'NO_EVENT'}
end
local seats, err, badSeats = parseSeats(ARGV[4], meta.seats)
if not seats then
  return {err, badSeats}
end

local raw = redis.call('HGET', keys.bookings, key)
if not raw then
  -- this seat map never had the booking (or lost it): nothing of it is here to free
  if final == '1' then
    redis.call('HSET', keys.bookings, key, cjson.encode({id = bookingId, s = {}, x = 1}))
  end
  return {'OK', meta.seq, 0}
end
local record = cjson.decode(raw)
if record.id ~= bookingId then
  return {'CONFLICT'}
end
if record.x == 1 or record.r then
  return {'OK', meta.seq, 0}
end

local releasing = {}
for _, seat in ipairs(seats) do
  releasing[seat] = true
end
local changes, kept = {}, {}
for _, seat in ipairs(type(record.s) == 'table' and record.s or {}) do
  if releasing[seat] then
    if getSeatState(keys.status, seat) == BOOKED then
      freeSeat(keys.meta, keys.status, seat, changes)
    end
  else
    kept[#kept + 1] = seat
  end
end
if final == '1' then
  record.x = 1
  -- the booking's general-admission places go back with it (a partial cancel is of seats only)
  gaUnbook(keys.meta, record)
else
  -- the seats it was made with stay known (s0), so that a replay of a box-office key still matches them
  if record.s0 == nil then
    record.s0 = record.s
  end
  record.s = kept
end
redis.call('HSET', keys.bookings, key, cjson.encode(record))
if #changes == 0 and not gaAnyTouched() then
  return {'OK', meta.seq, 0}
end
local seq = appendChange(keys.meta, keys.log, meta, op, changes, now)
return {'OK', seq, #changes / 2}
