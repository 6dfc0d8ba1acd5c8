--[[
  The bulk form of setStates (block and unblock by section or category): the
  seats of the set that are in state `from` move to `to`, every other seat is
  left as it is and reported, with one change-log entry for the call (none when
  no seat changes). keys: meta, status, log. args: now, seats (the caller's
  ARGV) as ascending, non-overlapping runs `a-b` (a to b inclusive) or single
  indexes, comma-separated: a section is one run, so a whole venue arrives in
  a few hundred runs, not one index per seat. The status string is read once;
  each run of adjacent moved seats is written with one SETRANGE.
  Returns {'OK', seq, changed, unchanged, held, booked}: the seats moved and
  those already in `to` as flat run lists {a1, b1, a2, b2, ...}, the held and
  booked ones as index lists (seq is the event's current one when nothing
  changed); {'NO_EVENT'}; {'BAD_REQUEST'} for a malformed, empty or unordered
  list; {'BAD_SEAT', seats} listing every index outside [0, seatCount).
]]
--- @include "includes/getNow"
--- @include "includes/seats"
--- @include "includes/readMeta"
--- @include "includes/appendChange"

local function setStatesBulk(keys, args, from, to, op)
  local now = getNow(args[1])
  local meta = readMeta(keys.meta)
  if not meta then
    return {'NO_EVENT'}
  end
  local runs, bad, last = {}, {}, nil
  for part in string.gmatch(args[2], '[^,]+') do
    local a, b = string.match(part, '^(%d+)%-(%d+)$')
    if not a then
      a = string.match(part, '^(-?%d+)$')
      b = a
    end
    if not a then
      return {'BAD_REQUEST'}
    end
    a, b = tonumber(a), tonumber(b)
    -- no run longer than a whole venue (250,000 seats, the layout's limit)
    if b < a or b - a >= 250000 or (last ~= nil and a <= last) then
      return {'BAD_REQUEST'}
    end
    last = b
    for seat = a, math.min(b, -1) do
      bad[#bad + 1] = seat
    end
    for seat = math.max(a, meta.seats), b do
      bad[#bad + 1] = seat
    end
    runs[#runs + 1] = {a, b}
  end
  if #bad > 0 then
    return {'BAD_SEAT', bad}
  end
  if #runs == 0 then
    return {'BAD_REQUEST'}
  end

  local status = redis.call('GET', keys.status)
  local byte = string.char(to)
  local changed, unchanged, held, booked, changes = {}, {}, {}, {}, {}
  -- adds seat to a flat run list, extending its last run when adjacent
  local function addRun(list, seat)
    local n = #list
    if n > 0 and list[n] == seat - 1 then
      list[n] = seat
    else
      list[n + 1] = seat
      list[n + 2] = seat
    end
  end
  for _, run in ipairs(runs) do
    for seat = run[1], run[2] do
      local state = string.byte(status, seat + 1)
      if state == from then
        addRun(changed, seat)
        changes[#changes + 1] = seat
        changes[#changes + 1] = to
      elseif state == to then
        addRun(unchanged, seat)
      elseif state == HELD then
        held[#held + 1] = seat
      else
        booked[#booked + 1] = seat
      end
    end
  end
  if #changes == 0 then
    return {'OK', meta.seq, changed, unchanged, held, booked}
  end
  for i = 1, #changed, 2 do
    redis.call('SETRANGE', keys.status, changed[i], string.rep(byte, changed[i + 1] - changed[i] + 1))
  end
  return {'OK', appendChange(keys.meta, keys.log, meta, op, changes, now), changed, unchanged, held, booked}
end
