--[[
  The outbox: appendOutbox(outboxKey, fields) adds one entry (a booking, a
  hold.expired record) for the booking flusher, which commits it to Postgres,
  and signals it: SPUBLISH on the shard channel named like the outbox key (the
  same hash tag, so the same slot and master as the event), payload `o`. The
  flusher subscribes to the outbox channels, not to the change log's, so a hold
  or a release (no outbox entry) costs it nothing (docs/store.md, Change
  signals).
]]

local function appendOutbox(outboxKey, fields)
  redis.call('XADD', outboxKey, '*', unpack(fields))
  redis.call('SPUBLISH', outboxKey, 'o')
end
