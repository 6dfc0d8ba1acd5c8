--[[
  Advances an event's waiting room by one step, on one gateway node at a
  time: the caller takes (or renews) the room's lease, and while another
  node's lease runs the step does nothing. A step is atomic, so a node that
  dies loses nobody's place; the next node takes over once the lease lapses.

  The step: the room closes (ENDED) at endsAt; with closeWhenSoldOut it
  closes (SOLD_OUT) while no seat is free, and opens again when one is (held
  seats that expired or were released). While open and from onSaleAt on,
  admitPerMinute admissions accrue (fractions carried, at most two seconds'
  worth at once, so a late step or a pause with nobody waiting makes no burst) and that many
  subjects are taken from the head of the waiting line, each admitted until
  now + admissionTtlMs. Admissions that ended are dropped.

  Input:
    KEYS[1] meta
    KEYS[2] status
    KEYS[3] queue
    KEYS[4] waiting
    KEYS[5] admitted

    ARGV[1] now (ms, '' = Redis clock)
    ARGV[2] node id
    ARGV[3] lease (ms)

  Output:
    {'OK', 'none'}                                    no waiting room
    {'OK', 'busy'}                                    another node's lease runs
    {'OK', 'ran', admitted, closed, waitingCount, activeCount}   closed: '' or SOLD_OUT or ENDED
    {'NO_EVENT'}
]]
--- @include "includes/getNow"
--- @include "includes/readQueue"

if redis.call('EXISTS', KEYS[1]) == 0 then
  return {'NO_EVENT'}
end
local now = getNow(ARGV[1])
local node, lease = ARGV[2], tonumber(ARGV[3])
local q = readQueue(KEYS[3])
if not q then
  return {'OK', 'none'}
end
if q.leaseNode ~= node and q.leaseUntil > now then
  return {'OK', 'busy'}
end
local s = q.settings
redis.call('ZREMRANGEBYSCORE', KEYS[5], '-inf', now)

local closed = q.closed
if s.endsAt > 0 and now >= s.endsAt then
  closed = 'ENDED'
elseif closed ~= 'ENDED' then
  closed = ''
  if s.closeWhenSoldOut and not string.find(redis.call('GET', KEYS[2]) or '', '\0', 1, true) then
    closed = 'SOLD_OUT'
  end
end

local admitted = 0
local credit, last = q.credit, q.lastAdvance
if now >= s.onSaleAt then
  if last < s.onSaleAt then
    last = s.onSaleAt
  end
  local perMs = s.admitPerMinute / 60000
  credit = math.min(credit + math.max(0, now - last) * perMs, math.max(1, 2000 * perMs))
  if closed == '' then
    local n = math.floor(credit)
    if s.maxActive > 0 then
      n = math.min(n, math.max(0, s.maxActive - redis.call('ZCARD', KEYS[5])))
    end
    if n > 0 then
      local popped = redis.call('ZPOPMIN', KEYS[4], n)
      for i = 1, #popped, 2 do
        redis.call('ZADD', KEYS[5], now + s.admissionTtlMs, popped[i])
      end
      admitted = #popped / 2
    end
  end
  credit = credit - admitted
  last = now
end
redis.call('HSET', KEYS[3], 'closed', closed, 'credit', string.format('%.6f', credit), 'lastAdvance', last,
  'leaseNode', node, 'leaseUntil', now + lease)
if admitted > 0 then
  redis.call('HINCRBY', KEYS[3], 'admittedTotal', admitted)
end
return {'OK', 'ran', admitted, closed, redis.call('ZCARD', KEYS[4]), redis.call('ZCARD', KEYS[5])}
