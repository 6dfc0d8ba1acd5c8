--[[
  Gives an event a new epoch in place, its seats and holds kept: after Redis
  may have gone back (a failover to a replica that missed the last writes),
  every client and room holding the old epoch re-snapshots instead of
  applying diffs whose seq numbers the lost writes had already used. Only
  ever moves the epoch forward.
  The state is the one the old epoch built, so the bookings made in it (in the
  outbox, not committed yet) stand: `baseEpoch` keeps the epoch the event was
  created or rebuilt at, the one the flusher records in Postgres, whose epoch
  guard refuses only bookings made before a rebuild (docs/bookings.md).

  Input:
    KEYS[1] meta

    ARGV[1] the new epoch

  Output: {'OK', epoch} (the event's epoch afterwards) · {'NO_EVENT'}
]]
local current = redis.call('HGET', KEYS[1], 'epoch')
if not current then return {'NO_EVENT'} end
local epoch = tonumber(ARGV[1])
if epoch <= tonumber(current) then return {'OK', current} end
if not redis.call('HGET', KEYS[1], 'baseEpoch') then
  redis.call('HSET', KEYS[1], 'baseEpoch', current)
end
redis.call('HSET', KEYS[1], 'epoch', ARGV[1])
return {'OK', ARGV[1]}
