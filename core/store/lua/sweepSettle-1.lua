--[[
  Ends a claim after the event was swept. When nobody touched the event while
  it was claimed, the entry becomes its next expiry or goes away; when a hold
  touched it meanwhile, the earlier of the two due times wins.

  Input:
    KEYS[1] sweepIndex

    ARGV[1] event id
    ARGV[2] lease end (ms) the claim was made with
    ARGV[3] next expiry (ms), -1 when the event has no tokens left

  Output: 1 when the entry remains, 0 when it was removed
]]
local current = redis.call('ZSCORE', KEYS[1], ARGV[1])
local nextExpiry = tonumber(ARGV[3])
if current and tonumber(current) == -tonumber(ARGV[2]) then
  if nextExpiry < 0 then
    redis.call('ZREM', KEYS[1], ARGV[1])
    return 0
  end
  redis.call('ZADD', KEYS[1], nextExpiry, ARGV[1])
  return 1
end
if nextExpiry >= 0 and (not current or tonumber(current) < 0 or nextExpiry < tonumber(current)) then
  redis.call('ZADD', KEYS[1], nextExpiry, ARGV[1])
end
return current and 1 or 0
