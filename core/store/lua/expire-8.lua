--[[
  Expires hold tokens whose time has passed, in one bounded batch: their seats
  become free in one change-log entry, and each expired hold is reported to
  the outbox as a `hold.expired` record (includes/freeToken), which the
  booking flusher commits to the event log in Postgres. Safe to run from
  several processes at once: a token is expired by whichever call gets to it
  first.

  Input:
    KEYS[1] meta
    KEYS[2] status
    KEYS[3] seatHolds
    KEYS[4] tokens
    KEYS[5] expiry
    KEYS[6] holders
    KEYS[7] log
    KEYS[8] outbox

    ARGV[1] now (ms, '' = Redis clock)
    ARGV[2] batch limit (tokens)

  Output:
    {'OK', tokensExpired, seatsFreed, nextExpiry, seq, {token, holder, ...}}   nextExpiry = -1 when no token is left;
        the last element names every token expired and its holder (tokend pushes, docs/onsale.md)
    {'NO_EVENT'}
]]
--- @include "includes/getNow"
--- @include "includes/readMeta"
--- @include "includes/tokens"
--- @include "includes/freeToken"
--- @include "includes/appendChange"

local keys = {meta = KEYS[1], status = KEYS[2], seatHolds = KEYS[3], tokens = KEYS[4],
  expiry = KEYS[5], holders = KEYS[6], log = KEYS[7], outbox = KEYS[8]}
local now = getNow(ARGV[1])
local limit = tonumber(ARGV[2])

local meta = readMeta(keys.meta)
if not meta then
  return {'NO_EVENT'}
end

local due = redis.call('ZRANGEBYSCORE', keys.expiry, '-inf', now, 'LIMIT', 0, limit)
local changes, expired = {}, {}
for _, token in ipairs(due) do
  local tok = loadToken(keys.tokens, token)
  if tok then
    freeToken(keys, token, tok, changes)
    expired[#expired + 1] = token
    expired[#expired + 1] = tok.h
  else
    redis.call('ZREM', keys.expiry, token)
  end
end

local seq = meta.seq
if #changes > 0 or gaAnyTouched() then
  seq = appendChange(keys.meta, keys.log, meta, 'expire', changes, now)
end
local nextExpiry = -1
local first = redis.call('ZRANGE', keys.expiry, 0, 0, 'WITHSCORES')
if first[2] then
  nextExpiry = tonumber(first[2])
end
return {'OK', #due, #changes / 2, nextExpiry, seq, expired}
