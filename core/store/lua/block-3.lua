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
--- @include "includes/seats"
--- @include "includes/setStates"

return setStates({meta = KEYS[1], status = KEYS[2], log = KEYS[3]}, ARGV, FREE, BLOCKED, 'block', 'UNAVAILABLE')
