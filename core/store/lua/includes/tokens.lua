--[[
  Hold tokens: tokens hash (token -> JSON), expiry sorted set, holders counts.
  A token record is {h = holder, s = {seats}, c = createdAt, e = expiresAt}.
]]
local function loadToken(tokensKey, token)
  local raw = redis.call('HGET', tokensKey, token)
  if not raw then
    return nil
  end
  local t = cjson.decode(raw)
  -- cjson decodes an empty array as an empty object; both are an empty Lua table.
  if type(t.s) ~= 'table' then
    t.s = {}
  end
  return t
end

-- The holder's live token: tok, or nil and the refusal, {'EXPIRED'} for an unknown token or one past
-- its expiry, notHolder ({'NOT_HOLDER'} by default) for another holder's. Changes nothing.
local function holderToken(tokensKey, token, holder, now, notHolder)
  local tok = loadToken(tokensKey, token)
  if not tok or tok.e <= now then
    return nil, {'EXPIRED'}
  end
  if tok.h ~= holder then
    return nil, notHolder or {'NOT_HOLDER'}
  end
  return tok
end

-- The refusal {'NOT_HOLDER', seats} naming the seats `token` does not hold, or nil when it holds them all.
local function notHeldRefusal(seatHoldsKey, token, seats)
  local notHeld = {}
  for _, seat in ipairs(seats) do
    if redis.call('HGET', seatHoldsKey, seat) ~= token then
      notHeld[#notHeld + 1] = seat
    end
  end
  if #notHeld > 0 then
    return {'NOT_HOLDER', notHeld}
  end
  return nil
end

local function saveToken(tokensKey, expiryKey, token, t)
  redis.call('HSET', tokensKey, token, cjson.encode(t))
  redis.call('ZADD', expiryKey, t.e, token)
end

local function deleteToken(tokensKey, expiryKey, token)
  redis.call('HDEL', tokensKey, token)
  redis.call('ZREM', expiryKey, token)
end

local function addHolderSeats(holdersKey, holder, delta)
  if delta == 0 then
    return
  end
  local n = redis.call('HINCRBY', holdersKey, holder, delta)
  if n <= 0 then
    redis.call('HDEL', holdersKey, holder)
  end
end

-- The sliding expiry: ttl from now, never past the token's maximum total lifetime.
local function slidingExpiry(t, now, meta)
  return math.min(now + meta.holdTtlMs, t.c + meta.maxHoldLifetimeMs)
end
