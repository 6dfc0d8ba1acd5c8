--[[
  Creates an event: meta hash, a status string and the layout. The status is
  all free, or given (a rebuild from Postgres: booked and blocked seats), and a
  rebuild also restores the idempotency records of the event's bookings.
  Leftovers of an earlier incarnation (holds, tokens, change log) are removed;
  the outbox and booking records are kept, they are the durable side's input.
  The new epoch is signalled on the event's change channel (`<epoch>:0`, see
  includes/appendChange), so rooms of an earlier incarnation resync at once.

  Input:
    KEYS[1] meta
    KEYS[2] status
    KEYS[3] layout
    KEYS[4] seatHolds
    KEYS[5] tokens
    KEYS[6] expiry
    KEYS[7] holders
    KEYS[8] log
    KEYS[9] bookings
    KEYS[10] geometry

    ARGV[1] seat count
    ARGV[2] epoch
    ARGV[3] holdTtlMs
    ARGV[4] maxHoldLifetimeMs
    ARGV[5] maxSeatsPerToken
    ARGV[6] maxSeatsPerHolder
    ARGV[7] logMaxLen
    ARGV[8] layout JSON
    ARGV[9] now (ms, '' = Redis clock)
    ARGV[10] status bytes, one per seat ('' = all free)
    ARGV[11] booking records: JSON array [key, recordJson, key, recordJson, ...] ('' = none)
    ARGV[12] paymentWindowMs, how long a checkout waits for its payment ('' = the default)
    ARGV[13] geometry bytes (core/store/geometry.ts; '' = none: no best available, no orphan rule)
    ARGV[14] general-admission areas: their capacities, comma-separated, area index order ('' = none)
    ARGV[15] a rebuild: places booked per area, "area:qty,..." ('' = none)
    ARGV[16] a rebuild: places blocked per area, "area:qty,..." ('' or absent = none)
    ARGV[17] a rebuild: sales channels, JSON: an array of [key, releaseAt, seats array] ('' = none); their
             seats FREE in the status turn RESERVED (includes/channels)

  Output:
    {'OK', epoch}
    {'CONFLICT'}     the event already exists
    {'BAD_REQUEST'}  seat count < 1, a status string of another length, or a bad area list
]]
--- @include "includes/getNow"
--- @include "includes/channels"

local seatCount = tonumber(ARGV[1])
if not seatCount or seatCount < 1 or (ARGV[10] ~= '' and #ARGV[10] ~= seatCount) then
  return {'BAD_REQUEST'}
end
if redis.call('EXISTS', KEYS[1]) == 1 then
  return {'CONFLICT'}
end
local capacities = {}
for part in string.gmatch(ARGV[14] or '', '[^,]+') do
  local c = tonumber(part)
  if not c or c < 1 or c ~= math.floor(c) then
    return {'BAD_REQUEST'}
  end
  capacities[#capacities + 1] = c
end
local bookedPlaces = {}
for part in string.gmatch(ARGV[15] or '', '[^,]+') do
  local a, q = string.match(part, '^(%d+):(%d+)$')
  a, q = tonumber(a), tonumber(q)
  if not a or a >= #capacities or (bookedPlaces[a] or 0) + q > capacities[a + 1] then
    return {'BAD_REQUEST'}
  end
  bookedPlaces[a] = (bookedPlaces[a] or 0) + q
end
local blockedPlaces = {}
for part in string.gmatch(ARGV[16] or '', '[^,]+') do
  local a, q = string.match(part, '^(%d+):(%d+)$')
  a, q = tonumber(a), tonumber(q)
  if not a or a >= #capacities or (bookedPlaces[a] or 0) + (blockedPlaces[a] or 0) + q > capacities[a + 1] then
    return {'BAD_REQUEST'}
  end
  blockedPlaces[a] = (blockedPlaces[a] or 0) + q
end

redis.call('DEL', KEYS[2], KEYS[4], KEYS[5], KEYS[6], KEYS[7], KEYS[8])
if ARGV[10] == '' then
  -- SETRANGE pads with zero bytes: every seat starts free.
  redis.call('SETRANGE', KEYS[2], seatCount - 1, string.char(0))
else
  redis.call('SET', KEYS[2], ARGV[10])
end
if ARGV[11] ~= '' then
  local records = cjson.decode(ARGV[11])
  for i = 1, #records, 2 do
    redis.call('HSET', KEYS[9], records[i], records[i + 1])
  end
end
redis.call('SET', KEYS[3], ARGV[8])
if ARGV[13] ~= nil and ARGV[13] ~= '' then
  redis.call('SET', KEYS[10], ARGV[13])
else
  redis.call('DEL', KEYS[10])
end
redis.call('HSET', KEYS[1],
  'seats', seatCount,
  'seq', 0,
  'epoch', ARGV[2],
  'holdTtlMs', ARGV[3],
  'maxHoldLifetimeMs', ARGV[4],
  'maxSeatsPerToken', ARGV[5],
  'maxSeatsPerHolder', ARGV[6],
  'logMaxLen', ARGV[7],
  'createdAt', getNow(ARGV[9]))
if ARGV[12] ~= nil and ARGV[12] ~= '' then
  redis.call('HSET', KEYS[1], 'paymentWindowMs', ARGV[12])
end
-- the counters of general-admission areas (includes/gaAreas): nothing held, booked and blocked as restored
redis.call('HSET', KEYS[1], 'gaCount', #capacities)
for i, c in ipairs(capacities) do
  local a = i - 1
  redis.call('HSET', KEYS[1], 'ga:' .. a .. ':c', c, 'ga:' .. a .. ':h', 0, 'ga:' .. a .. ':b', bookedPlaces[a] or 0, 'ga:' .. a .. ':k', blockedPlaces[a] or 0)
end
if ARGV[17] ~= nil and ARGV[17] ~= '' then
  for _, c in ipairs(cjson.decode(ARGV[17])) do
    local seats = {}
    for _, seat in ipairs(type(c[3]) == 'table' and c[3] or {}) do
      if seat >= 0 and seat < seatCount then
        seats[#seats + 1] = seat
      end
    end
    restoreChannel(KEYS[1], KEYS[2], c[1], c[2], seats)
  end
end
redis.call('SPUBLISH', KEYS[8], ARGV[2] .. ':0')
return {'OK', ARGV[2]}
