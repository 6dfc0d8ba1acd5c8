--[[
  Releases seats of a hold token, all or nothing. Only the token's own seats
  can be released; an empty list releases all of them. The token itself stays
  (empty) until it expires, so the same shopping session can hold again.
  Releasing some of a token's seats obeys the orphan rule and keeps no
  companion seat without its wheelchair seat (includes/selectionRefusal);
  releasing all of them is exempt.

  Input:
    KEYS[1] meta
    KEYS[2] status
    KEYS[3] seatHolds
    KEYS[4] tokens
    KEYS[5] expiry
    KEYS[6] holders
    KEYS[7] log
    KEYS[8] geometry
    KEYS[9] rate

    ARGV[1] now (ms, '' = Redis clock)
    ARGV[2] holder
    ARGV[3] token
    ARGV[4] seats, comma-separated indexes ('' = every seat of the token, unless ARGV[8] names places)
    ARGV[5] '1': exempt from the on-sale gate (the box office)
    ARGV[6] the holder's operations per second on the event ('' or 0 = no bucket)
    ARGV[7] the bucket's burst
    ARGV[8] general-admission places to give back, "area:qty,..." ('' or absent: none, or all
            of them when ARGV[4] is '' too)

  Output:
    {'OK', seq, releasedCount}  seats plus places given back
    {'NO_EVENT'}
    {'BAD_REQUEST'}
    {'BAD_SEAT', {seats}}
    {'EXPIRED'}
    {'NOT_HOLDER', {seats}}   the token belongs to another holder ({}), or these seats are not held by it
    {'NOT_HOLDER', {}, 'ga', {areas}}  more places of these areas than the token holds
    {'BAD_REQUEST', {}, 'ga'} a malformed place list (as hold-9)
    {'ORPHAN_SEAT', {seats}}  the seats a partial release would strand
    {'BAD_REQUEST', {seats}, 'companion'}  companion seats it would leave without their wheelchair seat
    {'RATE_LIMITED', {}, retryMs}  the holder's bucket on the event is empty
]]
--- @include "includes/getNow"
--- @include "includes/seats"
--- @include "includes/loadEventSeats"
--- @include "includes/tokens"
--- @include "includes/appendChange"
--- @include "includes/selectionRefusal"
--- @include "includes/gaAreas"
--- @include "includes/channels"
--- @include "includes/getNow"
--- @include "includes/gate"

-- the holder's bucket first (docs/onsale.md): a refusal there changes nothing
local limited = gateBucket(KEYS[9], ARGV[2], getNow(ARGV[1]), gateArgs(ARGV, 5))
if limited then
  return limited
end

local keys = {meta = KEYS[1], status = KEYS[2], seatHolds = KEYS[3], tokens = KEYS[4],
  expiry = KEYS[5], holders = KEYS[6], log = KEYS[7]}
local now = getNow(ARGV[1])
local holder, token = ARGV[2], ARGV[3]

local meta, seats = loadEventSeats(keys.meta, ARGV[4], true)
if not meta then
  return seats
end
local tok, tokRefusal = holderToken(keys.tokens, token, holder, now, {'NOT_HOLDER', {}})
if not tok then
  return tokRefusal
end
-- General-admission places to give back: ARGV[8] "area:qty,..."; with neither seats
-- nor places named, the token gives back everything.
local gaGive = {}
if ARGV[8] ~= nil and ARGV[8] ~= '' then
  local refusal
  gaGive, refusal = parseGa(keys.meta, ARGV[8])
  if not gaGive then
    return refusal
  end
  local over = {}
  for _, w in ipairs(gaGive) do
    if w[2] > gaTokenQty(tok, w[1]) then
      over[#over + 1] = w[1]
    end
  end
  if #over > 0 then
    return {'NOT_HOLDER', {}, 'ga', over}
  end
elseif ARGV[4] == '' then
  seats = tok.s
  for key, q in pairs(tok.g or {}) do
    gaGive[#gaGive + 1] = {tonumber(key), q}
  end
end

local notHeld = notHeldRefusal(keys.seatHolds, token, seats)
if notHeld then
  return notHeld
end
if #seats == 0 and #gaGive == 0 then
  return {'OK', meta.seq, 0}
end

if #seats > 0 and #seats < #tok.s then
  local releasingSet, kept = {}, {}
  for _, seat in ipairs(seats) do
    releasingSet[seat] = true
  end
  for _, seat in ipairs(tok.s) do
    if not releasingSet[seat] then
      kept[#kept + 1] = seat
    end
  end
  local refusal = selectionRefusal(keys.status, {geometry = KEYS[8], accessible = true}, now, {}, seats, kept)
  if refusal then
    return refusal
  end
end

local releasing, changes = {}, {}
for _, seat in ipairs(seats) do
  releasing[seat] = true
  redis.call('HDEL', keys.seatHolds, seat)
  freeSeat(keys.meta, keys.status, seat, changes)
end
local kept = {}
for _, seat in ipairs(tok.s) do
  if not releasing[seat] then
    kept[#kept + 1] = seat
  end
end
tok.s = kept
local gaGiven = 0
for _, w in ipairs(gaGive) do
  gaMove(keys.meta, w[1], 'h', -w[2])
  gaTokenAdd(tok, w[1], -w[2])
  gaGiven = gaGiven + w[2]
end
saveToken(keys.tokens, keys.expiry, token, tok)
addHolderSeats(keys.holders, holder, -(#seats + gaGiven))

local seq = appendChange(keys.meta, keys.log, meta, 'release', changes, now)
return {'OK', seq, #seats + gaGiven}
