--[[
  Records in the sweep index that an event has a hold due at `dueAt`: adds
  the event, lowers an existing due time, and replaces a sweeper's claim (a
  negative score) so that the claiming sweeper knows not to drop the event.
  Returns 1 when the index changed, else 0.
]]
local function touchSweepIndex(indexKey, eventId, dueAt)
  local current = redis.call('ZSCORE', indexKey, eventId)
  if current and tonumber(current) >= 0 and tonumber(current) <= dueAt then
    return 0
  end
  redis.call('ZADD', indexKey, dueAt, eventId)
  return 1
end
