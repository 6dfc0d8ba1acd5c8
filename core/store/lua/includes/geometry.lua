--[[
  The event's geometry (core/store/geometry.ts): rows, seat ranks, categories,
  attributes, the orphan policy and the protection of wheelchair seats, read
  with GETRANGE so a script touches only the rows it needs. loadGeometry
  returns nil for an event without one (created without a layout): no best
  available, no orphan rule, no accessible seats.
]]
local GEO_HEADER, GEO_ROW, GEO_SEAT, GEO_ORDER, GEO_RANK = 32, 16, 12, 20, 3
local POLICY_OFF, POLICY_LENIENT, POLICY_STRICT = 0, 1, 2
local ATTR_WHEELCHAIR, ATTR_COMPANION = 1, 2

local function loadGeometry(key)
  local h = redis.call('GETRANGE', key, 0, GEO_HEADER - 1)
  if #h < GEO_HEADER then
    return nil
  end
  local _, policy, maxCompanions, monotone, seats, rows, idsAt, idsLen, protectUntil, sections = struct.unpack('<BBBBI4I4I4I4dI4', h)
  return {key = key, policy = policy, maxCompanions = maxCompanions, seats = seats, rows = rows, sections = sections,
    monotone = monotone == 1,
    sectionsAt = GEO_HEADER + rows * (GEO_ROW + GEO_ORDER) + seats * (GEO_SEAT + GEO_RANK),
    idsAt = idsAt, idsLen = idsLen, protectUntil = protectUntil,
    orderAt = GEO_HEADER + rows * GEO_ROW, seatsAt = GEO_HEADER + rows * (GEO_ROW + GEO_ORDER),
    ranksAt = GEO_HEADER + rows * (GEO_ROW + GEO_ORDER) + seats * GEO_SEAT, rowCache = {}}
end

-- Row r: {start, count, section, best} (first seat, seats, section number, best rank).
local function geoRow(g, r)
  local row = g.rowCache[r]
  if not row then
    local at = GEO_HEADER + r * GEO_ROW
    local start, count, section, best = struct.unpack('<I4I4I4I4', redis.call('GETRANGE', g.key, at, at + GEO_ROW - 1))
    row = {r = r, start = start, count = count, section = section, best = best}
    g.rowCache[r] = row
  end
  return row
end

-- The row a seat is in.
local function geoRowOfSeat(g, seat)
  local at = g.seatsAt + seat * GEO_SEAT + 4
  return geoRow(g, (struct.unpack('<I4', redis.call('GETRANGE', g.key, at, at + 3))))
end

-- Ranks, categories and attribute bits of `count` seats from `start`, as arrays indexed 1..count.
local function geoSeats(g, start, count)
  local at = g.seatsAt + start * GEO_SEAT
  local b = redis.call('GETRANGE', g.key, at, at + count * GEO_SEAT - 1)
  local ranks, cats, attrs = {}, {}, {}
  local pos, skip = 1, nil
  for i = 1, count do
    ranks[i], skip, cats[i], attrs[i], skip, pos = struct.unpack('<I4I4I2BB', b, pos)
  end
  return ranks, cats, attrs
end

-- Attribute bits of one seat.
local function geoAttrs(g, seat)
  local at = g.seatsAt + seat * GEO_SEAT + 10
  return string.byte(redis.call('GETRANGE', g.key, at, at))
end

-- The ranks of `count` seats from `first`, 3 bytes each (u24), as one string.
local function geoRanks(g, first, count)
  local at = g.ranksAt + first * GEO_RANK
  return redis.call('GETRANGE', g.key, at, at + count * GEO_RANK - 1)
end

-- A section's seats: first seat, count (its rows are contiguous).
local function geoSection(g, section)
  local at = g.sectionsAt + section * 8
  return struct.unpack('<I4I4', redis.call('GETRANGE', g.key, at, at + 7))
end

-- {c = {category ids}, s = {section ids}}, in their order.
local function geoIds(g)
  return cjson.decode(redis.call('GETRANGE', g.key, g.idsAt, g.idsAt + g.idsLen - 1))
end

-- Whether wheelchair seats are kept for accessible buyers at `now`.
local function geoProtected(g, now)
  return g ~= nil and g.protectUntil > 0 and now < g.protectUntil
end
