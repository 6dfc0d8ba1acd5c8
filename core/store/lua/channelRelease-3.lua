--[[
  Releases sales channel `key` (its releaseAt came, or an admin deleted it):
  its RESERVED seats go on sale (FREE) in one change-log entry (op
  `channel`), and the channel is gone, so its seats held or booked by members
  stay so and, freed later, turn FREE. Idempotent: a channel already gone,
  or one whose releaseAt is no longer the one given (put again meanwhile),
  is left alone.

  Input:
    KEYS[1] meta
    KEYS[2] status
    KEYS[3] log

    ARGV[1] now (ms, '' = Redis clock)
    ARGV[2] channel key
    ARGV[3] the releaseAt that is due ('' = release whatever it is: a delete)

  Output:
    {'OK', seq, released}    released = the seats put on sale
    {'NO_EVENT'}
    {'NOT_FOUND'}            no such channel (or another releaseAt)
]]
--- @include "includes/getNow"
--- @include "includes/readMeta"
--- @include "includes/appendChange"
--- @include "includes/channels"

local now = getNow(ARGV[1])
local meta = readMeta(KEYS[1])
if not meta then
  return {'NO_EVENT'}
end
local c = channelRecord(KEYS[1], ARGV[2])
if not c or (ARGV[3] ~= '' and tonumber(ARGV[3]) ~= c.r) then
  return {'NOT_FOUND'}
end
local changes = {}
local released = dropChannel(KEYS[1], KEYS[2], ARGV[2], changes)
local seq = meta.seq
if #changes > 0 then
  seq = appendChange(KEYS[1], KEYS[3], meta, 'channel', changes, now)
end
return {'OK', seq, released}
