--[[
  The hold operation, shared by hold-12, holdIndexed-13 and the best-available
  scripts. See hold-12.lua for the contract. keys: meta, status, seatHolds,
  tokens, expiry, holders, log, outbox. args: now, holder, token, create
  ('1'/'0'), seats. selection: {geometry = key, accessible = boolean} for the
  selection rules (includes/selectionRefusal), nil for none. gaCsv:
  general-admission quantities "area:qty,..." held with the seats, all or
  nothing (includes/gaAreas); nil or '' for none, and then seats must not be
  empty. selection.chan: the caller's sales-channel keys (a set, includes/channels) and
  selection.exempt (the box office): who may take RESERVED seats.
]]
--- @include "includes/getNow"
--- @include "includes/seats"
--- @include "includes/loadEventSeats"
--- @include "includes/tokens"
--- @include "includes/freeToken"
--- @include "includes/appendChange"
--- @include "includes/selectionRefusal"
--- @include "includes/gaAreas"
--- @include "includes/channels"

-- How many overdue tokens one hold may expire on its way.
local LAZY_EXPIRY_LIMIT = 100

local function holdSeats(keys, args, selection, gaCsv)
  local now = getNow(args[1])
  local holder, token, create = args[2], args[3], args[4] == '1'
  local withGa = gaCsv ~= nil and gaCsv ~= ''

  local meta, seats = loadEventSeats(keys.meta, args[5], withGa)
  if not meta then
    return seats
  end
  local gaWants, gaQty = {}, 0
  if withGa then
    local refusal
    gaWants, refusal = parseGa(keys.meta, gaCsv)
    if not gaWants then
      return refusal
    end
    for _, w in ipairs(gaWants) do
      gaQty = gaQty + w[2]
    end
  end

  local tok
  if create then
    if redis.call('HEXISTS', keys.tokens, token) == 1 then
      return {'CONFLICT'}
    end
    tok = {h = holder, s = {}, c = now, e = 0}
  else
    local refusal
    tok, refusal = holderToken(keys.tokens, token, holder, now)
    if not tok then
      return refusal
    end
  end

  -- Overdue tokens, loaded lazily when one of them blocks a wanted seat or belongs to the holder.
  local overdue = {}
  for _, t in ipairs(redis.call('ZRANGEBYSCORE', keys.expiry, '-inf', now, 'LIMIT', 0, LAZY_EXPIRY_LIMIT)) do
    overdue[t] = false
  end
  local function overdueToken(t)
    if overdue[t] == false then
      overdue[t] = loadToken(keys.tokens, t)
    end
    return overdue[t]
  end

  local taken, fresh, closed = {}, {}, {}
  local chan, exempt = (selection and selection.chan) or {}, selection and selection.exempt
  for _, seat in ipairs(seats) do
    local state = getSeatState(keys.status, seat)
    if state == FREE then
      fresh[#fresh + 1] = seat
    elseif state == RESERVED then
      if mayTakeReserved(keys.meta, seat, chan, exempt) then
        fresh[#fresh + 1] = seat
      else
        closed[#closed + 1] = seat
      end
    elseif state == HELD then
      local owner = redis.call('HGET', keys.seatHolds, seat)
      if owner == token and not create then
        -- already ours: accepted, nothing to change
      elseif owner and overdueToken(owner) then
        -- expired on the way: a channel's seat would be reserved again, so the channel's rule applies
        if freedState(keys.meta, seat) == RESERVED and not mayTakeReserved(keys.meta, seat, chan, exempt) then
          closed[#closed + 1] = seat
        else
          fresh[#fresh + 1] = seat
        end
      else
        taken[#taken + 1] = seat
      end
    else
      taken[#taken + 1] = seat
    end
  end
  if #taken > 0 then
    return {'UNAVAILABLE', taken}
  end
  if #closed > 0 then
    return {'UNAVAILABLE', closed, 'channel'}
  end

  -- Areas: places of overdue tokens count as free (on success they are expired below).
  if withGa then
    local overdueGa = {}
    for t in pairs(overdue) do
      local o = overdueToken(t)
      if o then
        for key, q in pairs(o.g or {}) do
          overdueGa[key] = (overdueGa[key] or 0) + q
        end
      end
    end
    local full, left = {}, {}
    for _, w in ipairs(gaWants) do
      local c, h, b, k = gaCounters(keys.meta, w[1])
      local free = c - (h - (overdueGa[tostring(w[1])] or 0)) - b - k
      if w[2] > free then
        full[#full + 1] = w[1]
        left[#left + 1] = math.max(free, 0)
      end
    end
    if #full > 0 then
      return {'UNAVAILABLE', {}, 'ga', full, left}
    end
  end

  -- general-admission places count towards the limits like seats
  if #tok.s + gaTokenTotal(tok) + #fresh + gaQty > meta.maxSeatsPerToken then
    return {'HOLD_LIMIT'}
  end
  local holderSeats = tonumber(redis.call('HGET', keys.holders, holder) or '0')
  for t in pairs(overdue) do
    local o = overdueToken(t)
    if o and o.h == holder then
      holderSeats = holderSeats - #o.s - gaTokenTotal(o)
    end
  end
  if holderSeats + #fresh + gaQty > meta.maxSeatsPerHolder then
    return {'HOLD_LIMIT'}
  end
  local final = {}
  for _, seat in ipairs(tok.s) do
    final[#final + 1] = seat
  end
  for _, seat in ipairs(fresh) do
    final[#final + 1] = seat
  end
  local refusal = selectionRefusal(keys.status, selection, now, fresh, {}, final)
  if refusal then
    return refusal
  end

  -- Accepted: from here on everything is applied.
  local changes = {}
  for t in pairs(overdue) do
    local o = overdueToken(t)
    if o then
      freeToken(keys, t, o, changes)
    end
  end
  for _, seat in ipairs(fresh) do
    setSeatState(keys.status, seat, HELD)
    redis.call('HSET', keys.seatHolds, seat, token)
    tok.s[#tok.s + 1] = seat
    changes[#changes + 1] = seat
    changes[#changes + 1] = HELD
  end
  for _, w in ipairs(gaWants) do
    gaMove(keys.meta, w[1], 'h', w[2])
    gaTokenAdd(tok, w[1], w[2])
  end
  tok.e = slidingExpiry(tok, now, meta)
  saveToken(keys.tokens, keys.expiry, token, tok)
  addHolderSeats(keys.holders, holder, #fresh + gaQty)

  local seq = meta.seq
  if #changes > 0 or gaAnyTouched() then
    seq = appendChange(keys.meta, keys.log, meta, 'hold', changes, now)
  end
  return {'OK', token, tok.e, seq}
end
