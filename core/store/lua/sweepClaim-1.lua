--[[
  Claims up to `limit` events that are due for an expiry sweep: those due by
  now, and those whose previous claim lapsed (a sweeper that died). A claim
  sets the score to -(lease end), so other sweepers skip the event until then.

  Input:
    KEYS[1] sweepIndex

    ARGV[1] now (ms)
    ARGV[2] lease end (ms)
    ARGV[3] limit

  Output: {eventId, ...}
]]
local now = tonumber(ARGV[1])
local due = redis.call('ZRANGEBYSCORE', KEYS[1], -now, now, 'LIMIT', 0, tonumber(ARGV[3]))
for _, eventId in ipairs(due) do
  redis.call('ZADD', KEYS[1], -tonumber(ARGV[2]), eventId)
end
return due
