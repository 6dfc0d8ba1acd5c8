--[[
  Extends a hold token: sliding TTL from now, never past the token's maximum
  total lifetime. Changes no seat, so appends no change-log entry.

  Input:
    KEYS[1] meta
    KEYS[2] tokens
    KEYS[3] expiry
    KEYS[4] rate

    ARGV[1] now (ms, '' = Redis clock)
    ARGV[2] holder
    ARGV[3] token
    ARGV[4] '1': exempt from the on-sale gate (the box office)
    ARGV[5] the holder's operations per second on the event ('' or 0 = no bucket)
    ARGV[6] the bucket's burst

  Output:
    {'OK', expiresAt, seq}
    {'NO_EVENT'}
    {'EXPIRED'}
    {'NOT_HOLDER'}
    {'RATE_LIMITED', {}, retryMs}  the holder's bucket on the event is empty
]]
--- @include "includes/getNow"
--- @include "includes/readMeta"
--- @include "includes/tokens"
--- @include "includes/getNow"
--- @include "includes/gate"

-- the holder's bucket first (docs/onsale.md): a refusal there changes nothing
local limited = gateBucket(KEYS[4], ARGV[2], getNow(ARGV[1]), gateArgs(ARGV, 4))
if limited then
  return limited
end

local now = getNow(ARGV[1])
local holder, token = ARGV[2], ARGV[3]

local meta = readMeta(KEYS[1])
if not meta then
  return {'NO_EVENT'}
end
local tok, tokRefusal = holderToken(KEYS[2], token, holder, now)
if not tok then
  return tokRefusal
end
local e = slidingExpiry(tok, now, meta)
if e > tok.e then
  tok.e = e
  saveToken(KEYS[2], KEYS[3], token, tok)
end
return {'OK', tok.e, meta.seq}
