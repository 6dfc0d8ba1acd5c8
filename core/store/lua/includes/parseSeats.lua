--[[
  Parses a comma-separated list of seat indexes.
  Returns seats, nil on success; nil, 'BAD_REQUEST' for a malformed list;
  nil, 'BAD_SEAT', badSeats for indexes out of [0, seatCount) (negative ones
  too) or repeated: every offending index, in the order given.
]]
local function parseSeats(csv, seatCount)
  local seats, seen, bad = {}, {}, {}
  for part in string.gmatch(csv, '[^,]+') do
    if not string.match(part, '^-?%d+$') then
      return nil, 'BAD_REQUEST'
    end
    local seat = tonumber(part)
    if seat < 0 or seat >= seatCount or seen[seat] then
      bad[#bad + 1] = seat
    else
      seen[seat] = true
      seats[#seats + 1] = seat
    end
  end
  if #bad > 0 then
    return nil, 'BAD_SEAT', bad
  end
  return seats
end
