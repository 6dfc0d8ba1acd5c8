--[[
  Records in the sweep index that an event has a hold due at `dueAt` (used
  after a hold on a Redis Cluster, where the index lives in another slot).

  Input:
    KEYS[1] sweepIndex (sorted set: event id -> due ms, or -(lease end) while claimed)

    ARGV[1] event id
    ARGV[2] due at (ms)

  Output: 1 when the index changed, else 0
]]
--- @include "includes/touchSweepIndex"

return touchSweepIndex(KEYS[1], ARGV[1], tonumber(ARGV[2]))
