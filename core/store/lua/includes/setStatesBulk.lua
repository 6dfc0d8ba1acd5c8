--[[
  The bulk form of setStates (block and unblock by section or category): the
  seats of the list that are in state `from` move to `to`, every other seat is
  left as it is and reported, with one change-log entry for the call (none when
  no seat changes). keys: meta, status, log. args: now, seats (the caller's
  ARGV). The status string is read once and runs of adjacent changed seats are
  written with one SETRANGE each: a section is a contiguous index range, so a
  whole venue costs a few thousand writes, not one per seat.
  Returns {'OK', seq, changed, unchanged, held, booked}: the seats moved, those
  already in `to`, and those held or booked (seq is the event's current one
  when nothing changed); or the refusal of loadEventSeats.
]]
--- @include "includes/getNow"
--- @include "includes/seats"
--- @include "includes/loadEventSeats"
--- @include "includes/appendChange"

local function setStatesBulk(keys, args, from, to, op)
  local now = getNow(args[1])
  local meta, seats = loadEventSeats(keys.meta, args[2], false)
  if not meta then
    return seats
  end
  local status = redis.call('GET', keys.status)
  local changed, unchanged, held, booked = {}, {}, {}, {}
  for _, seat in ipairs(seats) do
    local state = string.byte(status, seat + 1)
    if state == from then
      changed[#changed + 1] = seat
    elseif state == to then
      unchanged[#unchanged + 1] = seat
    elseif state == HELD then
      held[#held + 1] = seat
    else
      booked[#booked + 1] = seat
    end
  end
  if #changed == 0 then
    return {'OK', meta.seq, changed, unchanged, held, booked}
  end

  local byte = string.char(to)
  local runStart, runEnd = changed[1], changed[1]
  local changes = {}
  for i, seat in ipairs(changed) do
    if i > 1 then
      if seat == runEnd + 1 then
        runEnd = seat
      else
        redis.call('SETRANGE', keys.status, runStart, string.rep(byte, runEnd - runStart + 1))
        runStart, runEnd = seat, seat
      end
    end
    changes[#changes + 1] = seat
    changes[#changes + 1] = to
  end
  redis.call('SETRANGE', keys.status, runStart, string.rep(byte, runEnd - runStart + 1))
  return {'OK', appendChange(keys.meta, keys.log, meta, op, changes, now), changed, unchanged, held, booked}
end
