--[[
  The step book-9 and checkout-9 share: answer a key seen before, check the
  token, then turn every seat (and general-admission place) of the token BOOKED
  and use the token up.
  keys: meta, status, seatHolds, tokens, expiry, holders, bookings.

  replayBooking(keys, key, token, holder) -> nil for a new key, else the
    reply for the key's earlier booking: {'OK', id, seq, seats, 1, payBy}
    (payBy = 0 for a booking made by book), {'REFUSED'}, {'EXPIRED'} or
    {'CONFLICT'} when the key was used for another token or holder.
  bookToken(keys, token, holder, now) -> tok, changes on success (the token
    record as it was, and (seat, BOOKED) pairs for appendChange), or nil and
    the refusal: {'EXPIRED'}, {'NOT_HOLDER'}, {'BAD_REQUEST'} (no seats) or
    {'INTERNAL'} (a token seat not held by it: never expected). Checks come
    before the first write, so a refusal changes nothing.
  bookHold(keys, args, op, paymentWindow) -> the whole of book-9 / checkout-9
    (keys also: log, outbox; args: their ARGV): the booking record goes to the
    outbox and the key's record, with state `pending_payment` and payBy when
    paymentWindow (a function of the meta key returning the window in ms, or
    nil for a bad one) is given. Its reply is the script's.
]]
--- @include "includes/getNow"
--- @include "includes/readMeta"
--- @include "includes/seats"
--- @include "includes/tokens"
--- @include "includes/gaAreas"
--- @include "includes/appendChange"
--- @include "includes/appendOutbox"

local function replayBooking(keys, key, token, holder)
  local earlier = redis.call('HGET', keys.bookings, key)
  if not earlier then
    return nil
  end
  local b = cjson.decode(earlier)
  if b.tok ~= token or b.h ~= holder then
    return {'CONFLICT'}
  end
  if b.r == 'REFUSED' then
    return {'REFUSED'}
  elseif b.r == 'EXPIRED' then
    return {'EXPIRED'}
  end
  return {'OK', b.id, b.seq, b.s, 1, b.p or 0, placeList(gaPlacesBooked(b))}
end

local function bookToken(keys, token, holder, now)
  local tok, refusal = holderToken(keys.tokens, token, holder, now)
  if not tok then
    return nil, refusal
  end
  if #tok.s == 0 and gaTokenTotal(tok) == 0 then
    return nil, {'BAD_REQUEST'}
  end
  for _, seat in ipairs(tok.s) do
    if redis.call('HGET', keys.seatHolds, seat) ~= token or getSeatState(keys.status, seat) ~= HELD then
      return nil, {'INTERNAL'}
    end
  end

  local changes = {}
  for _, seat in ipairs(tok.s) do
    redis.call('HDEL', keys.seatHolds, seat)
    setSeatState(keys.status, seat, BOOKED)
    changes[#changes + 1] = seat
    changes[#changes + 1] = BOOKED
  end
  deleteToken(keys.tokens, keys.expiry, token)
  addHolderSeats(keys.holders, holder, -(#tok.s + gaTokenTotal(tok)))
  -- the token's general-admission places turn booked; tok.g stays as it was, for the booking record
  gaBookToken(keys.meta, tok)
  return tok, changes
end

local function bookHold(keys, args, op, paymentWindow)
  local now = getNow(args[1])
  local holder, token, key, bookingId = args[2], args[3], args[4], args[5]
  local meta = readMeta(keys.meta)
  if not meta then
    return {'NO_EVENT'}
  end
  local payBy
  if paymentWindow then
    local window = paymentWindow(keys.meta)
    if not window or window <= 0 then
      return {'BAD_REQUEST'}
    end
    payBy = now + window
  end

  local replay = replayBooking(keys, key, token, holder)
  if replay then
    return replay
  end
  local tok, changes = bookToken(keys, token, holder, now)
  if not tok then
    return changes
  end

  local seq = appendChange(keys.meta, keys.log, meta, op, changes, now)
  local entry = {'id', bookingId, 'key', key, 'holder', holder, 'token', token, 'seats', cjson.encode(tok.s),
    'ga', gaBookedJson(tok), 'seq', seq, 'epoch', meta.epoch, 'at', now}
  local record = {id = bookingId, tok = token, h = holder, s = tok.s, g = gaPlacesOf(tok), seq = seq, at = now}
  if payBy then
    entry[#entry + 1] = 'state'
    entry[#entry + 1] = 'pending_payment'
    entry[#entry + 1] = 'payBy'
    entry[#entry + 1] = payBy
    record.p = payBy
  end
  appendOutbox(keys.outbox, entry)
  redis.call('HSET', keys.bookings, key, cjson.encode(record))
  return {'OK', bookingId, seq, tok.s, 0, payBy or 0, placeList(record.g)}
end
