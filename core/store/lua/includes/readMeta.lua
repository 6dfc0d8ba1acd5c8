--[[
  Reads the event's meta hash. Returns nil when the event does not exist.
]]
local function readMeta(metaKey)
  local m = redis.call('HMGET', metaKey, 'seats', 'seq', 'epoch', 'holdTtlMs', 'maxHoldLifetimeMs',
    'maxSeatsPerToken', 'maxSeatsPerHolder', 'logMaxLen')
  if not m[1] then
    return nil
  end
  return {
    seats = tonumber(m[1]),
    seq = tonumber(m[2]),
    epoch = tonumber(m[3]),
    holdTtlMs = tonumber(m[4]),
    maxHoldLifetimeMs = tonumber(m[5]),
    maxSeatsPerToken = tonumber(m[6]),
    maxSeatsPerHolder = tonumber(m[7]),
    logMaxLen = tonumber(m[8]),
  }
end
