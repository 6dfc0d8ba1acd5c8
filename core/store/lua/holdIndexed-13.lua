--[[
  hold-12, and on success records the new expiry in the sweep index in the
  same atomic step. Used on a single Redis, where the index and the event's
  keys are on one server; on a Cluster the index is in another slot, so the
  store runs hold-12 and then sweepTouch-1.

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
    KEYS[10] geometry
    KEYS[11] rate
    KEYS[12] queue
    KEYS[13] admitted

    ARGV[1] now (ms, '' = Redis clock)
    ARGV[2] holder
    ARGV[3] token
    ARGV[4] '1' to create the token, '0' to use an existing one
    ARGV[5] seats, comma-separated indexes
    ARGV[6] event id
    ARGV[7] '1' when the holder may take wheelchair seats (the accessible claim)
    ARGV[8] '1': exempt from the on-sale gate (the box office)
    ARGV[9] the holder's operations per second on the event ('' or 0 = no bucket)
    ARGV[10] the bucket's burst
    ARGV[11] general-admission quantities "area:qty,..." held with the seats ('' or absent = none;
             with them the seat list may be empty)
    ARGV[12] the holder's sales-channel keys, comma-separated ('' = none; see hold-12)

  Output: as hold-12
    {'NOT_ADMITTED'}          the event has a waiting room and the holder is not admitted (includes/gate)
    {'QUEUE_CLOSED'}          the waiting room is closed (sold out, ended)
    {'RATE_LIMITED', {}, retryMs}  the holder's bucket on the event is empty
]]
--- @include "includes/holdSeats"
--- @include "includes/touchSweepIndex"
--- @include "includes/getNow"
--- @include "includes/gate"

-- the on-sale gate first (docs/onsale.md): a refusal there changes nothing
local refused = gate({rate = KEYS[11], queue = KEYS[12], admitted = KEYS[13]}, ARGV[2], getNow(ARGV[1]), gateArgs(ARGV, 8))
if refused then
  return refused
end

local result = holdSeats({meta = KEYS[1], status = KEYS[2], seatHolds = KEYS[3], tokens = KEYS[4],
  expiry = KEYS[5], holders = KEYS[6], log = KEYS[7], outbox = KEYS[8]}, ARGV,
  {geometry = KEYS[10], accessible = ARGV[7] == '1', chan = channelSet(ARGV[12]), exempt = ARGV[8] == '1'}, ARGV[11])
if result[1] == 'OK' then
  touchSweepIndex(KEYS[9], ARGV[6], result[3])
end
return result
