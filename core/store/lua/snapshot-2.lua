--[[
  Reads the status string with the epoch and sequence number it belongs to,
  atomically, so a snapshot is always exactly the state after `seq`.

  Input:
    KEYS[1] meta
    KEYS[2] status

  Output:
    {epoch, seq, status}
    {'NO_EVENT'}
]]
local m = redis.call('HMGET', KEYS[1], 'epoch', 'seq')
if not m[1] then
  return {'NO_EVENT'}
end
return {m[1], m[2], redis.call('GET', KEYS[2])}
