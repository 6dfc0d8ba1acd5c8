--[[
  Where each of a list of subjects stands in an event's waiting room: what a
  gateway node pushes to its waiting sockets (qpos, admit, qclosed, qopen).

  Input:
    KEYS[1] queue
    KEYS[2] waiting
    KEYS[3] admitted

    ARGV[1] now (ms, '' = Redis clock)
    ARGV[2] subjects (JSON array of strings)

  Output:
    {'OK', 'none'}                                          no waiting room
    {'OK', 'room', settings, closed, waitingCount, places}  places: per subject two numbers,
        kind (0 waiting, 1 admitted, 2 neither) and value (the subjects ahead; the admission's end; 0)
]]
--- @include "includes/getNow"
--- @include "includes/readQueue"

local now = getNow(ARGV[1])
local q = readQueue(KEYS[1])
if not q then
  return {'OK', 'none'}
end
local places = {}
for _, subject in ipairs(cjson.decode(ARGV[2])) do
  local rank = redis.call('ZRANK', KEYS[2], subject)
  if rank then
    places[#places + 1] = 0
    places[#places + 1] = rank
  else
    local untilMs = tonumber(redis.call('ZSCORE', KEYS[3], subject) or '0')
    if untilMs > now then
      places[#places + 1] = 1
      places[#places + 1] = untilMs
    else
      places[#places + 1] = 2
      places[#places + 1] = 0
    end
  end
end
return {'OK', 'room', redis.call('HGET', KEYS[1], 'settings'), q.closed, redis.call('ZCARD', KEYS[2]), places}
