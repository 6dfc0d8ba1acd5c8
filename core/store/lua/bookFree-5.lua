--[[
  Box office: books free seats directly, without a hold, and appends a
  booking record to the outbox, exactly as book-9.lua does for a token (the
  flusher cannot tell them apart but by the empty token). All or nothing:
  any seat that is not free refuses the whole call and changes nothing.
  Idempotent on the client's key: the same key with the same seats (in any
  order) and holder returns the first booking again; with other seats, another
  holder, or a key a token's book or checkout used, it is a CONFLICT. A key
  whose booking the durable store refused answers that refusal again.

  Input:
    KEYS[1] meta
    KEYS[2] status
    KEYS[3] log
    KEYS[4] outbox
    KEYS[5] bookings

    ARGV[1] now (ms, '' = Redis clock)
    ARGV[2] holder
    ARGV[3] idempotency key
    ARGV[4] booking id (used only when a new booking is made)
    ARGV[5] seats, comma-separated indexes

  Output:
    {'OK', bookingId, seq, {seats}, replayed}   replayed = 1 for an earlier booking returned again
    {'NO_EVENT'}
    {'BAD_REQUEST'}            a malformed or empty seat list
    {'BAD_SEAT', {seats}}      indexes out of range or repeated
    {'UNAVAILABLE', {seats}}   seats that are not free (held, booked or blocked; a sales channel's
                               reserved seats count as free here)
    {'CONFLICT'}               the key was used for other seats, another holder, or a hold token
    {'REFUSED'}                the key's booking was refused by the durable store
    {'EXPIRED'}                the key's booking was void (its event was rebuilt before the commit)
]]
--- @include "includes/getNow"
--- @include "includes/seats"
--- @include "includes/loadEventSeats"
--- @include "includes/appendChange"

local keys = {meta = KEYS[1], status = KEYS[2], log = KEYS[3], outbox = KEYS[4], bookings = KEYS[5]}
local now = getNow(ARGV[1])
local holder, key, bookingId = ARGV[2], ARGV[3], ARGV[4]

local meta, seats = loadEventSeats(keys.meta, ARGV[5], false)
if not meta then
  return seats
end

local function sorted(list)
  local copy = {}
  for i, v in ipairs(list) do
    copy[i] = tonumber(v)
  end
  table.sort(copy)
  return copy
end

local function sameSeats(a, b)
  if #a ~= #b then
    return false
  end
  local x, y = sorted(a), sorted(b)
  for i = 1, #x do
    if x[i] ~= y[i] then
      return false
    end
  end
  return true
end

local earlier = redis.call('HGET', keys.bookings, key)
if earlier then
  local b = cjson.decode(earlier)
  if b.tok ~= '' or b.h ~= holder or not sameSeats(b.s, seats) then
    return {'CONFLICT'}
  end
  if b.r == 'REFUSED' then
    return {'REFUSED'}
  elseif b.r == 'EXPIRED' then
    return {'EXPIRED'}
  end
  return {'OK', b.id, b.seq, b.s, 1}
end

local notFree = {}
for _, seat in ipairs(seats) do
  local state = getSeatState(keys.status, seat)
  -- the box office sells a sales channel's reserved seats too (4, includes/channels)
  if state ~= FREE and state ~= 4 then
    notFree[#notFree + 1] = seat
  end
end
if #notFree > 0 then
  return {'UNAVAILABLE', notFree}
end

local changes = {}
for _, seat in ipairs(seats) do
  setSeatState(keys.status, seat, BOOKED)
  changes[#changes + 1] = seat
  changes[#changes + 1] = BOOKED
end
local seq = appendChange(keys.meta, keys.log, meta, 'book', changes, now)
local seatsJson = cjson.encode(seats)
redis.call('XADD', keys.outbox, '*', 'id', bookingId, 'key', key, 'holder', holder,
  'token', '', 'seats', seatsJson, 'seq', seq, 'epoch', meta.epoch, 'at', now)
redis.call('HSET', keys.bookings, key, cjson.encode({id = bookingId, tok = '', h = holder,
  s = seats, seq = seq, at = now}))
return {'OK', bookingId, seq, seats, 0}
