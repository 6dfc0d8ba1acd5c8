--[[
  Reads the status string with the epoch and sequence number it belongs to,
  atomically, so a snapshot is always exactly the state after `seq`.

  Input:
    KEYS[1] meta
    KEYS[2] status

  Output:
    {epoch, seq, status, ga}  ga: [area, free, held, booked, ...] of every general-admission
                              area (includes/gaAreas), empty for an event without areas
    {'NO_EVENT'}
]]
local m = redis.call('HMGET', KEYS[1], 'epoch', 'seq')
if not m[1] then
  return {'NO_EVENT'}
end
local ga = {}
for a = 0, tonumber(redis.call('HGET', KEYS[1], 'gaCount') or '0') - 1 do
  local v = redis.call('HMGET', KEYS[1], 'ga:' .. a .. ':c', 'ga:' .. a .. ':h', 'ga:' .. a .. ':b', 'ga:' .. a .. ':k')
  local c, h, b, k = tonumber(v[1] or '0'), tonumber(v[2] or '0'), tonumber(v[3] or '0'), tonumber(v[4] or '0')
  ga[#ga + 1] = a
  ga[#ga + 1] = c - h - b - k
  ga[#ga + 1] = h
  ga[#ga + 1] = b
end
return {m[1], m[2], redis.call('GET', KEYS[2]), ga}
