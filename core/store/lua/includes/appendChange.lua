--[[
  The change log: one stream entry per applied operation, id `<seq>-0`, with
  fields op, ch (MessagePack array [seat, state, seat, state, ...], applied in
  order), at (ms) and ep (the event's epoch: a reader can tell the entries of
  a recreated event from the old ones). The sequence number lives in the meta hash.

  Each entry is also signalled: SPUBLISH on the shard channel named like the
  log key (same hash tag, so the same slot and master as the event), with the
  payload `<epoch>:<seq>`. Change feeds subscribe to the events they care
  about and read only the logs that changed (docs/store.md, Change signals);
  the booking flusher listens to the outbox's own signal (includes/appendOutbox). A
  signal nobody listens to costs Redis one dictionary lookup.

  An operation that moved general-admission counters (includes/gaAreas) adds
  the field ga: the final [area, free, held, booked, ...] of every area it
  touched. Readers that do not know the field ignore it.
]]
--- @include "includes/gaAreas"

local function appendChange(metaKey, logKey, meta, op, changes, now)
  local seq = redis.call('HINCRBY', metaKey, 'seq', 1)
  if gaAnyTouched() then
    redis.call('XADD', logKey, 'MAXLEN', '~', meta.logMaxLen, seq .. '-0',
      'op', op, 'ch', cmsgpack.pack(changes), 'at', now, 'ep', meta.epoch, 'ga', cmsgpack.pack(gaFinalCounters(metaKey)))
  else
    redis.call('XADD', logKey, 'MAXLEN', '~', meta.logMaxLen, seq .. '-0',
      'op', op, 'ch', cmsgpack.pack(changes), 'at', now, 'ep', meta.epoch)
  end
  redis.call('SPUBLISH', logKey, meta.epoch .. ':' .. seq)
  return seq
end
