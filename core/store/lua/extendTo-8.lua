--[[
  Sets a hold token's expiry to now + ms, never past its maximum total
  lifetime (sooner than before as well as later); ms = 0 releases every seat
  of the token (exempt from the orphan rule, as any release of all of them)
  and every general-admission place, and deletes it. extend-4 is the sliding extension without ms. The store
  lowers the event's sweep index to the new expiry afterwards (sweepTouch-1).

  Input:
    KEYS[1] meta
    KEYS[2] status
    KEYS[3] seatHolds
    KEYS[4] tokens
    KEYS[5] expiry
    KEYS[6] holders
    KEYS[7] log
    KEYS[8] rate

    ARGV[1] now (ms, '' = Redis clock)
    ARGV[2] holder
    ARGV[3] token
    ARGV[4] ms, a non-negative integer
    ARGV[5] '1': exempt from the on-sale gate (the box office)
    ARGV[6] the holder's operations per second on the event ('' or 0 = no bucket)
    ARGV[7] the bucket's burst

  Output:
    {'OK', expiresAt, seq, released}   released: seats and places freed (ms = 0); expiresAt = now then
    {'NO_EVENT'}
    {'BAD_REQUEST'}   ms is not a non-negative integer
    {'EXPIRED'}
    {'NOT_HOLDER'}
    {'RATE_LIMITED', {}, retryMs}  the holder's bucket on the event is empty
]]
--- @include "includes/getNow"
--- @include "includes/seats"
--- @include "includes/readMeta"
--- @include "includes/tokens"
--- @include "includes/appendChange"
--- @include "includes/gate"
--- @include "includes/channels"

-- the holder's bucket first (docs/onsale.md): a refusal there changes nothing
local limited = gateBucket(KEYS[8], ARGV[2], getNow(ARGV[1]), gateArgs(ARGV, 5))
if limited then
  return limited
end

local keys = {meta = KEYS[1], status = KEYS[2], seatHolds = KEYS[3], tokens = KEYS[4],
  expiry = KEYS[5], holders = KEYS[6], log = KEYS[7]}
local now = getNow(ARGV[1])
local holder, token = ARGV[2], ARGV[3]

local meta = readMeta(keys.meta)
if not meta then
  return {'NO_EVENT'}
end
local ms = tonumber(ARGV[4])
if not ms or ms < 0 or ms ~= math.floor(ms) then
  return {'BAD_REQUEST'}
end
local tok, tokRefusal = holderToken(keys.tokens, token, holder, now)
if not tok then
  return tokRefusal
end

if ms > 0 then
  tok.e = math.min(now + ms, tok.c + meta.maxHoldLifetimeMs)
  saveToken(keys.tokens, keys.expiry, token, tok)
  return {'OK', tok.e, meta.seq, 0}
end

local changes = {}
for _, seat in ipairs(tok.s) do
  redis.call('HDEL', keys.seatHolds, seat)
  freeSeat(keys.meta, keys.status, seat, changes)
end
-- seats and places, as release counts them
local released = #tok.s + gaTokenTotal(tok)
deleteToken(keys.tokens, keys.expiry, token)
addHolderSeats(keys.holders, holder, -released)
gaFreeToken(keys.meta, tok)
local seq = meta.seq
if #changes > 0 or gaAnyTouched() then
  seq = appendChange(keys.meta, keys.log, meta, 'release', changes, now)
end
return {'OK', now, seq, released}
