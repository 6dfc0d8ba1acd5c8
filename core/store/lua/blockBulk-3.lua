--[[
  Admin, in bulk (by section or category): takes the free seats of a list off
  sale and leaves the others as they are, reporting them. One change-log entry.

  Input:
    KEYS[1] meta
    KEYS[2] status
    KEYS[3] log

    ARGV[1] now (ms, '' = Redis clock)
    ARGV[2] seats, ascending runs `a-b` or single indexes, comma-separated

  Output:
    {'OK', seq, {blocked runs}, {alreadyBlocked runs}, {held}, {booked}}   runs: flat {first, last, first, last, ...}
    {'NO_EVENT'}
    {'BAD_REQUEST'}            a malformed, empty or unordered list
    {'BAD_SEAT', {seats}}      every index outside [0, seatCount)
]]
--- @include "includes/seats"
--- @include "includes/setStatesBulk"

return setStatesBulk({meta = KEYS[1], status = KEYS[2], log = KEYS[3]}, ARGV, FREE, BLOCKED, 'block')
