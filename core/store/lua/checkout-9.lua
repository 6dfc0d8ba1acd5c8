--[[
  Checkout: turns every seat of a hold token into a booking awaiting payment.
  The same step as book-9.lua (the seats turn BOOKED, the token is used up, a
  booking record goes to the outbox), but the record says `pending_payment`
  and carries `payBy` = now + the event's payment window, so the flusher
  commits it in that state; Postgres decides what happens at payBy. The
  seats stay BOOKED for every watcher until Postgres says otherwise: no hold
  TTL applies to them, and the client cannot release or extend them.
  Idempotent on the client's key exactly as book-9.lua (a key names one
  booking, whichever of book and checkout made it).

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
    ARGV[6] payment window (ms) for an event whose meta has no paymentWindowMs

  Output:
    {'OK', bookingId, seq, {seats}, replayed, payBy, {area, qty, ...}}
                      replayed = 1 for an earlier booking returned again; payBy = 0 for an
                      earlier booking made by book; the token's general-admission places
                      booked, ascending by area (empty for none)
    {'NO_EVENT'}
    {'CONFLICT'}      the key was used for another token or holder
    {'REFUSED'}       the key's booking was refused by the durable store (seats released)
    {'EXPIRED'}       the token is unknown or expired; or the key's booking was void (its
                      event was rebuilt from Postgres before the booking was committed)
    {'NOT_HOLDER'}
    {'BAD_REQUEST'}   the token holds no seats, or a bad payment window
    {'INTERNAL'}      a token seat is not held by it (never expected)
]]
--- @include "includes/bookToken"

local keys = {meta = KEYS[1], status = KEYS[2], seatHolds = KEYS[3], tokens = KEYS[4],
  expiry = KEYS[5], holders = KEYS[6], log = KEYS[7], outbox = KEYS[8], bookings = KEYS[9]}
-- the event's own window, else the gateway's default
return bookHold(keys, ARGV, 'checkout', function(metaKey)
  return tonumber(redis.call('HGET', metaKey, 'paymentWindowMs') or ARGV[6])
end)
