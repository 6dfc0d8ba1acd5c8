--[[
  hold-11, and on success records the new expiry in the sweep index in the
  same atomic step. Used on a single Redis, where the index and the event's
  keys are on one server; on a Cluster the index is in another slot, so the
  store runs hold-11 and then sweepTouch-1.

  Input:
    KEYS[1] meta
    KEYS[2] status
    KEYS[3] seatHolds
    KEYS[4] tokens
    KEYS[5] expiry
    KEYS[6] holders
    KEYS[7] log
    KEYS[8] outbox
    KEYS[9] sweepIndex
    KEYS[10] rate
    KEYS[11] queue
    KEYS[12] admitted

    ARGV[1] now (ms, '' = Redis clock)
    ARGV[2] holder
    ARGV[3] token
    ARGV[4] '1' to create the token, '0' to use an existing one
    ARGV[5] seats, comma-separated indexes
    ARGV[6] event id
    ARGV[7] '1': exempt from the gate (box office)
    ARGV[8] the holder's operations per second on the event ('' = no bucket)
    ARGV[9] the bucket's burst

  Output: as hold-11
]]
--- @include "includes/holdSeats"
--- @include "includes/touchSweepIndex"
--- @include "includes/gate"

local keys = {meta = KEYS[1], status = KEYS[2], seatHolds = KEYS[3], tokens = KEYS[4],
  expiry = KEYS[5], holders = KEYS[6], log = KEYS[7], outbox = KEYS[8],
  rate = KEYS[10], queue = KEYS[11], admitted = KEYS[12]}
local refused = gate(keys, ARGV[2], getNow(ARGV[1]), gateArgs(ARGV, 7))
if refused then
  return refused
end
local result = holdSeats(keys, ARGV)
if result[1] == 'OK' then
  touchSweepIndex(KEYS[9], ARGV[6], result[3])
end
return result
