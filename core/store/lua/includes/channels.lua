--[[
  Sales channels (presales, docs/store.md#sales-channels). A channel is a set
  of seats of the event that only callers carrying its key may hold, until it
  is released (at its releaseAt, or deleted by an admin). Kept in the event's
  meta hash, like the general-admission counters, so every script that frees
  a seat already has it (no extra key, no script renamed):
    ch:<key>   JSON {r = releaseAt ms (0 = none), s = [seats]}: the channel's seats
    cs:<seat>  the key of the channel the seat belongs to
    chl        the event's channel keys, comma-separated, in creation order
  A free seat of a channel is RESERVED (4) in the status string, so the
  snapshot, the change log and every diff say so to all watchers. Held,
  booked (by a channel member) and blocked seats of a channel keep their
  state; whenever such a seat is freed again (release, expiry, cancel, void,
  swap) freedState turns it back to RESERVED, never to FREE, while its
  channel stands.
]]

local RESERVED = 4
-- the most channels an event has, and the most keys one caller carries (inputs.ts agrees)
local CHANNELS_MAX = 100

-- The state a seat takes when freed: RESERVED in a channel that stands, else FREE (0).
local function freedState(metaKey, seat)
  if redis.call('HEXISTS', metaKey, 'cs:' .. seat) == 1 then
    return RESERVED
  end
  return 0
end

-- Frees a seat (every script that frees one calls this): FREE, or RESERVED in a channel that
-- stands; appends (seat, state) to changes.
local function freeSeat(metaKey, statusKey, seat, changes)
  local state = freedState(metaKey, seat)
  redis.call('SETRANGE', statusKey, seat, string.char(state))
  changes[#changes + 1] = seat
  changes[#changes + 1] = state
end

-- The caller's channel keys (ARGV: comma-separated, '' or nil = none) as a set.
local function channelSet(csv)
  local set = {}
  for key in string.gmatch(csv or '', '[^,]+') do
    set[key] = true
  end
  return set
end

-- Whether a caller with `chan` (a set) or exempt (the box office) may take a RESERVED seat.
local function mayTakeReserved(metaKey, seat, chan, exempt)
  if exempt then
    return true
  end
  local key = redis.call('HGET', metaKey, 'cs:' .. seat)
  return key ~= false and key ~= nil and chan[key] == true
end

-- The event's channel keys, in order.
local function channelKeys(metaKey)
  local keys = {}
  for key in string.gmatch(redis.call('HGET', metaKey, 'chl') or '', '[^,]+') do
    keys[#keys + 1] = key
  end
  return keys
end

local function channelRecord(metaKey, key)
  local raw = redis.call('HGET', metaKey, 'ch:' .. key)
  if not raw then
    return nil
  end
  local c = cjson.decode(raw)
  if type(c.s) ~= 'table' then
    c.s = {}
  end
  return c
end

local function saveChannel(metaKey, key, releaseAt, seats)
  local encoded = '[]'
  if #seats > 0 then
    encoded = cjson.encode(seats)
  end
  redis.call('HSET', metaKey, 'ch:' .. key, '{"r":' .. string.format('%d', releaseAt) .. ',"s":' .. encoded .. '}')
end

-- Removes a channel: its RESERVED seats turn FREE (appended to changes), its map entries go.
local function dropChannel(metaKey, statusKey, key, changes)
  local c = channelRecord(metaKey, key)
  if not c then
    return 0
  end
  local freed = 0
  for _, seat in ipairs(c.s) do
    if redis.call('HGET', metaKey, 'cs:' .. seat) == key then
      redis.call('HDEL', metaKey, 'cs:' .. seat)
      if string.byte(redis.call('GETRANGE', statusKey, seat, seat)) == RESERVED then
        redis.call('SETRANGE', statusKey, seat, string.char(0))
        changes[#changes + 1] = seat
        changes[#changes + 1] = 0
        freed = freed + 1
      end
    end
  end
  redis.call('HDEL', metaKey, 'ch:' .. key)
  local rest = {}
  for _, k in ipairs(channelKeys(metaKey)) do
    if k ~= key then
      rest[#rest + 1] = k
    end
  end
  if #rest == 0 then
    redis.call('HDEL', metaKey, 'chl')
  else
    redis.call('HSET', metaKey, 'chl', table.concat(rest, ','))
  end
  return freed
end

--[[
  Makes `seats` (a list, checked against the seat count) channel `key`'s: a
  FREE seat turns RESERVED (appended to changes) and joins it; a seat already
  the channel's stays; any other (held, booked, blocked, or another channel's)
  is left as it is and reported in `skipped`. A channel put again first gives
  up its seats that are not in the new list (RESERVED ones turn FREE). Returns
  the channel's seats, the skipped ones; or nil when the event would pass
  CHANNELS_MAX channels.
]]
local function putChannel(metaKey, statusKey, key, seats, releaseAt, changes)
  local old = channelRecord(metaKey, key)
  local wanted = {}
  for _, seat in ipairs(seats) do
    wanted[seat] = true
  end
  if old then
    for _, seat in ipairs(old.s) do
      if not wanted[seat] and redis.call('HGET', metaKey, 'cs:' .. seat) == key then
        redis.call('HDEL', metaKey, 'cs:' .. seat)
        if string.byte(redis.call('GETRANGE', statusKey, seat, seat)) == RESERVED then
          redis.call('SETRANGE', statusKey, seat, string.char(0))
          changes[#changes + 1] = seat
          changes[#changes + 1] = 0
        end
      end
    end
  else
    local keys = channelKeys(metaKey)
    if #keys >= CHANNELS_MAX then
      return nil
    end
    keys[#keys + 1] = key
    redis.call('HSET', metaKey, 'chl', table.concat(keys, ','))
  end
  local mine, skipped = {}, {}
  for _, seat in ipairs(seats) do
    local owner = redis.call('HGET', metaKey, 'cs:' .. seat)
    if owner == key then
      mine[#mine + 1] = seat
    elseif owner then
      skipped[#skipped + 1] = seat
    elseif string.byte(redis.call('GETRANGE', statusKey, seat, seat)) == 0 then
      redis.call('HSET', metaKey, 'cs:' .. seat, key)
      redis.call('SETRANGE', statusKey, seat, string.char(RESERVED))
      changes[#changes + 1] = seat
      changes[#changes + 1] = RESERVED
      mine[#mine + 1] = seat
    else
      skipped[#skipped + 1] = seat
    end
  end
  table.sort(mine)
  saveChannel(metaKey, key, releaseAt, mine)
  return mine, skipped
end

-- A rebuild (createEvent): the channel as Postgres recorded it; its seats that are FREE in the new status turn RESERVED.
local function restoreChannel(metaKey, statusKey, key, releaseAt, seats)
  local keys = channelKeys(metaKey)
  keys[#keys + 1] = key
  redis.call('HSET', metaKey, 'chl', table.concat(keys, ','))
  for _, seat in ipairs(seats) do
    redis.call('HSET', metaKey, 'cs:' .. seat, key)
    if string.byte(redis.call('GETRANGE', statusKey, seat, seat)) == 0 then
      redis.call('SETRANGE', statusKey, seat, string.char(RESERVED))
    end
  end
  table.sort(seats)
  saveChannel(metaKey, key, releaseAt, seats)
end

-- "a-b,c,..." ascending runs of seat indexes (as the bulk scripts take them) -> seats, or nil, refusal.
local function parseSeatRuns(csv, seatCount)
  local seats, bad, last = {}, {}, nil
  for part in string.gmatch(csv, '[^,]+') do
    local a, b = string.match(part, '^(%d+)%-(%d+)$')
    if not a then
      a = string.match(part, '^(-?%d+)$')
      b = a
    end
    if not a then
      return nil, {'BAD_REQUEST'}
    end
    a, b = tonumber(a), tonumber(b)
    if b < a or b - a >= 250000 or (last ~= nil and a <= last) then
      return nil, {'BAD_REQUEST'}
    end
    last = b
    for seat = a, b do
      if seat < 0 or seat >= seatCount then
        bad[#bad + 1] = seat
      elseif #bad == 0 then
        seats[#seats + 1] = seat
      end
      if #bad > 1000 then
        break
      end
    end
  end
  if #bad > 0 then
    return nil, {'BAD_SEAT', bad}
  end
  return seats
end
