--[[
  Best available, shared by holdBest-12 and holdBestIndexed-13: picks the
  seats (includes/bestAvailable) and holds them with includes/holdSeats in
  the same script, so the pick sees exactly the seats it then holds. See
  holdBest-12.lua for the contract. keys: those of holdSeats plus geometry.
  args: now, holder, token, create, n, categories JSON, sections JSON,
  together ('1'/'0'), accessible seats wanted, random seed, accessible claim ('1'/'0').
]]
--- @include "includes/getNow"
--- @include "includes/readMeta"
--- @include "includes/tokens"
--- @include "includes/geometry"
--- @include "includes/bestAvailable"
--- @include "includes/holdSeats"

-- The numbers of the ids in `json` (a JSON array) among `known`; nil, bad when one is unknown.
local function idSet(json, known)
  if json == '' then
    return nil
  end
  local index = {}
  for i, id in ipairs(known) do
    index[id] = i - 1
  end
  local set = {}
  for _, id in ipairs(cjson.decode(json)) do
    if index[id] == nil then
      return nil, true
    end
    set[index[id]] = true
  end
  return set
end

local function holdBestSeats(keys, args)
  local now = getNow(args[1])
  local holder, token, create = args[2], args[3], args[4] == '1'
  local accessible = args[11] == '1'
  local meta = readMeta(keys.meta)
  if not meta then
    return {'NO_EVENT'}
  end
  local g = loadGeometry(keys.geometry)
  if not g then
    return {'BAD_REQUEST', {}, 'layout'}
  end
  local n, k = tonumber(args[5]), tonumber(args[9])
  if not n or n < 1 or n ~= math.floor(n) or n > meta.maxSeatsPerToken then
    return {'BAD_REQUEST', {}, 'n'}
  end
  if not k or k < 0 or k ~= math.floor(k) or k > n then
    return {'BAD_REQUEST', {}, 'accessible'}
  end
  local ids = (args[6] ~= '' or args[7] ~= '') and geoIds(g) or {c = {}, s = {}}
  local cats, badCat = idSet(args[6], ids.c)
  if badCat then
    return {'BAD_REQUEST', {}, 'categories'}
  end
  local secs, badSec = idSet(args[7], ids.s)
  if badSec then
    return {'BAD_REQUEST', {}, 'sections'}
  end

  local tokSeats = {}
  if create then
    if redis.call('HEXISTS', keys.tokens, token) == 1 then
      return {'CONFLICT'}
    end
  else
    local tok, refusal = holderToken(keys.tokens, token, holder, now)
    if not tok then
      return refusal
    end
    tokSeats = tok.s
  end
  if #tokSeats + n > meta.maxSeatsPerToken then
    return {'HOLD_LIMIT'}
  end
  local protect = geoProtected(g, now)
  if k > 0 and protect and not accessible then
    return {'UNAVAILABLE', {}, 'accessible'}
  end

  local seats, extra = bestAvailable(g, keys.status, {n = n, k = k, cats = cats, secs = secs, together = args[8] == '1',
    protect = protect, maxCompanions = g.maxCompanions, tokSeats = tokSeats, seed = args[10]})
  if not seats then
    return {'NO_BLOCK', {}, extra}
  end
  local result = holdSeats(keys, {args[1], holder, token, args[4], table.concat(seats, ',')},
    {geometry = keys.geometry, accessible = accessible})
  if result[1] == 'OK' then
    result[5] = seats
    result[6] = extra and 1 or 0
  end
  return result
end
