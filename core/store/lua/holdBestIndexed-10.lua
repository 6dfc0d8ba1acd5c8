--[[
  holdBest-9, and on success records the new expiry in the sweep index in
  the same atomic step (single Redis; on a Cluster the store runs holdBest-9
  and then sweepTouch-1, as for hold-9).

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

  Output: as holdBest-9
]]
--- @include "includes/holdBestSeats"
--- @include "includes/touchSweepIndex"

local result = holdBestSeats({meta = KEYS[1], status = KEYS[2], seatHolds = KEYS[3], tokens = KEYS[4],
  expiry = KEYS[5], holders = KEYS[6], log = KEYS[7], outbox = KEYS[8], geometry = KEYS[9]}, ARGV)
if result[1] == 'OK' then
  touchSweepIndex(KEYS[10], ARGV[12], result[3])
end
return result
