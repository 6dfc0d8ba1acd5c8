--[[
  The on-sale gate, checked by the holder operations before anything else
  (docs/onsale.md). Two checks, both of which change nothing when they refuse:

  - admission (hold-like scripts only): while the event has a waiting room
    (the `queue` hash has `on`), a holder may hold only while admitted (its
    score in the `admitted` sorted set, the admission's end in ms, is after
    now). Otherwise {'NOT_ADMITTED'}, or {'QUEUE_CLOSED'} when the room is
    closed (sold out or ended); an ended room refuses the admitted too.
    Admission expiry stops new holds only: release, extend and book do not
    ask.
  - the holder's token bucket for the event (every holder operation): field
    `holder` of the `rate` hash is "tokens:lastMs"; `burst` operations at once,
    `perSec` sustained, across all of the holder's connections and gateway
    nodes. Refused: {'RATE_LIMITED', {}, retryMs}. The hash expires once every
    bucket in it would be full again, which is the same as absent.

  An exempt caller (the box office, `seats:box-office`) skips both. gateArgs
  reads the three trailing arguments every gated script takes:
  exempt ('1'/'0'), perSec and burst ('' = no bucket).
]]

local function gateArgs(args, first)
  return {exempt = args[first] == '1', perSec = tonumber(args[first + 1]), burst = tonumber(args[first + 2])}
end

local function gateAdmission(queueKey, admittedKey, holder, now, g)
  if g.exempt then
    return nil
  end
  local q = redis.call('HMGET', queueKey, 'on', 'closed')
  if not q[1] then
    return nil
  end
  if q[2] == 'ENDED' then
    return {'QUEUE_CLOSED'}
  end
  local admittedUntil = tonumber(redis.call('ZSCORE', admittedKey, holder) or '0')
  if admittedUntil > now then
    return nil
  end
  if q[2] and q[2] ~= '' then
    return {'QUEUE_CLOSED'}
  end
  return {'NOT_ADMITTED'}
end

local function gateBucket(rateKey, holder, now, g)
  if g.exempt or not g.perSec or g.perSec <= 0 or not g.burst then
    return nil
  end
  local tokens, last = g.burst, now
  local raw = redis.call('HGET', rateKey, holder)
  if raw then
    local t, l = string.match(raw, '^([%d.]+):(%d+)$')
    if t then
      tokens, last = tonumber(t), tonumber(l)
    end
  end
  -- a clock that went back refills nothing
  tokens = math.min(g.burst, tokens + math.max(0, now - last) * g.perSec / 1000)
  if tokens < 1 then
    -- (less a hair of float error, so that 1.0000000001 ms is 1)
    return {'RATE_LIMITED', {}, math.max(1, math.ceil((1 - tokens) * 1000 / g.perSec - 1e-6))}
  end
  redis.call('HSET', rateKey, holder, string.format('%.3f:%d', tokens - 1, now))
  redis.call('PEXPIRE', rateKey, math.ceil(g.burst * 1000 / g.perSec) + 1000)
  return nil
end

-- Both checks for a hold-like operation: the refusal to return, or nil.
local function gate(keys, holder, now, g)
  return gateAdmission(keys.queue, keys.admitted, holder, now, g) or gateBucket(keys.rate, holder, now, g)
end
