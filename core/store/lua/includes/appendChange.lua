--[[
  The change log: one stream entry per applied operation, id `<seq>-0`, with
  fields op, ch (MessagePack array [seat, state, seat, state, ...], applied in
  order), at (ms) and ep (the event's epoch: a reader can tell the entries of
  a recreated event from the old ones). The sequence number lives in the meta hash.
]]
local function appendChange(metaKey, logKey, meta, op, changes, now)
  local seq = redis.call('HINCRBY', metaKey, 'seq', 1)
  redis.call('XADD', logKey, 'MAXLEN', '~', meta.logMaxLen, seq .. '-0',
    'op', op, 'ch', cmsgpack.pack(changes), 'at', now, 'ep', meta.epoch)
  return seq
end
