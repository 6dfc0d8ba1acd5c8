--[[
  Frees every seat of an expired token, deletes it and appends (seat, FREE)
  pairs to changes. A token that still held seats is reported to the outbox
  as a `hold.expired` record (kind, token, holder, seats, expiredAt, epoch),
  in the same script as the change, so the booking flusher commits it to the
  event log in Postgres (docs/bookings.md). keys: meta, status, seatHolds,
  tokens, expiry, holders, outbox. Its general-admission places go back to
  their areas (includes/gaAreas); a seat of a sales channel goes back to RESERVED
  (includes/channels).
]]
--- @include "includes/seats"
--- @include "includes/tokens"
--- @include "includes/gaAreas"
--- @include "includes/channels"
--- @include "includes/appendOutbox"

local function freeToken(keys, token, t, changes)
  local freed = {}
  for _, seat in ipairs(t.s) do
    if redis.call('HGET', keys.seatHolds, seat) == token then
      redis.call('HDEL', keys.seatHolds, seat)
      freeSeat(keys.meta, keys.status, seat, changes)
      freed[#freed + 1] = seat
    end
  end
  addHolderSeats(keys.holders, t.h, -(#t.s + gaTokenTotal(t)))
  gaFreeToken(keys.meta, t)
  deleteToken(keys.tokens, keys.expiry, token)
  if #freed > 0 then
    appendOutbox(keys.outbox, {'kind', 'hold.expired', 'token', token, 'holder', t.h,
      'seats', cjson.encode(freed), 'expiredAt', t.e, 'epoch', redis.call('HGET', keys.meta, 'epoch')})
  end
end
