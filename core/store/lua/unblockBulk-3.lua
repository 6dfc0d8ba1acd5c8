--[[
  Admin, in bulk (by section or category): puts the blocked seats of a list
  back on sale and leaves the others as they are, reporting them. One
  change-log entry.

  Input:
    KEYS[1] meta
    KEYS[2] status
    KEYS[3] log

    ARGV[1] now (ms, '' = Redis clock)
    ARGV[2] seats, comma-separated indexes

  Output:
    {'OK', seq, {unblocked}, {alreadyFree}, {held}, {booked}}
    {'NO_EVENT'}
    {'BAD_REQUEST'}
    {'BAD_SEAT', {seats}}
]]
--- @include "includes/seats"
--- @include "includes/setStatesBulk"

return setStatesBulk({meta = KEYS[1], status = KEYS[2], log = KEYS[3]}, ARGV, BLOCKED, FREE, 'unblock')
