--[[
  Frees every seat of a token, deletes it and appends (seat, FREE) pairs to
  changes. keys: status, seatHolds, tokens, expiry, holders.
]]
--- @include "includes/seats"
--- @include "includes/tokens"

local function freeToken(keys, token, t, changes)
  for _, seat in ipairs(t.s) do
    if redis.call('HGET', keys.seatHolds, seat) == token then
      redis.call('HDEL', keys.seatHolds, seat)
      setSeatState(keys.status, seat, FREE)
      changes[#changes + 1] = seat
      changes[#changes + 1] = FREE
    end
  end
  addHolderSeats(keys.holders, t.h, -#t.s)
  deleteToken(keys.tokens, keys.expiry, token)
end
