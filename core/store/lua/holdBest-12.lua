--[[
  Best available: picks `n` seats (includes/bestAvailable) and holds them
  for a hold token, all or nothing, exactly as hold-12 holds named seats (the
  same token, holder, limit, accessible and orphan rules). The pick and the
  hold are one script: no concurrent call can hold a seat between them.
  (holdBestIndexed-13 also updates the sweep index, for a single Redis.)

  Input:
    KEYS[1] meta
    KEYS[2] status
    KEYS[3] seatHolds
    KEYS[4] tokens
    KEYS[5] expiry
    KEYS[6] holders
    KEYS[7] log
    KEYS[8] outbox
    KEYS[9] geometry
    KEYS[10] rate
    KEYS[11] queue
    KEYS[12] admitted

    ARGV[1] now (ms, '' = Redis clock)
    ARGV[2] holder
    ARGV[3] token
    ARGV[4] '1' to create the token, '0' to use an existing one
    ARGV[5] n, seats wanted
    ARGV[6] category ids, a JSON array ('' = any)
    ARGV[7] section ids, a JSON array ('' = any)
    ARGV[8] '1': adjacent seats in one row only; '0': else the best seats of one section
    ARGV[9] wheelchair seats wanted among the n (0 = none)
    ARGV[10] random seed for the tie-breaks (a positive integer)
    ARGV[11] '1' when the holder may take wheelchair seats (the accessible claim)
    ARGV[12] '1': exempt from the on-sale gate (the box office)
    ARGV[13] the holder's operations per second on the event ('' or 0 = no bucket)
    ARGV[14] the bucket's burst

  Output:
    {'OK', token, expiresAt, seq, {seats}, together}   together = 1 when adjacent in one row
    {'NO_EVENT'}
    {'BAD_REQUEST', {}, field}   field: layout (the event has none), n (outside
                                 1..maxSeatsPerToken), accessible (above n),
                                 categories or sections (an unknown id)
    {'NO_BLOCK', {}, largest}    nothing fits; largest: the biggest block that would
    {'EXPIRED'} {'NOT_HOLDER'} {'CONFLICT'} {'HOLD_LIMIT'}   as hold-12
    {'UNAVAILABLE', {}, 'accessible'}   wheelchair seats asked for without the claim
    and any refusal of hold-12 for the picked seats
    {'NOT_ADMITTED'}          the event has a waiting room and the holder is not admitted (includes/gate)
    {'QUEUE_CLOSED'}          the waiting room is closed (sold out, ended)
    {'RATE_LIMITED', {}, retryMs}  the holder's bucket on the event is empty
]]
--- @include "includes/holdBestSeats"
--- @include "includes/getNow"
--- @include "includes/gate"

-- the on-sale gate first (docs/onsale.md): a refusal there changes nothing
local refused = gate({rate = KEYS[10], queue = KEYS[11], admitted = KEYS[12]}, ARGV[2], getNow(ARGV[1]), gateArgs(ARGV, 12))
if refused then
  return refused
end

return holdBestSeats({meta = KEYS[1], status = KEYS[2], seatHolds = KEYS[3], tokens = KEYS[4],
  expiry = KEYS[5], holders = KEYS[6], log = KEYS[7], outbox = KEYS[8], geometry = KEYS[9]}, ARGV)
