--[[
  Moves a list of seats from one state to another, all or nothing, with one
  change-log entry. keys: meta, status, log. args: now, seats (the caller's
  ARGV). Returns {'OK', seq}, the refusal of loadEventSeats, or
  {refusal, seats} listing the seats that are not in state `from`.

  gaCsv ("area:qty,...", optional): places of general-admission areas
  blocked (to = BLOCKED) or unblocked with the seats, in the same entry (the
  seat list may then be empty). Blocking needs held + booked + blocked + qty
  <= capacity in every area, else {'UNAVAILABLE', {}, 'ga', {areas}, {left}};
  unblocking needs qty <= blocked, else {'CONFLICT', {}, 'ga', {areas},
  {blocked}}; a malformed list is {'BAD_REQUEST', {}, 'ga'} (includes/gaAreas).
  Seats are judged first.
]]
--- @include "includes/getNow"
--- @include "includes/seats"
--- @include "includes/loadEventSeats"
--- @include "includes/appendChange"

local function setStates(keys, args, from, to, op, refusal, gaCsv)
  local now = getNow(args[1])
  local withGa = gaCsv ~= nil and gaCsv ~= ''
  local meta, seats = loadEventSeats(keys.meta, args[2], withGa)
  if not meta then
    return seats
  end
  local wants = {}
  if withGa then
    local parsed, bad = parseGa(keys.meta, gaCsv)
    if not parsed then
      return bad
    end
    wants = parsed
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
  local short, left = {}, {}
  for _, w in ipairs(wants) do
    local c, h, b, k = gaCounters(keys.meta, w[1])
    if to == BLOCKED and h + b + k + w[2] > c then
      short[#short + 1] = w[1]
      left[#left + 1] = math.max(0, c - h - b - k)
    elseif to ~= BLOCKED and w[2] > k then
      short[#short + 1] = w[1]
      left[#left + 1] = k
    end
  end
  if #short > 0 then
    return {to == BLOCKED and 'UNAVAILABLE' or 'CONFLICT', {}, 'ga', short, left}
  end
  for _, w in ipairs(wants) do
    gaMove(keys.meta, w[1], 'k', to == BLOCKED and w[2] or -w[2])
  end
  local changes = {}
  for _, seat in ipairs(seats) do
    setSeatState(keys.status, seat, to)
    changes[#changes + 1] = seat
    changes[#changes + 1] = to
  end
  return {'OK', appendChange(keys.meta, keys.log, meta, op, changes, now)}
end
