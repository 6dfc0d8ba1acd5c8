--[[
  Reads an event's waiting room (the `queue` hash, docs/onsale.md). Returns
  nil when the event has none, else {settings (decoded), closed ('' or
  SOLD_OUT or ENDED), seq, credit, lastAdvance, leaseNode, leaseUntil}.
  Settings: onSaleAt, prequeueFrom, admitPerMinute, maxActive (0 = none),
  admissionTtlMs, order ('random-then-fifo' or 'fifo'), closeWhenSoldOut,
  endsAt (0 = none).
]]
local function readQueue(queueKey)
  local q = redis.call('HMGET', queueKey, 'on', 'settings', 'closed', 'seq', 'credit', 'lastAdvance', 'leaseNode', 'leaseUntil')
  if not q[1] then
    return nil
  end
  return {
    settings = cjson.decode(q[2]),
    closed = q[3] or '',
    seq = tonumber(q[4] or '0'),
    credit = tonumber(q[5] or '0'),
    lastAdvance = tonumber(q[6] or '0'),
    leaseNode = q[7] or '',
    leaseUntil = tonumber(q[8] or '0'),
  }
end
