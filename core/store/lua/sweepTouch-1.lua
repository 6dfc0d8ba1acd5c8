--[[
  Records in the expiry index that an event has a hold due at `dueAt`. Lowers
  an existing due time, and replaces a sweeper's claim (a negative score) so
  the claiming sweeper knows it must not drop the event.

  Input:
    KEYS[1] sweepIndex (sorted set: event id -> due ms, or -(lease end) while claimed)

    ARGV[1] event id
    ARGV[2] due at (ms)

  Output: 1 when the index changed, else 0
]]
local current = redis.call('ZSCORE', KEYS[1], ARGV[1])
local dueAt = tonumber(ARGV[2])
if current and tonumber(current) >= 0 and tonumber(current) <= dueAt then
  return 0
end
redis.call('ZADD', KEYS[1], dueAt, ARGV[1])
return 1
