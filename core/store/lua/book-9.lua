--[[
  Books every seat of a hold token and appends a booking record to the outbox.
  Idempotent on the client's key: the same key with the same token returns the
  first booking again without change; with another token it is a CONFLICT.
  A key whose booking the durable store refused (voidBooking-6.lua marked its
  record) answers that refusal again, for good.

  Input:
    KEYS[1] meta
    KEYS[2] status
    KEYS[3] seatHolds
    KEYS[4] tokens
    KEYS[5] expiry
    KEYS[6] holders
    KEYS[7] log
    KEYS[8] outbox
    KEYS[9] bookings

    ARGV[1] now (ms, '' = Redis clock)
    ARGV[2] holder
    ARGV[3] token
    ARGV[4] idempotency key
    ARGV[5] booking id (used only when a new booking is made)

  Output:
    {'OK', bookingId, seq, {seats}, replayed, payBy, {area, qty, ...}}
                      replayed = 1 for an earlier booking returned again; payBy 0 but for
                      an earlier booking made by checkout; the token's general-admission
                      places booked, ascending by area (empty for none)
    {'NO_EVENT'}
    {'CONFLICT'}      the key was used for another token or holder
    {'REFUSED'}       the key's booking was refused by the durable store (seats released)
    {'EXPIRED'}       the token is unknown or expired; or the key's booking was void (its
                      event was rebuilt from Postgres before the booking was committed)
    {'NOT_HOLDER'}
    {'BAD_REQUEST'}   the token holds no seats
    {'INTERNAL'}      a token seat is not held by it (never expected)
]]
--- @include "includes/bookToken"

local keys = {meta = KEYS[1], status = KEYS[2], seatHolds = KEYS[3], tokens = KEYS[4],
  expiry = KEYS[5], holders = KEYS[6], log = KEYS[7], outbox = KEYS[8], bookings = KEYS[9]}
return bookHold(keys, ARGV, 'book', nil)
