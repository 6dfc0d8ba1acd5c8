--[[
  Best available (docs/store.md#best-available): picks `n` free seats for a
  hold, inside the hold's script, so that no concurrent pick can return seats
  another holder has. In order:
    1. n adjacent free seats in one row that strand no seat (strandedSeats.lua);
    2. n adjacent free seats in one row that strand one (not under strict);
    3. only when `together` is false: the n best-ranked free seats of one section.
  Rows are compared by the best rank sum of their blocks (seat ranks from the
  layout: its `rank`, else the distance to the focal point), ties at random;
  within the chosen row, blocks that leave pieces a block of the same size
  can fill come first, then the best rank sum, then the most central, then
  chance. With a token whose seats are in a row, a block beside them comes
  before all others. `opts`: n, cats and secs (sets of category and section
  numbers, nil = any), together, k (wheelchair seats wanted), protect
  (wheelchair seats are protected now), maxCompanions, tokSeats, seed.
  Returns seats, together; or nil, largest (the size of the biggest block of
  seats fitting the filters, or of the best section's seats when not together).
]]
--- @include "includes/geometry"
--- @include "includes/strandedSeats"

local function newRandom(seed)
  local state = (tonumber(seed) or 1) % 2147483647
  if state <= 0 then
    state = 1
  end
  return function(m)
    state = (state * 48271) % 2147483647
    return state % m
  end
end

-- Which seats of a row may be picked: free, of a wanted category, and accessible as asked.
local function eligibleSeats(g, statusRow, row, opts)
  local ranks, cats, attrs = geoSeats(g, row.start, row.count)
  local ok, free = {}, {}
  for i = 1, row.count do
    free[i] = string.byte(statusRow, i) == 0
    local e = free[i] and (opts.cats == nil or opts.cats[cats[i]] == true)
    if e then
      local chair = bit.band(attrs[i], ATTR_WHEELCHAIR) ~= 0
      local companion = bit.band(attrs[i], ATTR_COMPANION) ~= 0
      if opts.k > 0 then
        e = chair or companion
      elseif opts.protect then
        e = not chair and not companion
      end
    end
    ok[i] = e
  end
  return ok, free, ranks, attrs
end

local function longestRun(flags, count)
  local best, run = 0, 0
  for i = 1, count do
    if flags[i] then
      run = run + 1
      if run > best then
        best = run
      end
    else
      run = 0
    end
  end
  return best
end

--[[
  The candidate blocks of one row, reduced to the row's best: returns nil, or
  {start, orphan, sum, waste, central, adjacent}. `adjacentTo`: seat -> true
  for the token's seats (a block beside them is `adjacent`).
]]
local function bestBlockOfRow(g, row, statusRow, opts, rnd, adjacentTo, onlyAdjacent)
  local n = opts.n
  local ok, free, ranks, attrs = eligibleSeats(g, statusRow, row, opts)
  -- the free run around each position: runStart[i], runEnd[i]
  local runStart, runEnd = {}, {}
  local i = 1
  while i <= row.count do
    if free[i] then
      local j = i
      while j < row.count and free[j + 1] do
        j = j + 1
      end
      for p = i, j do
        runStart[p], runEnd[p] = i, j
      end
      i = j + 1
    else
      i = i + 1
    end
  end
  local best, ties = nil, 0
  local minSum = {}
  local maxCompanions = opts.maxCompanions
  for s = 1, row.count - n + 1 do
    local fits, sum, chairs = true, 0, 0
    for p = s, s + n - 1 do
      if not ok[p] then
        fits = false
        break
      end
      sum = sum + ranks[p]
      if bit.band(attrs[p], ATTR_WHEELCHAIR) ~= 0 then
        chairs = chairs + 1
      end
    end
    if fits and opts.k > 0 and (chairs ~= opts.k or n - chairs > chairs * maxCompanions) then
      fits = false
    end
    if fits and adjacentTo then
      local adjacent = (s > 1 and adjacentTo[row.start + s - 2]) or (s + n <= row.count and adjacentTo[row.start + s + n - 1])
      if onlyAdjacent and not adjacent then
        fits = false
      end
    end
    if fits then
      local left, right = s - runStart[s], runEnd[s] - (s + n - 1)
      local orphan = (left == 1 or right == 1) and 1 or 0
      if orphan == 0 or g.policy ~= POLICY_STRICT then
        local waste = (left % n ~= 0 and 1 or 0) + (right % n ~= 0 and 1 or 0)
        local central = math.abs(2 * s + n - 1 - (row.count + 1))
        local c = {start = row.start + s - 1, orphan = orphan, sum = sum, waste = waste, central = central}
        if not minSum[orphan] or sum < minSum[orphan] then
          minSum[orphan] = sum
        end
        local better, tie = false, false
        if not best then
          better = true
        elseif c.orphan ~= best.orphan then
          better = c.orphan < best.orphan
        elseif c.waste ~= best.waste then
          better = c.waste < best.waste
        elseif c.sum ~= best.sum then
          better = c.sum < best.sum
        elseif c.central ~= best.central then
          better = c.central < best.central
        else
          tie = true
        end
        if better then
          best, ties = c, 0
        elseif tie then
          ties = ties + 1
          if rnd(ties + 1) == 0 then
            best = c
          end
        end
      end
    end
  end
  if best then
    -- rows are compared by the best rank sum among their blocks of the chosen orphan class
    best.rowSum = minSum[best.orphan]
  end
  return best, longestRun(ok, row.count)
end

local function sectionWanted(opts, row)
  return opts.secs == nil or opts.secs[row.section] == true
end

-- Phases 1 and 2 over every row (or only `rows` when given), with the rank bound.
local function pickBlock(g, statusKey, opts, rnd, rows, adjacentTo)
  local n = opts.n
  local best, ties, largest = nil, 0, 0
  local pattern = string.rep('\0', n)
  local function consider(row)
    if not sectionWanted(opts, row) then
      return
    end
    local statusRow = redis.call('GETRANGE', statusKey, row.start, row.start + row.count - 1)
    if not string.find(statusRow, pattern, 1, true) then
      -- no n free seats side by side: only the largest block is of interest
      local longest = 0
      for run in string.gmatch(statusRow, '%z+') do
        if #run > longest then
          longest = #run
        end
      end
      if longest > largest then
        local ok = eligibleSeats(g, statusRow, row, opts)
        largest = math.max(largest, longestRun(ok, row.count))
      end
      return
    end
    local c, run = bestBlockOfRow(g, row, statusRow, opts, rnd, adjacentTo, rows ~= nil)
    if run > largest then
      largest = run
    end
    if not c then
      return
    end
    if not best or c.orphan < best.orphan or (c.orphan == best.orphan and c.rowSum < best.rowSum) then
      best, ties = c, 0
    elseif c.orphan == best.orphan and c.rowSum == best.rowSum then
      ties = ties + 1
      if rnd(ties + 1) == 0 then
        best = c
      end
    end
  end
  if rows then
    for _, row in ipairs(rows) do
      consider(row)
    end
  else
    local chunk = 256
    for from = 0, g.rows - 1, chunk do
      local order = geoOrder(g, from, math.min(from + chunk, g.rows) - 1)
      for _, r in ipairs(order) do
        local row = geoRow(g, r)
        -- no block of this row or any later one can rank better than an orphan-free block found
        if best and best.orphan == 0 and n * row.best > best.rowSum then
          return best, largest
        end
        consider(row)
      end
    end
  end
  return best, largest
end

-- Phase 3: the n best-ranked eligible seats of one section, trying sections from the best.
local function pickScattered(g, statusKey, opts, rnd)
  local sections = {}
  for r = 0, g.rows - 1 do
    local row = geoRow(g, r)
    if sectionWanted(opts, row) then
      local statusRow = redis.call('GETRANGE', statusKey, row.start, row.start + row.count - 1)
      if string.find(statusRow, '\0', 1, true) then
        local ok, _, ranks, attrs = eligibleSeats(g, statusRow, row, opts)
        local sec = sections[row.section]
        if not sec then
          sec = {chairs = {}, others = {}}
          sections[row.section] = sec
        end
        for i = 1, row.count do
          if ok[i] then
            local list = (opts.k > 0 and bit.band(attrs[i], ATTR_WHEELCHAIR) ~= 0) and sec.chairs or sec.others
            list[#list + 1] = {seat = row.start + i - 1, rank = ranks[i], tie = rnd(1000000)}
          end
        end
      end
    end
  end
  local byRank = function(a, b)
    if a.rank ~= b.rank then
      return a.rank < b.rank
    end
    return a.tie < b.tie
  end
  local candidates, largest = {}, 0
  for _, sec in pairs(sections) do
    table.sort(sec.chairs, byRank)
    table.sort(sec.others, byRank)
    local want = opts.k > 0 and opts.k or 0
    largest = math.max(largest, math.min(#sec.chairs, want) + #sec.others)
    if #sec.chairs >= want and #sec.others >= opts.n - want then
      local seats, sum = {}, 0
      for i = 1, want do
        seats[#seats + 1] = sec.chairs[i].seat
        sum = sum + sec.chairs[i].rank
      end
      for i = 1, opts.n - want do
        seats[#seats + 1] = sec.others[i].seat
        sum = sum + sec.others[i].rank
      end
      candidates[#candidates + 1] = {seats = seats, sum = sum, tie = rnd(1000000)}
    end
  end
  table.sort(candidates, function(a, b)
    if a.sum ~= b.sum then
      return a.sum < b.sum
    end
    return a.tie < b.tie
  end)
  for _, c in ipairs(candidates) do
    local changes = {}
    for _, seat in ipairs(c.seats) do
      changes[seat] = false
    end
    if #strandedSeats(g, statusKey, changes) == 0 then
      table.sort(c.seats)
      return c.seats
    end
  end
  return nil, largest
end

local function blockSeats(c, n)
  local seats = {}
  for i = 0, n - 1 do
    seats[#seats + 1] = c.start + i
  end
  return seats
end

local function bestAvailable(g, statusKey, opts)
  local rnd = newRandom(opts.seed)
  if opts.together and #opts.tokSeats > 0 then
    -- beside the token's seats first
    local adjacentTo, rows, seen = {}, {}, {}
    for _, seat in ipairs(opts.tokSeats) do
      adjacentTo[seat] = true
      local row = geoRowOfSeat(g, seat)
      if not seen[row.r] then
        seen[row.r] = true
        rows[#rows + 1] = row
      end
    end
    local c = pickBlock(g, statusKey, opts, rnd, rows, adjacentTo)
    if c then
      return blockSeats(c, opts.n), true
    end
  end
  local c, largest = pickBlock(g, statusKey, opts, rnd, nil, nil)
  if c then
    return blockSeats(c, opts.n), true
  end
  if opts.together then
    return nil, largest
  end
  local seats, scattered = pickScattered(g, statusKey, opts, rnd)
  if seats then
    local together = true
    for i = 2, #seats do
      if seats[i] ~= seats[i - 1] + 1 or geoRowOfSeat(g, seats[i]).r ~= geoRowOfSeat(g, seats[1]).r then
        together = false
      end
    end
    return seats, together
  end
  return nil, math.max(largest, scattered or 0)
end
