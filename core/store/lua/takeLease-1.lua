--[[
  Takes or renews a lease: one holder at a time runs a node's background work
  (the booking flusher, the expiry sweeper, the lifecycle timers). The holder
  that has it renews it; anyone takes it when it is free or has lapsed.

  Input:
    KEYS[1] lease

    ARGV[1] holder (unique per process)
    ARGV[2] time to live (ms)

  Output: 1 when the caller holds the lease now, 0 when another does
]]
local holder = redis.call('GET', KEYS[1])
if holder == ARGV[1] then
  redis.call('PEXPIRE', KEYS[1], tonumber(ARGV[2]))
  return 1
end
if not holder then
  redis.call('SET', KEYS[1], ARGV[1], 'PX', tonumber(ARGV[2]))
  return 1
end
return 0
