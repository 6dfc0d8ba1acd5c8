--[[
  Swaps seats of a hold token: releases some of its seats and holds others in
  one step, all or nothing, with one change-log entry. The limits are counted
  on the result, so a swap works for a token at its limit; the accessible
  and orphan rules (includes/selectionRefusal) are checked on the final state.
  Seats to hold must be free (a seat of an overdue hold is not taken over
  here) or the token's own; the token's expiry slides as on a hold.

  Input:
    KEYS[1] meta
    KEYS[2] status
    KEYS[3] seatHolds
    KEYS[4] tokens
    KEYS[5] expiry
    KEYS[6] holders
    KEYS[7] log
    KEYS[8] outbox (unused; the seat operations' key list)
    KEYS[9] geometry
    KEYS[10] rate
    KEYS[11] queue
    KEYS[12] admitted

    ARGV[1] now (ms, '' = Redis clock)
    ARGV[2] holder
    ARGV[3] token
    ARGV[4] seats to release, comma-separated
    ARGV[5] seats to hold, comma-separated
    ARGV[6] '1' when the holder may take wheelchair seats (the accessible claim)
    ARGV[7] '1': exempt from the on-sale gate (the box office)
    ARGV[8] the holder's operations per second on the event ('' or 0 = no bucket)
    ARGV[9] the bucket's burst
    ARGV[10] the holder's sales-channel keys, comma-separated ('' = none; see hold-12)

  Output:
    {'OK', expiresAt, seq}
    {'NO_EVENT'}
    {'BAD_REQUEST'}           both lists empty, or a seat in both
    {'BAD_SEAT', {seats}}     out of range or duplicated
    {'EXPIRED'}
    {'NOT_HOLDER', {seats}}   another holder's token ({}), or seats to release it does not hold
    {'UNAVAILABLE', {seats}}  seats to hold that are held by others, booked or blocked
    {'UNAVAILABLE', {seats}, 'channel'}  seats to hold reserved for a sales channel the holder has no key of
    {'HOLD_LIMIT'}            the result exceeds the token's or the holder's limit
    {'UNAVAILABLE', {seats}, 'accessible'} {'BAD_REQUEST', {seats}, 'companion'} {'ORPHAN_SEAT', {seats}}
    {'NOT_ADMITTED'}          the event has a waiting room and the holder is not admitted (includes/gate)
    {'QUEUE_CLOSED'}          the waiting room is closed (sold out, ended)
    {'RATE_LIMITED', {}, retryMs}  the holder's bucket on the event is empty
]]
--- @include "includes/getNow"
--- @include "includes/seats"
--- @include "includes/readMeta"
--- @include "includes/parseSeats"
--- @include "includes/tokens"
--- @include "includes/appendChange"
--- @include "includes/selectionRefusal"
--- @include "includes/gate"
--- @include "includes/channels"

-- the on-sale gate first (docs/onsale.md): a refusal there changes nothing
local refused = gate({rate = KEYS[10], queue = KEYS[11], admitted = KEYS[12]}, ARGV[2], getNow(ARGV[1]), gateArgs(ARGV, 7))
if refused then
  return refused
end

local keys = {meta = KEYS[1], status = KEYS[2], seatHolds = KEYS[3], tokens = KEYS[4],
  expiry = KEYS[5], holders = KEYS[6], log = KEYS[7]}
local now = getNow(ARGV[1])
local holder, token = ARGV[2], ARGV[3]

local meta = readMeta(keys.meta)
if not meta then
  return {'NO_EVENT'}
end
local release, err, bad = parseSeats(ARGV[4], meta.seats)
if not release then
  return {err, bad}
end
local hold
hold, err, bad = parseSeats(ARGV[5], meta.seats)
if not hold then
  return {err, bad}
end
if #release + #hold == 0 then
  return {'BAD_REQUEST'}
end
local releasing = {}
for _, seat in ipairs(release) do
  releasing[seat] = true
end
for _, seat in ipairs(hold) do
  if releasing[seat] then
    return {'BAD_REQUEST'}
  end
end

local tok, tokRefusal = holderToken(keys.tokens, token, holder, now, {'NOT_HOLDER', {}})
if not tok then
  return tokRefusal
end
local notHeld = notHeldRefusal(keys.seatHolds, token, release)
if notHeld then
  return notHeld
end
local taken, fresh, closed = {}, {}, {}
local chan = channelSet(ARGV[10])
for _, seat in ipairs(hold) do
  local state = getSeatState(keys.status, seat)
  if state == FREE then
    fresh[#fresh + 1] = seat
  elseif state == RESERVED then
    if mayTakeReserved(keys.meta, seat, chan, ARGV[7] == '1') then
      fresh[#fresh + 1] = seat
    else
      closed[#closed + 1] = seat
    end
  elseif not (state == HELD and redis.call('HGET', keys.seatHolds, seat) == token) then
    taken[#taken + 1] = seat
  end
end
if #taken > 0 then
  return {'UNAVAILABLE', taken}
end
if #closed > 0 then
  return {'UNAVAILABLE', closed, 'channel'}
end

local final = {}
for _, seat in ipairs(tok.s) do
  if not releasing[seat] then
    final[#final + 1] = seat
  end
end
for _, seat in ipairs(fresh) do
  final[#final + 1] = seat
end
if #final > meta.maxSeatsPerToken then
  return {'HOLD_LIMIT'}
end
local holderSeats = tonumber(redis.call('HGET', keys.holders, holder) or '0')
if holderSeats - #release + #fresh > meta.maxSeatsPerHolder then
  return {'HOLD_LIMIT'}
end
local refusal = selectionRefusal(keys.status, {geometry = KEYS[9], accessible = ARGV[6] == '1'}, now, fresh, release, final)
if refusal then
  return refusal
end

-- Accepted: from here on everything is applied.
local changes = {}
for _, seat in ipairs(release) do
  redis.call('HDEL', keys.seatHolds, seat)
  freeSeat(keys.meta, keys.status, seat, changes)
end
for _, seat in ipairs(fresh) do
  setSeatState(keys.status, seat, HELD)
  redis.call('HSET', keys.seatHolds, seat, token)
  changes[#changes + 1] = seat
  changes[#changes + 1] = HELD
end
tok.s = final
tok.e = math.max(tok.e, slidingExpiry(tok, now, meta))
saveToken(keys.tokens, keys.expiry, token, tok)
addHolderSeats(keys.holders, holder, #fresh - #release)

local seq = meta.seq
if #changes > 0 then
  seq = appendChange(keys.meta, keys.log, meta, 'swap', changes, now)
end
return {'OK', tok.e, seq}
