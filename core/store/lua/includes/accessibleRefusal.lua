--[[
  Accessible seats (docs/store.md#accessible-seats). While the event's
  protectUntil has not passed, a wheelchair seat may be taken only by a
  holder whose token carries the accessible claim, and a token may keep
  companion seats only beside wheelchair seats: at most maxCompanions per
  wheelchair seat of the same token. Returns nil, or the refusal:
  {'UNAVAILABLE', seats, 'accessible'} or {'BAD_REQUEST', seats, 'companion'}.
]]
--- @include "includes/geometry"

local function accessibleRefusal(g, now, accessible, fresh, final)
  if not geoProtected(g, now) then
    return nil
  end
  local wheelchair = {}
  for _, seat in ipairs(fresh) do
    if bit.band(geoAttrs(g, seat), ATTR_WHEELCHAIR) ~= 0 and not accessible then
      wheelchair[#wheelchair + 1] = seat
    end
  end
  if #wheelchair > 0 then
    return {'UNAVAILABLE', wheelchair, 'accessible'}
  end
  local chairs, companions = 0, {}
  for _, seat in ipairs(final) do
    local a = geoAttrs(g, seat)
    if bit.band(a, ATTR_WHEELCHAIR) ~= 0 then
      chairs = chairs + 1
    elseif bit.band(a, ATTR_COMPANION) ~= 0 then
      companions[#companions + 1] = seat
    end
  end
  if #companions > chairs * g.maxCompanions then
    table.sort(companions)
    return {'BAD_REQUEST', companions, 'companion'}
  end
  return nil
end
