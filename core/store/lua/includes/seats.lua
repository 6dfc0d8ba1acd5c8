--[[
  Seat states and the status byte-string (one byte per seat).
]]
local FREE, HELD, BOOKED, BLOCKED = 0, 1, 2, 3

local function getSeatState(statusKey, seat)
  return string.byte(redis.call('GETRANGE', statusKey, seat, seat))
end

local function setSeatState(statusKey, seat, state)
  redis.call('SETRANGE', statusKey, seat, string.char(state))
end
