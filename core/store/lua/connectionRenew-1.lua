--[[
  Renews a node's connection slots of one subject (see connectionAcquire-1):
  members still present get a new lease end; a member that lapsed meanwhile
  is not brought back (its connection keeps running, uncounted, until it
  closes: the limit errs towards letting a connection live).

  Input:
    KEYS[1] subjectConnections

    ARGV[1] now (ms, '' = Redis clock)
    ARGV[2] lease (ms)
    ARGV[3] members, comma-separated

  Output: {'OK', renewed}
]]
--- @include "includes/getNow"

local now = getNow(ARGV[1])
local lease = tonumber(ARGV[2])
local renewed = 0
for member in string.gmatch(ARGV[3], '[^,]+') do
  renewed = renewed + redis.call('ZADD', KEYS[1], 'XX', 'CH', now + lease, member)
end
if renewed > 0 then
  redis.call('PEXPIRE', KEYS[1], lease)
end
return {'OK', renewed}
