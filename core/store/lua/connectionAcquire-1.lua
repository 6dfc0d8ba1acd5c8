--[[
  Takes one of a JWT subject's connection slots, shared by every gateway
  node (docs/onsale.md). Each slot is a member `<node>:<connection>` scored
  by its lease end; a node renews its members (connectionRenew-1), so the
  slots of a node that died lapse with their lease and are dropped here
  before counting. The key itself expires with its last lease.

  Input:
    KEYS[1] subjectConnections

    ARGV[1] now (ms, '' = Redis clock)
    ARGV[2] lease (ms)
    ARGV[3] most slots of the subject
    ARGV[4] member

  Output:
    {'OK', 1, open}   taken (or already this member's); open counts it
    {'OK', 0, open}   all taken: the connection must be refused
]]
--- @include "includes/getNow"

local now = getNow(ARGV[1])
local lease, most, member = tonumber(ARGV[2]), tonumber(ARGV[3]), ARGV[4]
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', now)
local open = redis.call('ZCARD', KEYS[1])
if not redis.call('ZSCORE', KEYS[1], member) then
  if open >= most then
    return {'OK', 0, open}
  end
  open = open + 1
end
redis.call('ZADD', KEYS[1], now + lease, member)
redis.call('PEXPIRE', KEYS[1], lease)
return {'OK', 1, open}
