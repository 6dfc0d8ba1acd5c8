--[[
  Admin: puts blocked seats, and blocked places of general-admission areas,
  back on sale, all or nothing, in one change-log entry.

  Input:
    KEYS[1] meta
    KEYS[2] status
    KEYS[3] log

    ARGV[1] now (ms, '' = Redis clock)
    ARGV[2] seats, comma-separated indexes (may be empty when ARGV[3] is not)
    ARGV[3] places "area:qty,..." to unblock ('' or absent: none)

  Output:
    {'OK', seq}
    {'NO_EVENT'}
    {'BAD_REQUEST'}
    {'BAD_SEAT', {seats}}
    {'CONFLICT', {seats}}   seats that are not blocked
    {'CONFLICT', {}, 'ga', {areas}, {blocked}}  areas with fewer places blocked than asked
    {'BAD_REQUEST', {}, 'ga'}  a malformed place list, an area named twice or unknown
]]
--- @include "includes/seats"
--- @include "includes/setStates"

return setStates({meta = KEYS[1], status = KEYS[2], log = KEYS[3]}, ARGV, BLOCKED, FREE, 'unblock', 'CONFLICT', ARGV[3])
