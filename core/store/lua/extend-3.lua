--[[
  Extends a hold token: sliding TTL from now, never past the token's maximum
  total lifetime. Changes no seat, so appends no change-log entry.

  Input:
    KEYS[1] meta
    KEYS[2] tokens
    KEYS[3] expiry

    ARGV[1] now (ms, '' = Redis clock)
    ARGV[2] holder
    ARGV[3] token

  Output:
    {'OK', expiresAt, seq}
    {'NO_EVENT'}
    {'EXPIRED'}
    {'NOT_HOLDER'}
]]
--- @include "includes/getNow"
--- @include "includes/readMeta"
--- @include "includes/tokens"

local now = getNow(ARGV[1])
local holder, token = ARGV[2], ARGV[3]

local meta = readMeta(KEYS[1])
if not meta then
  return {'NO_EVENT'}
end
local tok = loadToken(KEYS[2], token)
if not tok or tok.e <= now then
  return {'EXPIRED'}
end
if tok.h ~= holder then
  return {'NOT_HOLDER'}
end
local e = slidingExpiry(tok, now, meta)
if e > tok.e then
  tok.e = e
  saveToken(KEYS[2], KEYS[3], token, tok)
end
return {'OK', tok.e, meta.seq}
