--[[
  Holds a list of seats for a hold token, all or nothing.

  A new token (ARGV[4] = '1') is created bound to the holder; an existing token
  must belong to the holder and be live. Seats already held by the token are
  accepted again without change. Seats held by tokens whose time has passed but
  that the sweeper has not reached yet count as free: on success those tokens
  are expired in the same change-log entry; on rejection nothing changes.
  Adding seats slides the token's expiry (never past its maximum lifetime).

  Input:
    KEYS[1] meta
    KEYS[2] status
    KEYS[3] seatHolds
    KEYS[4] tokens
    KEYS[5] expiry
    KEYS[6] holders
    KEYS[7] log

    ARGV[1] now (ms, '' = Redis clock)
    ARGV[2] holder
    ARGV[3] token
    ARGV[4] '1' to create the token, '0' to use an existing one
    ARGV[5] seats, comma-separated indexes

  Output:
    {'OK', token, expiresAt, seq}
    {'NO_EVENT'}
    {'BAD_REQUEST'}           malformed or empty seat list
    {'BAD_SEAT', {seats}}     out of range or duplicated
    {'EXPIRED'}               token unknown or expired
    {'NOT_HOLDER'}            token bound to another holder
    {'CONFLICT'}              a token to create already exists
    {'UNAVAILABLE', {seats}}  seats held by others, booked or blocked
    {'HOLD_LIMIT'}            too many seats for the token or the holder
]]
--- @include "includes/now"
--- @include "includes/meta"
--- @include "includes/seats"
--- @include "includes/tokens"
--- @include "includes/changeLog"

-- How many overdue tokens one hold may expire on its way.
local LAZY_EXPIRY_LIMIT = 100

local keys = {meta = KEYS[1], status = KEYS[2], seatHolds = KEYS[3], tokens = KEYS[4],
  expiry = KEYS[5], holders = KEYS[6], log = KEYS[7]}
local now = getNow(ARGV[1])
local holder, token, create = ARGV[2], ARGV[3], ARGV[4] == '1'

local meta = readMeta(keys.meta)
if not meta then
  return {'NO_EVENT'}
end
local seats, err, bad = parseSeats(ARGV[5], meta.seats)
if not seats then
  return {err, bad}
end
if #seats == 0 then
  return {'BAD_REQUEST'}
end

local tok
if create then
  if redis.call('HEXISTS', keys.tokens, token) == 1 then
    return {'CONFLICT'}
  end
  tok = {h = holder, s = {}, c = now, e = 0}
else
  tok = loadToken(keys.tokens, token)
  if not tok or tok.e <= now then
    return {'EXPIRED'}
  end
  if tok.h ~= holder then
    return {'NOT_HOLDER'}
  end
end

-- Overdue tokens, loaded lazily when one of them blocks a wanted seat or belongs to the holder.
local overdue = {}
for _, t in ipairs(redis.call('ZRANGEBYSCORE', keys.expiry, '-inf', now, 'LIMIT', 0, LAZY_EXPIRY_LIMIT)) do
  overdue[t] = false
end
local function overdueToken(t)
  if overdue[t] == false then
    overdue[t] = loadToken(keys.tokens, t)
  end
  return overdue[t]
end

local taken, fresh = {}, {}
for _, seat in ipairs(seats) do
  local state = getSeatState(keys.status, seat)
  if state == FREE then
    fresh[#fresh + 1] = seat
  elseif state == HELD then
    local owner = redis.call('HGET', keys.seatHolds, seat)
    if owner == token and not create then
      -- already ours: accepted, nothing to change
    elseif owner and overdueToken(owner) then
      fresh[#fresh + 1] = seat
    else
      taken[#taken + 1] = seat
    end
  else
    taken[#taken + 1] = seat
  end
end
if #taken > 0 then
  return {'UNAVAILABLE', taken}
end

if #tok.s + #fresh > meta.maxSeatsPerToken then
  return {'HOLD_LIMIT'}
end
local holderSeats = tonumber(redis.call('HGET', keys.holders, holder) or '0')
for t in pairs(overdue) do
  local o = overdueToken(t)
  if o and o.h == holder then
    holderSeats = holderSeats - #o.s
  end
end
if holderSeats + #fresh > meta.maxSeatsPerHolder then
  return {'HOLD_LIMIT'}
end

-- Accepted: from here on everything is applied.
local changes = {}
for t in pairs(overdue) do
  local o = overdueToken(t)
  if o then
    freeToken(keys, t, o, changes)
  end
end
for _, seat in ipairs(fresh) do
  setSeatState(keys.status, seat, HELD)
  redis.call('HSET', keys.seatHolds, seat, token)
  tok.s[#tok.s + 1] = seat
  changes[#changes + 1] = seat
  changes[#changes + 1] = HELD
end
tok.e = slidingExpiry(tok, now, meta)
saveToken(keys.tokens, keys.expiry, token, tok)
addHolderSeats(keys.holders, holder, #fresh)

local seq = meta.seq
if #changes > 0 then
  seq = appendChange(keys.meta, keys.log, meta, 'hold', changes, now)
end
return {'OK', token, tok.e, seq}
