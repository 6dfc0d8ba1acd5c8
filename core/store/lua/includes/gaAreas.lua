--[[
  General-admission areas: per-area counters, kept in the event's meta hash
  beside the seat count (so every script of the event already has them, and
  they are created and deleted with the event). For area index a:
    ga:<a>:c  capacity (set by createEvent; absent = no such area)
    ga:<a>:h  places held by live tokens
    ga:<a>:b  places booked
    ga:<a>:k  places blocked
  The invariant: h + b + k <= c, and none below 0. A token records its
  quantities as t.g = {["<a>"] = qty} (JSON object).

  Every counter move goes through gaMove, which also marks the area touched;
  appendChange writes the touched areas' final counters into the entry's `ga`
  field (MessagePack [area, free, held, booked, ...]). One script call is one
  operation, so the touched set is the operation's.
]]

local GA_MAX_QTY = 1000
local gaTouched, gaTouchedOrder = {}, {}

-- "a:q,a:q" -> {{a, q}, ...}; or nil and the refusal {'BAD_REQUEST', {}, 'ga'}
-- for a malformed list, a quantity outside 1..GA_MAX_QTY, an area named twice
-- or one the event does not have.
local function parseGa(metaKey, csv)
  local wants, seen = {}, {}
  for part in string.gmatch(csv, '[^,]+') do
    local a, q = string.match(part, '^(%d+):(%d+)$')
    if not a then
      return nil, {'BAD_REQUEST', {}, 'ga'}
    end
    a, q = tonumber(a), tonumber(q)
    if q < 1 or q > GA_MAX_QTY or seen[a] or not redis.call('HGET', metaKey, 'ga:' .. a .. ':c') then
      return nil, {'BAD_REQUEST', {}, 'ga'}
    end
    seen[a] = true
    wants[#wants + 1] = {a, q}
  end
  return wants
end

-- capacity, held, booked, blocked of an area (numbers; capacity 0 for no such area)
local function gaCounters(metaKey, a)
  local v = redis.call('HMGET', metaKey, 'ga:' .. a .. ':c', 'ga:' .. a .. ':h', 'ga:' .. a .. ':b', 'ga:' .. a .. ':k')
  return tonumber(v[1] or '0'), tonumber(v[2] or '0'), tonumber(v[3] or '0'), tonumber(v[4] or '0')
end

local function gaMove(metaKey, a, field, delta)
  if delta == 0 then
    return
  end
  redis.call('HINCRBY', metaKey, 'ga:' .. a .. ':' .. field, delta)
  if not gaTouched[a] then
    gaTouched[a] = true
    gaTouchedOrder[#gaTouchedOrder + 1] = a
  end
end

-- Places a token holds in total, and in one area.
local function gaTokenTotal(t)
  local n = 0
  for _, q in pairs(t.g or {}) do
    n = n + q
  end
  return n
end

local function gaTokenQty(t, a)
  return (t.g and t.g[tostring(a)]) or 0
end

local function gaTokenAdd(t, a, delta)
  if type(t.g) ~= 'table' then
    t.g = {}
  end
  local key = tostring(a)
  local n = (t.g[key] or 0) + delta
  if n <= 0 then
    t.g[key] = nil
  else
    t.g[key] = n
  end
end

-- Gives back every place a token holds (expiry, release of all, extend to 0).
local function gaFreeToken(metaKey, t)
  for key, q in pairs(t.g or {}) do
    gaMove(metaKey, tonumber(key), 'h', -q)
  end
  t.g = {}
end

-- Turns every place a token holds booked (book, checkout); returns {area, qty, ...}.
local function gaBookToken(metaKey, t)
  local booked = {}
  for key, q in pairs(t.g or {}) do
    local a = tonumber(key)
    gaMove(metaKey, a, 'h', -q)
    gaMove(metaKey, a, 'b', q)
    booked[#booked + 1] = a
    booked[#booked + 1] = q
  end
  return booked
end

local function gaAnyTouched()
  return #gaTouchedOrder > 0
end

-- The touched areas' final counters, [area, free, held, booked, ...], for the change log.
local function gaFinalCounters(metaKey)
  local out = {}
  for _, a in ipairs(gaTouchedOrder) do
    local c, h, b, k = gaCounters(metaKey, a)
    out[#out + 1] = a
    out[#out + 1] = c - h - b - k
    out[#out + 1] = h
    out[#out + 1] = b
  end
  return out
end

-- A booked token's places for its outbox record: JSON {"<area>": qty}, '' for none.
local function gaBookedJson(t)
  if gaTokenTotal(t) == 0 then
    return ''
  end
  return cjson.encode(t.g)
end

-- A token's places for a booking record (nil for none, so records without places stay as they were).
local function gaPlacesOf(t)
  if gaTokenTotal(t) == 0 then
    return nil
  end
  return t.g
end

-- {"<area>": qty} as a reply list {area, qty, ...}, ascending by area
local function placeList(g)
  local out = {}
  for a, q in pairs(type(g) == 'table' and g or {}) do
    out[#out + 1] = {tonumber(a), q}
  end
  table.sort(out, function(x, y) return x[1] < y[1] end)
  local flat = {}
  for _, p in ipairs(out) do
    flat[#flat + 1] = p[1]
    flat[#flat + 1] = p[2]
  end
  return flat
end

-- An ended booking gives its booked places back (releaseBooking, voidBooking); the record keeps none
-- booked (g), but remembers what it booked (gx), so that a replay of its key still names them.
local function gaUnbook(metaKey, record)
  for key, q in pairs(type(record.g) == 'table' and record.g or {}) do
    gaMove(metaKey, tonumber(key), 'b', -q)
  end
  if type(record.g) == 'table' then
    record.gx = record.g
  end
  record.g = nil
end

-- The places a booking record was made with, booked still (g) or given back since (gx).
local function gaPlacesBooked(record)
  return record.g or record.gx
end
