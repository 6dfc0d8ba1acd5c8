--[[
  Best available: picks `n` seats (includes/bestAvailable) and holds them
  for a hold token, all or nothing, exactly as hold-9 holds named seats (the
  same token, holder, limit, accessible and orphan rules). The pick and the
  hold are one script: no concurrent call can hold a seat between them.
  (holdBestIndexed-10 also updates the sweep index, for a single Redis.)

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

  Output:
    {'OK', token, expiresAt, seq, {seats}, together}   together = 1 when adjacent in one row
    {'NO_EVENT'}
    {'BAD_REQUEST', {}, field}   field: layout (the event has none), n (outside
                                 1..maxSeatsPerToken), accessible (above n),
                                 categories or sections (an unknown id)
    {'NO_BLOCK', {}, largest}    nothing fits; largest: the biggest block that would
    {'EXPIRED'} {'NOT_HOLDER'} {'CONFLICT'} {'HOLD_LIMIT'}   as hold-9
    {'UNAVAILABLE', {}, 'accessible'}   wheelchair seats asked for without the claim
    and any refusal of hold-9 for the picked seats
]]
--- @include "includes/holdBestSeats"

return holdBestSeats({meta = KEYS[1], status = KEYS[2], seatHolds = KEYS[3], tokens = KEYS[4],
  expiry = KEYS[5], holders = KEYS[6], log = KEYS[7], outbox = KEYS[8], geometry = KEYS[9]}, ARGV)
