--[[
  Admin: puts blocked seats back on sale, all or nothing.

  Input:
    KEYS[1] meta
    KEYS[2] status
    KEYS[3] log

    ARGV[1] now (ms, '' = Redis clock)
    ARGV[2] seats, comma-separated indexes

  Output:
    {'OK', seq}
    {'NO_EVENT'}
    {'BAD_REQUEST'}
    {'BAD_SEAT', {seats}}
    {'CONFLICT', {seats}}   seats that are not blocked
]]
--- @include "includes/now"
--- @include "includes/meta"
--- @include "includes/seats"
--- @include "includes/eventSeats"
--- @include "includes/changeLog"
--- @include "includes/setStates"

return setStates(BLOCKED, FREE, 'unblock', 'CONFLICT')
