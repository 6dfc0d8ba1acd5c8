--[[
  Admin: takes free seats, and places of general-admission areas, off sale,
  all or nothing, in one change-log entry.

  Input:
    KEYS[1] meta
    KEYS[2] status
    KEYS[3] log

    ARGV[1] now (ms, '' = Redis clock)
    ARGV[2] seats, comma-separated indexes (may be empty when ARGV[3] is not)
    ARGV[3] places "area:qty,..." to block ('' or absent: none)

  Output:
    {'OK', seq}
    {'NO_EVENT'}
    {'BAD_REQUEST'}
    {'BAD_SEAT', {seats}}
    {'UNAVAILABLE', {seats}}   seats that are not free
    {'UNAVAILABLE', {}, 'ga', {areas}, {left}}  areas without room: held + booked + blocked + qty > capacity
    {'BAD_REQUEST', {}, 'ga'}  a malformed place list, an area named twice or unknown
]]
--- @include "includes/seats"
--- @include "includes/setStates"

return setStates({meta = KEYS[1], status = KEYS[2], log = KEYS[3]}, ARGV, FREE, BLOCKED, 'block', 'UNAVAILABLE', ARGV[3])
