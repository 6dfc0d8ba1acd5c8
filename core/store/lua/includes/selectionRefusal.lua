--[[
  The selection rules a change of a token's seats must pass besides the hold
  limits: accessible seats (includes/accessibleRefusal) and the orphan rule
  (includes/strandedSeats). `selection`: {geometry = key, accessible = boolean}, or
  nil for a caller without a geometry key. `fresh`: seats the change takes;
  `freed`: seats it frees; `final`: the token's seats after it. Returns nil,
  or the refusal to answer.
]]
--- @include "includes/geometry"
--- @include "includes/strandedSeats"
--- @include "includes/accessibleRefusal"

local function selectionRefusal(statusKey, selection, now, fresh, freed, final)
  if not selection or not selection.geometry then
    return nil
  end
  local g = loadGeometry(selection.geometry)
  if not g then
    return nil
  end
  local refusal = accessibleRefusal(g, now, selection.accessible, fresh, final)
  if refusal then
    return refusal
  end
  local changes = {}
  for _, seat in ipairs(freed) do
    changes[seat] = true
  end
  for _, seat in ipairs(fresh) do
    changes[seat] = false
  end
  local stranded = strandedSeats(g, statusKey, changes)
  if #stranded > 0 then
    return {'ORPHAN_SEAT', stranded}
  end
  return nil
end
