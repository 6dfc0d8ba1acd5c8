--[[
  Reads the event's meta and parses a seat list against its seat count.
  Returns meta, seats; or nil and the refusal to return
  ({'NO_EVENT'}, {'BAD_REQUEST'}, {'BAD_SEAT', bad}).
]]
--- @include "includes/readMeta"
--- @include "includes/parseSeats"

local function loadEventSeats(metaKey, csv, allowEmpty)
  local meta = readMeta(metaKey)
  if not meta then
    return nil, {'NO_EVENT'}
  end
  local seats, err, bad = parseSeats(csv, meta.seats)
  if not seats then
    return nil, {err, bad}
  end
  if #seats == 0 and not allowEmpty then
    return nil, {'BAD_REQUEST'}
  end
  return meta, seats
end
