--[[
  Gives a lease back (a process stopping), so that another takes it at its
  next try instead of after the time to live. Only its holder can.

  Input:
    KEYS[1] lease

    ARGV[1] holder

  Output: 1 when the lease was the caller's and is free now, 0 otherwise
]]
if redis.call('GET', KEYS[1]) == ARGV[1] then
  redis.call('DEL', KEYS[1])
  return 1
end
return 0
