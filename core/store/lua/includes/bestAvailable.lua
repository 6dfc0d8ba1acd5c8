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
  before all others, unless the orphan rule would refuse it (blockHolds). `opts`: n, cats and secs (sets of category and section
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

-- Whether a free seat may be picked, from its category and attribute bits.
local function seatWanted(opts, cat, attrs)
  if opts.cats ~= nil and opts.cats[cat] ~= true then
    return false
  end
  local chair = bit.band(attrs, ATTR_WHEELCHAIR) ~= 0
  local companion = bit.band(attrs, ATTR_COMPANION) ~= 0
  if opts.k > 0 then
    return chair or companion
  elseif opts.protect then
    return not chair and not companion
  end
  return true
end

--[[
  The candidate blocks of one row, reduced to the row's best: returns nil, or
  {start, orphan, sum, waste, central, rowSum}, and the longest run of
  eligible seats. Free runs come from the row's status bytes; the ranks of a
  row with a run of at least n seats come from one GETRANGE of the rank
  table; only filtered picks (categories, accessible seats) read the seat
  records instead. A block's rank sum slides along its run. `adjacentTo`: seat ->
  true for the token's seats (with `onlyAdjacent`, only blocks beside them
  count). This is the hot loop of best available: it keeps its state in locals.
]]
local function bestBlockOfRow(g, row, statusRow, opts, rnd, adjacentTo, onlyAdjacent)
  local n, k = opts.n, opts.k
  local ranks -- the row's 3-byte ranks, read at its first run of n seats
  local filtered = opts.cats ~= nil or k > 0 or opts.protect
  local strict = g.policy == POLICY_STRICT
  local maxCompanions = opts.maxCompanions
  local rowStart, rowCount = row.start, row.count
  local found, bStart, bOrphan, bWaste, bSum, bCentral = false, 0, 0, 0, 0, 0
  local ties, longest = 0, 0
  local minSum = {}
  local rank, ok, chairs = {}, {}, {}
  local states = {string.byte(statusRow, 1, rowCount)}
  local a = 1
  while a <= rowCount do
    if states[a] ~= 0 then
      a = a + 1
    else
      local runEnd = a
      while runEnd < rowCount and states[runEnd + 1] == 0 do
        runEnd = runEnd + 1
      end
      local len = runEnd - a + 1
      if not filtered and len > longest then
        longest = len -- every free seat is eligible: the run is an eligible run
      end
      if len >= n or (filtered and len > longest) then
        if filtered then
          local at = g.seatsAt + (rowStart + a - 1) * GEO_SEAT
          local rec = redis.call('GETRANGE', g.key, at, at + len * GEO_SEAT - 1)
          local o, eligibleRun = 1, 0
          for p = a, runEnd do
            local r1, r2, r3, r4 = string.byte(rec, o, o + 3)
            rank[p] = r1 + r2 * 256 + r3 * 65536 + r4 * 16777216
            local c1, c2, attrs = string.byte(rec, o + 8, o + 10)
            local e = seatWanted(opts, c1 + c2 * 256, attrs)
            ok[p] = e
            chairs[p] = bit.band(attrs, ATTR_WHEELCHAIR) ~= 0 and 1 or 0
            if e then
              eligibleRun = eligibleRun + 1
              if eligibleRun > longest then
                longest = eligibleRun
              end
            else
              eligibleRun = 0
            end
            o = o + GEO_SEAT
          end
        else
          ranks = ranks or geoRanks(g, rowStart, rowCount)
          local src, o = ranks, (a - 1) * GEO_RANK + 1
          for p = a, runEnd do
            local r1, r2, r3 = string.byte(src, o, o + 2)
            rank[p] = r1 + r2 * 256 + r3 * 65536
            o = o + GEO_RANK
          end
        end
        local sum = 0
        for p = a, a + n - 2 do
          sum = sum + (rank[p] or 0)
        end
        for s = a, runEnd - n + 1 do -- none when the run is shorter than n (read for `longest` only)
          sum = sum + rank[s + n - 1]
          if s > a then
            sum = sum - rank[s - 1]
          end
          local fits = true
          if filtered then
            local chairCount = 0
            for p = s, s + n - 1 do
              if not ok[p] then
                fits = false
                break
              end
              chairCount = chairCount + chairs[p]
            end
            if fits and k > 0 and (chairCount ~= k or n - chairCount > chairCount * maxCompanions) then
              fits = false
            end
          end
          if fits and onlyAdjacent then
            fits = (s > 1 and adjacentTo[rowStart + s - 2]) or (s + n <= rowCount and adjacentTo[rowStart + s + n - 1]) or false
          end
          if fits then
            local left, right = s - a, runEnd - (s + n - 1)
            local orphan = (left == 1 or right == 1) and 1 or 0
            if orphan == 0 or not strict then
              local waste = (left % n ~= 0 and 1 or 0) + (right % n ~= 0 and 1 or 0)
              local central = math.abs(2 * s + n - 1 - (rowCount + 1))
              if not minSum[orphan] or sum < minSum[orphan] then
                minSum[orphan] = sum
              end
              local better, tie = false, false
              if not found then
                better = true
              elseif orphan ~= bOrphan then
                better = orphan < bOrphan
              elseif waste ~= bWaste then
                better = waste < bWaste
              elseif sum ~= bSum then
                better = sum < bSum
              elseif central ~= bCentral then
                better = central < bCentral
              else
                tie = true
              end
              if tie then
                ties = ties + 1
                better = rnd(ties + 1) == 0
              elseif better then
                ties = 0
              end
              if better then
                found, bStart, bOrphan, bWaste, bSum, bCentral = true, rowStart + s - 1, orphan, waste, sum, central
              end
            end
          end
        end
      end
      a = runEnd + 1
    end
  end
  if not found then
    return nil, longest
  end
  -- rows are compared by the best rank sum among their blocks of the chosen orphan class
  return {start = bStart, orphan = bOrphan, sum = bSum, waste = bWaste, central = bCentral, rowSum = minSum[bOrphan]}, longest
