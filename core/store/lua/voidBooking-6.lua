--[[
  Settles an outbox entry the durable store (Postgres) refused for good, all
  in one step: the entry moves to the dead-letter stream and is acknowledged
  and deleted from the outbox, and its booking is voided in the seat map: its
  seats that are still BOOKED turn FREE with one change-log entry (`op`
  `void`), so every watcher sees them free, and its idempotency record is
  marked refused, so a retried `book` with the same key gets a final answer.

  Seats are freed only when all of these hold: the entry's booking id, key and
  epoch are read from the entry itself; the key's record is that booking's and
  neither cancelled nor refused before; the event is still at the entry's
  epoch (a rebuilt event came from Postgres, which never had the booking);
  the seat is in the record, in ARGV[4] (seats Postgres holds for no other
  booking), and BOOKED. An entry no longer pending in the group (settled by
  another flusher, or its outbox gone) changes nothing, so the script is
  idempotent, and a voided entry is never delivered again.

  Input:
    KEYS[1] meta
    KEYS[2] status
    KEYS[3] log
    KEYS[4] bookings
    KEYS[5] outbox
    KEYS[6] deadLetters

    ARGV[1] now (ms, '' = Redis clock)
    ARGV[2] consumer group of the outbox
    ARGV[3] entry id
    ARGV[4] seats that may be freed, comma-separated (those Postgres holds for no other booking)
    ARGV[5] answer for a retried book: REFUSED, or EXPIRED (the event was rebuilt)
    ARGV[6] error, for the dead letter
    ARGV[7] code, for the dead letter (SQLSTATE, STALE_EPOCH or '')
    ARGV[8] consumer, for the dead letter

  Output:
    {'OK', settled, marked, freed, seq}   settled = 1 when the entry was moved
                                          and acknowledged, 0 when it was not
                                          pending; marked = 1 when the record
                                          was marked; freed = seats set free;
                                          seq = the event's seq (0 without event)
    {'BAD_REQUEST'}   an answer other than REFUSED or EXPIRED
]]
--- @include "includes/getNow"
--- @include "includes/readMeta"
--- @include "includes/seats"
--- @include "includes/appendChange"
--- @include "includes/gaAreas"
--- @include "includes/channels"

local keys = {meta = KEYS[1], status = KEYS[2], log = KEYS[3], bookings = KEYS[4],
  outbox = KEYS[5], deadLetters = KEYS[6]}
local now = getNow(ARGV[1])
local group, entryId, answer = ARGV[2], ARGV[3], ARGV[5]
if answer ~= 'REFUSED' and answer ~= 'EXPIRED' then
  return {'BAD_REQUEST'}
end

local meta = readMeta(keys.meta)
local seq = meta and meta.seq or 0
-- A group or outbox that is gone (the event deleted) makes XPENDING fail: nothing is pending then.
local pending = redis.pcall('XPENDING', keys.outbox, group, entryId, entryId, 1)
if type(pending) ~= 'table' or pending.err or #pending == 0 then
  return {'OK', 0, 0, 0, seq}
end

local fields = {}
local entry = redis.call('XRANGE', keys.outbox, entryId, entryId)[1]
if entry then
  fields = entry[2]
end
local f = {}
for i = 1, #fields - 1, 2 do
  f[fields[i]] = fields[i + 1]
end

local record
if f.key and f.id then
  local raw = redis.call('HGET', keys.bookings, f.key)
  if raw then
    record = cjson.decode(raw)
    if record.id ~= f.id or record.x == 1 or record.r then
      record = nil
    end
  end
end

local changes = {}
if record and meta and tonumber(f.epoch) == meta.epoch and type(record.s) == 'table' then
  local allowed = {}
  for part in string.gmatch(ARGV[4], '[^,]+') do
    allowed[tonumber(part)] = true
  end
  for _, seat in ipairs(record.s) do
    if allowed[seat] and seat >= 0 and seat < meta.seats and getSeatState(keys.status, seat) == BOOKED then
      changes[#changes + 1] = seat
      changes[#changes + 1] = freedState(keys.meta, seat)
    end
  end
end

-- All checks done: from here on everything is applied.
local dead = {}
for i = 1, #fields do
  dead[i] = fields[i]
end
for _, v in ipairs({'entry', entryId, 'error', ARGV[6], 'code', ARGV[7], 'consumer', ARGV[8]}) do
  dead[#dead + 1] = v
end
redis.call('XADD', keys.deadLetters, '*', unpack(dead))
redis.call('XACK', keys.outbox, group, entryId)
redis.call('XDEL', keys.outbox, entryId)
if record then
  record.r = answer
  -- the refused booking's general-admission places are no longer booked
  if meta and tonumber(f.epoch) == meta.epoch then
    gaUnbook(keys.meta, record)
  end
  redis.call('HSET', keys.bookings, f.key, cjson.encode(record))
end
for i = 1, #changes, 2 do
  setSeatState(keys.status, changes[i], changes[i + 1])
end
if #changes > 0 or gaAnyTouched() then
  seq = appendChange(keys.meta, keys.log, meta, 'void', changes, now)
end
return {'OK', 1, record and 1 or 0, #changes / 2, seq}
