--[[
  Moves a list of seats from one state to another, all or nothing, with one
  change-log entry. keys: meta, status, log. args: now, seats (the caller's
  ARGV). Returns {'OK', seq}, the refusal of loadEventSeats, or
  {refusal, seats} listing the seats that are not in state `from`.
]]
--- @include "includes/getNow"
--- @include "includes/seats"
--- @include "includes/loadEventSeats"
--- @include "includes/appendChange"

local function setStates(keys, args, from, to, op, refusal)
  local now = getNow(args[1])
  local meta, seats = loadEventSeats(keys.meta, args[2], false)
  if not meta then
    return seats
  end
  local wrong = {}
  for _, seat in ipairs(seats) do
    if getSeatState(keys.status, seat) ~= from then
      wrong[#wrong + 1] = seat
    end
  end
  if #wrong > 0 then
    return {refusal, wrong}
  end
  local changes = {}
  for _, seat in ipairs(seats) do
    setSeatState(keys.status, seat, to)
    changes[#changes + 1] = seat
    changes[#changes + 1] = to
  end
  return {'OK', appendChange(keys.meta, keys.log, meta, op, changes, now)}
end
