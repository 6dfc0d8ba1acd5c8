--[[
  A subject joins an event's waiting room, or asks where it is: a place
  belongs to the subject, so joining again (another tab, a reconnect, another
  node) keeps it. Before onSaleAt, in the order 'random-then-fifo', a new
  place is the caller's random draw in [0, 1): everyone there at onSaleAt is
  thereby in random order; every other place is 1 + the room's arrival
  counter, behind all of them, in arrival order.

  Input:
    KEYS[1] meta
    KEYS[2] queue
    KEYS[3] waiting
    KEYS[4] admitted

    ARGV[1] now (ms, '' = Redis clock)
    ARGV[2] subject
    ARGV[3] a random draw in [0, 1)

  Output:
    {'OK', 'none'}                        the event has no waiting room: hold freely
    {'OK', 'admitted', until}
    {'OK', 'prequeue', onSaleAt}          waiting for onSaleAt; no place is final yet
    {'OK', 'waiting', ahead, waitingCount, admitPerMinute}
    {'OK', 'closed', reason}              SOLD_OUT (the place is kept for a reopening) or ENDED
    {'NO_EVENT'}
    {'QUEUE_CLOSED'}                      before prequeueFrom: the waiting room is not open yet
]]
--- @include "includes/getNow"
--- @include "includes/readQueue"

if redis.call('EXISTS', KEYS[1]) == 0 then
  return {'NO_EVENT'}
end
local now = getNow(ARGV[1])
local subject = ARGV[2]
local q = readQueue(KEYS[2])
if not q then
  return {'OK', 'none'}
end
if q.closed == 'ENDED' then
  return {'OK', 'closed', 'ENDED'}
end
local admittedUntil = tonumber(redis.call('ZSCORE', KEYS[4], subject) or '0')
if admittedUntil > now then
  return {'OK', 'admitted', admittedUntil}
end
local s = q.settings
if not redis.call('ZSCORE', KEYS[3], subject) then
  if now < s.prequeueFrom then
    return {'QUEUE_CLOSED'}
  end
  local place
  if s.order == 'random-then-fifo' and now < s.onSaleAt then
    place = tonumber(ARGV[3])
  else
    place = 1 + redis.call('HINCRBY', KEYS[2], 'seq', 1)
  end
  redis.call('ZADD', KEYS[3], place, subject)
end
if q.closed ~= '' then
  return {'OK', 'closed', q.closed}
end
if now < s.onSaleAt then
  return {'OK', 'prequeue', s.onSaleAt}
end
return {'OK', 'waiting', redis.call('ZRANK', KEYS[3], subject), redis.call('ZCARD', KEYS[3]), s.admitPerMinute}
