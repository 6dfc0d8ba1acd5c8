--[[
  The orphan-seat rule (docs/store.md#orphan-seats). An orphan is a free seat
  whose neighbours in its row are both taken or the row's end: a run of
  exactly one free seat. A change strands the seats that are orphans after it
  and were not before. Under `strict` any stranded seat refuses the change;
  under `lenient` only when the seats the change takes in that row could have
  been taken as one block of the same size, in the same row, stranding none.
  Checked on the rows the change touches only.
]]
--- @include "includes/geometry"

-- Positions (1-based) of the orphans of a row, given free[i] booleans.
local function orphansOf(free, count)
  local set = {}
  for i = 1, count do
    if free[i] and (i == 1 or not free[i - 1]) and (i == count or not free[i + 1]) then
      set[i] = true
    end
  end
  return set
end

-- Whether taking `k` seats as one block of `base` (free[] booleans) strands none of the seats free in `before` but not orphans there.
local function blockWithoutOrphan(base, beforeOrphans, count, k)
  for s = 1, count - k + 1 do
    local ok = true
    for i = s, s + k - 1 do
      if not base[i] then
        ok = false
        break
      end
    end
    if ok then
      local after = {}
      for i = 1, count do
        after[i] = base[i] and (i < s or i >= s + k)
      end
      local stranded = false
      for i in pairs(orphansOf(after, count)) do
        if not beforeOrphans[i] then
          stranded = true
          break
        end
      end
      if not stranded then
        return true
      end
    end
  end
  return false
end

--[[
  The seats a change would strand, by the event's policy; {} when it may go
  ahead. `changes` maps seat -> true when the change frees it, false when it
  takes it (seats whose free-ness does not change may be left out).
]]
local function strandedSeats(g, statusKey, changes)
  if not g or g.policy == POLICY_OFF then
    return {}
  end
  local rows = {}
  for seat, frees in pairs(changes) do
    local row = geoRowOfSeat(g, seat)
    rows[row.r] = rows[row.r] or {row = row, seats = {}}
    rows[row.r].seats[seat - row.start + 1] = frees
  end
  local stranded = {}
  for _, touched in pairs(rows) do
    local row = touched.row
    local states = redis.call('GETRANGE', statusKey, row.start, row.start + row.count - 1)
    local before, after, base = {}, {}, {}
    local taken = 0
    for i = 1, row.count do
      before[i] = string.byte(states, i) == 0
      local change = touched.seats[i]
      if change == nil then
        after[i] = before[i]
        base[i] = before[i]
      else
        after[i] = change
        base[i] = before[i] or change
        if not change and before[i] then
          taken = taken + 1
        end
      end
    end
    local beforeOrphans = orphansOf(before, row.count)
    local fresh = {}
    for i in pairs(orphansOf(after, row.count)) do
      if not beforeOrphans[i] then
        fresh[#fresh + 1] = row.start + i - 1
      end
    end
    if #fresh > 0 then
      -- lenient: a change that takes seats here strands them only if a same-sized block could have stranded none
      if g.policy == POLICY_STRICT or taken == 0 or blockWithoutOrphan(base, beforeOrphans, row.count, taken) then
        for _, seat in ipairs(fresh) do
          stranded[#stranded + 1] = seat
        end
      end
    end
  end
  table.sort(stranded)
  return stranded
end
