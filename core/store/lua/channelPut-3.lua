--[[
  Admin: creates or replaces sales channel `key` of the event
  (includes/channels, docs/store.md#sales-channels): the listed FREE seats
  turn RESERVED and become the channel's; seats already the channel's stay
  so; held, booked, blocked seats and seats of other channels are left as
  they are and reported. Put again, the channel first gives up its seats not
  listed (reserved ones go back on sale). One change-log entry (op
  `channel`), none when no seat changes.

  Input:
    KEYS[1] meta
    KEYS[2] status
    KEYS[3] log

    ARGV[1] now (ms, '' = Redis clock)
    ARGV[2] channel key ([A-Za-z0-9_.-], 1 to 32)
    ARGV[3] seats: ascending runs "a-b,c,..." (may be empty: a channel with no seats)
    ARGV[4] releaseAt (ms; 0 = none: the channel stands until deleted)

  Output:
    {'OK', seq, {seats of the channel}, {seats skipped}}
    {'NO_EVENT'}
    {'BAD_REQUEST'}           malformed key, runs or releaseAt
    {'BAD_SEAT', {seats}}     indexes outside the event
    {'BAD_REQUEST', {}, 'channels'}  the event has 100 channels already
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
local key = ARGV[2]
local releaseAt = tonumber(ARGV[4])
if not string.match(key, '^[%w_.%-]+$') or #key > 32 or not releaseAt or releaseAt < 0 or releaseAt ~= math.floor(releaseAt) then
  return {'BAD_REQUEST'}
end
local seats, refusal = parseSeatRuns(ARGV[3], meta.seats)
if not seats then
  return refusal
end
local changes = {}
local mine, skipped = putChannel(KEYS[1], KEYS[2], key, seats, releaseAt, changes)
if not mine then
  return {'BAD_REQUEST', {}, 'channels'}
end
local seq = meta.seq
if #changes > 0 then
  seq = appendChange(KEYS[1], KEYS[3], meta, 'channel', changes, now)
end
return {'OK', seq, mine, skipped}