end

local function sectionWanted(opts, row)
  return opts.secs == nil or opts.secs[row.section] == true
end

-- Events up to this size (every event: layouts have at most 250,000 seats) have their status read whole once per
-- pick, to find free seats at C speed; a bigger one would be read a row at a time.
local WHOLE_STATUS_SEATS = 250000

-- Phases 1 and 2 over every row (or only `rows` when given), with the rank bound.
local function pickBlock(g, statusKey, opts, rnd, rows, adjacentTo)
  local n = opts.n
  local best, ties, largest = nil, 0, 0
  local pattern = string.rep('\0', n)
  local whole = g.seats <= WHOLE_STATUS_SEATS and redis.call('GET', statusKey) or nil
  local filtered = opts.cats ~= nil or opts.k > 0 or opts.protect
  -- per section, where its first n free seats side by side start (C-speed string.find on
  -- the whole status): rows that end before it have none, and are passed over unread
  local firstRun = {}
  local skipped = false
  local function runFreeBefore(section, start, count)
    local f = firstRun[section]
    if f == nil then
      local first, seats = geoSection(g, section)
      local p = string.find(whole, pattern, first + 1, true)
      f = (p and p - 1 < first + seats) and p - 1 or first + seats
      firstRun[section] = f
    end
    return start + count - n < f
  end
  local function consider(row)
    if not sectionWanted(opts, row) then
      return
    end
    local statusRow = whole and string.sub(whole, row.start + 1, row.start + row.count)
      or redis.call('GETRANGE', statusKey, row.start, row.start + row.count - 1)
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
    if whole and g.monotone then
      --[[
        Every section's rows come in the order of their best rank: each wanted
        section starts at the row of its first n free seats side by side
        (string.find on the whole status: rows before it have none), and the
        sections' next rows are merged by best rank (a small heap), so that
        only rows that may hold a block are read, best first.
      ]]
      skipped = true
      -- the row table, read once and decoded on demand
      local rowsBlob = redis.call('GETRANGE', g.key, GEO_HEADER, GEO_HEADER + g.rows * GEO_ROW - 1)
      local function rowAt(r)
        local row = g.rowCache[r]
        if not row then
          local start, count, section, rowBest = struct.unpack('<I4I4I4I4', rowsBlob, r * GEO_ROW + 1)
          row = {r = r, start = start, count = count, section = section, best = rowBest}
          g.rowCache[r] = row
        end
        return row
      end
      -- the row of a seat: rows are sorted by their first seat
      local function rowOfSeat(seat)
        local lo, hi = 0, g.rows - 1
        while lo < hi do
          local mid = math.floor((lo + hi + 1) / 2)
          if rowAt(mid).start <= seat then
            lo = mid
          else
            hi = mid - 1
          end
        end
        return rowAt(lo)
      end
      local heap = {}
      local function push(row)
        heap[#heap + 1] = row
        local i = #heap
        while i > 1 do
          local parent = math.floor(i / 2)
          if heap[parent].best < row.best or (heap[parent].best == row.best and heap[parent].r < row.r) then
            break
          end
          heap[i], heap[parent] = heap[parent], row
          i = parent
        end
      end
      local function less(a, b)
        return heap[a].best < heap[b].best or (heap[a].best == heap[b].best and heap[a].r < heap[b].r)
      end
      local function pop()
        local top, last = heap[1], heap[#heap]
        heap[#heap] = nil
        if #heap > 0 then
          heap[1] = last
          local i = 1
          while true do
            local l, r, m = 2 * i, 2 * i + 1, i
            if l <= #heap and less(l, m) then
              m = l
            end
            if r <= #heap and less(r, m) then
              m = r
            end
            if m == i then
              break
            end
            heap[i], heap[m] = heap[m], heap[i]
            i = m
          end
        end
        return top
      end
      local sections = redis.call('GETRANGE', g.key, g.sectionsAt, g.sectionsAt + g.sections * 8 - 1)
      for section = 0, g.sections - 1 do
        if opts.secs == nil or opts.secs[section] == true then
          local first, seats = struct.unpack('<I4I4', sections, section * 8 + 1)
          local p = seats > 0 and string.find(whole, pattern, first + 1, true)
          if p and p - 1 + n <= first + seats then
            push(rowOfSeat(p - 1))
          end
        end
      end
      while #heap > 0 do
        local row = pop()
        -- no block of this row or any later one can rank better than an orphan-free block found
        if best and best.orphan == 0 and n * row.best > best.rowSum then
          return best, largest
        end
        consider(row)
        if row.r + 1 < g.rows then
          local nextRow = rowAt(row.r + 1)
          if nextRow.section == row.section then
            push(nextRow)
          end
        end
      end
    else
      -- sections whose rows are not in rank order: the rows of the whole event, best first,
      -- the order table read in growing chunks: most picks stop within the first rows
      local from, chunk = 0, 32
      while from < g.rows do
        local to = math.min(from + chunk, g.rows) - 1
        local b = redis.call('GETRANGE', g.key, g.orderAt + from * GEO_ORDER, g.orderAt + to * GEO_ORDER + GEO_ORDER - 1)
        for i = 0, to - from do
          local at = i * GEO_ORDER + 1
          local r1, r2, r3, r4, s1, s2, s3, s4, c1, c2, c3, c4, e1, e2, e3, e4, b1, b2, b3, b4 = string.byte(b, at, at + 19)
          local rowBest = b1 + b2 * 256 + b3 * 65536 + b4 * 16777216
          -- no block of this row or any later one can rank better than an orphan-free block found
          if best and best.orphan == 0 and n * rowBest > best.rowSum then
            return best, largest
          end
          local section = e1 + e2 * 256 + e3 * 65536 + e4 * 16777216
          if opts.secs == nil or opts.secs[section] == true then
            local start = s1 + s2 * 256 + s3 * 65536 + s4 * 16777216
            local count = c1 + c2 * 256 + c3 * 65536 + c4 * 16777216
            if whole and runFreeBefore(section, start, count) then
              skipped = true
            else
              local r = r1 + r2 * 256 + r3 * 65536 + r4 * 16777216
              local row = g.rowCache[r]
              if not row then
                row = {r = r, start = start, count = count, section = section, best = rowBest}
                g.rowCache[r] = row
              end
              consider(row)
            end
          end
        end
        from = from + chunk
        chunk = math.min(chunk * 2, 1024)
      end
    end
    if not best and skipped then
      -- NO_BLOCK: the largest block may sit in a row passed over; look at every wanted row from
      -- its section's first free seat on (one string.find each: a sold-out section costs nothing)
      local firstFree = {}
      local rowsBlob = redis.call('GETRANGE', g.key, GEO_HEADER, GEO_HEADER + g.rows * GEO_ROW - 1)
      for r = 0, g.rows - 1 do
        local start, count, section = struct.unpack('<I4I4I4', rowsBlob, r * GEO_ROW + 1)
        local row = {r = r, start = start, count = count, section = section}
        if firstFree[section] == nil and sectionWanted(opts, row) then
          local first, seats = geoSection(g, section)
          local p = string.find(whole, '\0', first + 1, true)
          firstFree[section] = (p and p - 1 < first + seats) and p - 1 or first + seats
        end
        if sectionWanted(opts, row) and start + count > firstFree[section] then
          local statusRow = string.sub(whole, row.start + 1, row.start + row.count)
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
        end
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

--[[
  Whether the orphan rule lets a block be held. A block that strands no seat
  always may; one that strands a seat may under lenient only if no block of
  the same size in its row strands none, which the pick knows only of the
  blocks it looked at: not when it looked beside the token's seats alone, or
  at filtered seats only. So such a block is checked as the hold will check it.
]]
local function blockHolds(g, statusKey, c, n)
  if c.orphan == 0 then
    return true
  end
  local changes = {}
  for i = 0, n - 1 do
    changes[c.start + i] = false
  end
  return #strandedSeats(g, statusKey, changes) == 0
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
    if c and blockHolds(g, statusKey, c, opts.n) then
      return blockSeats(c, opts.n), true
    end
  end
  local c, largest = pickBlock(g, statusKey, opts, rnd, nil, nil)
  if c and blockHolds(g, statusKey, c, opts.n) then
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
