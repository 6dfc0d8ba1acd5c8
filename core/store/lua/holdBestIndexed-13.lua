--[[
  holdBest-12, and on success records the new expiry in the sweep index in
  the same atomic step (single Redis; on a Cluster the store runs holdBest-12
  and then sweepTouch-1, as for hold-12).

  Input:
    KEYS[1] meta
    KEYS[2] status
    KEYS[3] seatHolds
    KEYS[4] tokens
    KEYS[5] expiry
    KEYS[6] holders
    KEYS[7] log
    KEYS[8] outbox
    KEYS[9] geometry
    KEYS[10] sweepIndex
    KEYS[11] rate
    KEYS[12] queue
    KEYS[13] admitted

    ARGV[1] now (ms, '' = Redis clock)
    ARGV[2] holder
    ARGV[3] token
    ARGV[4] '1' to create the token, '0' to use an existing one
    ARGV[5] n, seats wanted
    ARGV[6] category ids, a JSON array ('' = any)
    ARGV[7] section ids, a JSON array ('' = any)
    ARGV[8] '1': adjacent seats in one row only; '0': else the best seats of one section
    ARGV[9] wheelchair seats wanted among the n (0 = none)
    ARGV[10] random seed for the tie-breaks (a positive integer)
    ARGV[11] '1' when the holder may take wheelchair seats (the accessible claim)
    ARGV[12] event id
    ARGV[13] '1': exempt from the on-sale gate (the box office)
    ARGV[14] the holder's operations per second on the event ('' or 0 = no bucket)
    ARGV[15] the bucket's burst

  Output: as holdBest-12
    {'NOT_ADMITTED'}          the event has a waiting room and the holder is not admitted (includes/gate)
    {'QUEUE_CLOSED'}          the waiting room is closed (sold out, ended)
    {'RATE_LIMITED', {}, retryMs}  the holder's bucket on the event is empty
]]
--- @include "includes/holdBestSeats"
--- @include "includes/touchSweepIndex"
--- @include "includes/getNow"
--- @include "includes/gate"

-- the on-sale gate first (docs/onsale.md): a refusal there changes nothing
local refused = gate({rate = KEYS[11], queue = KEYS[12], admitted = KEYS[13]}, ARGV[2], getNow(ARGV[1]), gateArgs(ARGV, 13))
if refused then
  return refused
end

local result = holdBestSeats({meta = KEYS[1], status = KEYS[2], seatHolds = KEYS[3], tokens = KEYS[4],
  expiry = KEYS[5], holders = KEYS[6], log = KEYS[7], outbox = KEYS[8], geometry = KEYS[9]}, ARGV)
if result[1] == 'OK' then
  touchSweepIndex(KEYS[10], ARGV[12], result[3])
end
return result
