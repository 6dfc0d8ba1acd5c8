--[[
  Box office: books free seats directly, without a hold, and appends a
  booking record to the outbox, exactly as book-9.lua does for a token (the
  flusher cannot tell them apart but by the empty token). General-admission
  places (ARGV[6]) are booked in the same call: for every area booked +
  held + blocked + qty <= capacity (places of overdue, unswept tokens still
  count as held: the box office never counts on an expiry that has not run).
  All or nothing: any seat that is not free, or any area without room,
  refuses the whole call and changes nothing.
  Idempotent on the client's key: the same key with the same seats (in any
  order), the same places and holder returns the first booking again; with
  other seats or places, another holder, or a key a token's book or checkout
  used, it is a CONFLICT. A key whose booking the durable store refused
  answers that refusal again (its places are not compared: it keeps none).

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
    ARGV[5] seats, comma-separated indexes (may be empty when ARGV[6] is not)
    ARGV[6] general-admission places "area:qty,..." ('' for none)

  Output:
    {'OK', bookingId, seq, {seats}, replayed, {area, qty, ...}}   replayed = 1 for an earlier booking returned again
    {'NO_EVENT'}
    {'BAD_REQUEST'}            a malformed seat list, or an empty one without places
    {'BAD_REQUEST', {}, 'ga'}  a malformed place list, a quantity outside 1..1000, an area named twice or unknown
    {'BAD_SEAT', {seats}}      indexes out of range or repeated
    {'UNAVAILABLE', {seats}}   seats that are not free (held, booked or blocked; a sales channel's
                               reserved seats count as free here)
    {'UNAVAILABLE', {}, 'ga', {areas}, {left}}  areas without room for the quantity (every seat was free)
    {'CONFLICT'}               the key was used for other seats, another holder, or a hold token
    {'REFUSED'}                the key's booking was refused by the durable store
    {'EXPIRED'}                the key's booking was void (its event was rebuilt before the commit)
]]
--- @include "includes/getNow"
--- @include "includes/seats"
--- @include "includes/loadEventSeats"
--- @include "includes/appendChange"
--- @include "includes/appendOutbox"

local keys = {meta = KEYS[1], status = KEYS[2], log = KEYS[3], outbox = KEYS[4], bookings = KEYS[5]}
local now = getNow(ARGV[1])
local holder, key, bookingId = ARGV[2], ARGV[3], ARGV[4]
local withGa = ARGV[6] ~= nil and ARGV[6] ~= ''

local meta, seats = loadEventSeats(keys.meta, ARGV[5], withGa)
if not meta then
  return seats
end
local places, gaWants = {}, {}
if withGa then
  local wants, refusal = parseGa(keys.meta, ARGV[6])
  if not wants then
    return refusal
  end
  gaWants = wants
  for _, w in ipairs(wants) do
    places[tostring(w[1])] = w[2]
  end
end

local function samePlaces(a, b)
  local x, y = placeList(a), placeList(b)
  if #x ~= #y then
    return false
  end
  for i = 1, #x do
    if x[i] ~= y[i] then
      return false
    end
  end
  return true
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
  -- a refused or void booking's places are not compared, only its seats; an ended one (cancelled, failed,
  -- expired) compares the places it was made with (includes/gaAreas gaUnbook keeps them as gx)
  -- the seats compared are those it was made with (s0 once some were cancelled, releaseBooking-4.lua)
  if b.tok ~= '' or b.h ~= holder or not sameSeats(b.s0 or b.s, seats) or (b.r == nil and not samePlaces(gaPlacesBooked(b), places)) then
    return {'CONFLICT'}
  end
  if b.r == 'REFUSED' then
    return {'REFUSED'}
  elseif b.r == 'EXPIRED' then
    return {'EXPIRED'}
  end
  return {'OK', b.id, b.seq, b.s, 1, placeList(gaPlacesBooked(b))}
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

local full, left = {}, {}
for _, w in ipairs(gaWants) do
  local c, h, b, k = gaCounters(keys.meta, w[1])
  if h + b + k + w[2] > c then
    full[#full + 1] = w[1]
    left[#left + 1] = math.max(0, c - h - b - k)
  end
end
if #full > 0 then
  return {'UNAVAILABLE', {}, 'ga', full, left}
end

local changes = {}
for _, seat in ipairs(seats) do
  setSeatState(keys.status, seat, BOOKED)
  changes[#changes + 1] = seat
  changes[#changes + 1] = BOOKED
end
for _, w in ipairs(gaWants) do
  gaMove(keys.meta, w[1], 'b', w[2])
end
local booked = {g = places}
local seq = appendChange(keys.meta, keys.log, meta, 'book', changes, now)
local seatsJson = cjson.encode(seats)
appendOutbox(keys.outbox, {'id', bookingId, 'key', key, 'holder', holder,
  'token', '', 'seats', seatsJson, 'ga', gaBookedJson(booked), 'seq', seq, 'epoch', meta.epoch, 'at', now})
redis.call('HSET', keys.bookings, key, cjson.encode({id = bookingId, tok = '', h = holder,
  s = seats, g = gaPlacesOf(booked), seq = seq, at = now}))
return {'OK', bookingId, seq, seats, 0, placeList(places)}
