--[[
  Puts a waiting room on an event, or replaces its settings (docs/onsale.md).
  Places, admissions and the admission pace so far are kept, so settings can
  be changed during a sale; a room that was closed for being sold out is
  judged again by the next advance.

  Input:
    KEYS[1] meta
    KEYS[2] queue

    ARGV[1] now (ms, '' = Redis clock)
    ARGV[2] settings (JSON, validated by the caller)

  Output:
    {'OK', created}   created = 1 for a new waiting room
    {'NO_EVENT'}
]]
--- @include "includes/getNow"

if redis.call('EXISTS', KEYS[1]) == 0 then
  return {'NO_EVENT'}
end
local created = redis.call('HSETNX', KEYS[2], 'on', '1')
redis.call('HSET', KEYS[2], 'settings', ARGV[2])
-- admissions accrue from now (or onSaleAt), never for the time before the room existed
redis.call('HSETNX', KEYS[2], 'lastAdvance', getNow(ARGV[1]))
return {'OK', created}
