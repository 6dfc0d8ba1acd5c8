--[[
  Admin: takes free seats off sale, all or nothing.

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
    {'UNAVAILABLE', {seats}}   seats that are not free
]]
--- @include "includes/now"
--- @include "includes/meta"
--- @include "includes/seats"
--- @include "includes/eventSeats"
--- @include "includes/changeLog"
--- @include "includes/setStates"

return setStates(FREE, BLOCKED, 'block', 'UNAVAILABLE')
