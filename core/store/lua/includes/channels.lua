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

-- Batches of fields per HMGET, HSET and HDEL: a channel of a whole section is a few calls, not one per seat.
local CHANNEL_BATCH = 500

-- The channel key of each of `seats` (false for none), read with HMGET in batches.
local function channelOwners(metaKey, seats)
  local owners = {}
  for i = 1, #seats, CHANNEL_BATCH do
    local fields = {}
    for j = i, math.min(i + CHANNEL_BATCH - 1, #seats) do
      fields[#fields + 1] = 'cs:' .. seats[j]
    end
    local got = redis.call('HMGET', metaKey, unpack(fields))
    for j = 1, #fields do
      owners[i + j - 1] = got[j]
    end
  end
  return owners
end

-- Maps `seats` to `key` (HSET in batches), or unmaps them (key nil: HDEL in batches).
local function mapSeats(metaKey, seats, key)
  for i = 1, #seats, CHANNEL_BATCH do
    local args = {}
    for j = i, math.min(i + CHANNEL_BATCH - 1, #seats) do
      args[#args + 1] = 'cs:' .. seats[j]
      if key then
        args[#args + 1] = key
      end
    end
    if key then
      redis.call('HSET', metaKey, unpack(args))
    else
      redis.call('HDEL', metaKey, unpack(args))
    end
  end
end

-- Writes `state` at `seats` (ascending), one SETRANGE per run of adjacent seats, and appends (seat, state) to changes.
local function writeSeats(statusKey, seats, state, changes)
  local byte = string.char(state)
  local i = 1
  while i <= #seats do
    local j = i
    while j < #seats and seats[j + 1] == seats[j] + 1 do
      j = j + 1
    end
    redis.call('SETRANGE', statusKey, seats[i], string.rep(byte, j - i + 1))
    for k = i, j do
      changes[#changes + 1] = seats[k]
      changes[#changes + 1] = state
    end
    i = j + 1
  end
end

-- Of `seats` mapped to `key`, unmaps them all and turns the RESERVED ones FREE; returns how many turned FREE.
local function giveUpSeats(metaKey, statusKey, key, seats, changes)
  local owners = channelOwners(metaKey, seats)
  local status = redis.call('GET', statusKey)
  local unmap, open = {}, {}
  for i, seat in ipairs(seats) do
    if owners[i] == key then
      unmap[#unmap + 1] = seat
      if string.byte(status, seat + 1) == RESERVED then
        open[#open + 1] = seat
      end
    end
  end
  mapSeats(metaKey, unmap, nil)
  table.sort(open)
  writeSeats(statusKey, open, 0, changes)
  return #open
end

-- Removes a channel: its RESERVED seats turn FREE (appended to changes), its map entries go.
local function dropChannel(metaKey, statusKey, key, changes)
  local c = channelRecord(metaKey, key)
  if not c then
    return 0
  end
  local freed = giveUpSeats(metaKey, statusKey, key, c.s, changes)
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
  CHANNELS_MAX channels. The status string is read once; the map is read and
  written in batches, the status a run of adjacent seats at a time.
]]
local function putChannel(metaKey, statusKey, key, seats, releaseAt, changes)
  local old = channelRecord(metaKey, key)
  if old then
    local wanted = {}
    for _, seat in ipairs(seats) do
      wanted[seat] = true
    end
    local dropped = {}
    for _, seat in ipairs(old.s) do
      if not wanted[seat] then
        dropped[#dropped + 1] = seat
      end
    end
    giveUpSeats(metaKey, statusKey, key, dropped, changes)
  else
    local keys = channelKeys(metaKey)
    if #keys >= CHANNELS_MAX then
      return nil
    end
    keys[#keys + 1] = key
    redis.call('HSET', metaKey, 'chl', table.concat(keys, ','))
  end
  local owners = channelOwners(metaKey, seats)
  local status = redis.call('GET', statusKey)
  local mine, skipped, fresh = {}, {}, {}
  for i, seat in ipairs(seats) do
    local owner = owners[i]
    if owner == key then
      mine[#mine + 1] = seat
    elseif owner then
      skipped[#skipped + 1] = seat
    elseif string.byte(status, seat + 1) == 0 then
      fresh[#fresh + 1] = seat
      mine[#mine + 1] = seat
    else
      skipped[#skipped + 1] = seat
    end
  end
  table.sort(fresh)
  mapSeats(metaKey, fresh, key)
  writeSeats(statusKey, fresh, RESERVED, changes)
  table.sort(mine)
  saveChannel(metaKey, key, releaseAt, mine)
  return mine, skipped
end

-- A rebuild (createEvent): the channel as Postgres recorded it; its seats that are FREE in the new status turn RESERVED.
local function restoreChannel(metaKey, statusKey, key, releaseAt, seats)
  local keys = channelKeys(metaKey)
  keys[#keys + 1] = key
  redis.call('HSET', metaKey, 'chl', table.concat(keys, ','))
  table.sort(seats)
  mapSeats(metaKey, seats, key)
  local status = redis.call('GET', statusKey)
  local free = {}
  for _, seat in ipairs(seats) do
    if string.byte(status, seat + 1) == 0 then
      free[#free + 1] = seat
    end
  end
  -- a new event: no change-log entry, its status is the snapshot
  writeSeats(statusKey, free, RESERVED, {})
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
