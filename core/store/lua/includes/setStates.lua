--[[
  Moves a list of seats from one state to another, all or nothing, with one
  change-log entry. KEYS: meta, status, log. ARGV: now, seats.
]]
local function setStates(from, to, op, refusal)
  local now = getNow(ARGV[1])
  local meta, seats = loadEventSeats(KEYS[1], ARGV[2], false)
  if not meta then
    return seats
  end
  local wrong = {}
  for _, seat in ipairs(seats) do
    if getSeatState(KEYS[2], seat) ~= from then
      wrong[#wrong + 1] = seat
    end
  end
  if #wrong > 0 then
    return {refusal, wrong}
  end
  local changes = {}
  for _, seat in ipairs(seats) do
    setSeatState(KEYS[2], seat, to)
    changes[#changes + 1] = seat
    changes[#changes + 1] = to
  end
  return {'OK', appendChange(KEYS[1], KEYS[3], meta, op, changes, now)}
end
