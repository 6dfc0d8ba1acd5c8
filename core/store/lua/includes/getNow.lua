--[[
  Current time in milliseconds: the caller's value when given (tests drive a
  virtual clock), otherwise the Redis server clock, so that every gateway node
  shares one clock.
]]
local function getNow(arg)
  if arg ~= nil and arg ~= '' then
    return tonumber(arg)
  end
  local t = redis.call('TIME')
  return tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
end
