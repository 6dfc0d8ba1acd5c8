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
--- @include "includes/seats"
--- @include "includes/setStates"

return setStates({meta = KEYS[1], status = KEYS[2], log = KEYS[3]}, ARGV, BLOCKED, FREE, 'unblock', 'CONFLICT')
