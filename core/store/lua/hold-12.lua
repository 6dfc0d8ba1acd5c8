--[[
  Holds a list of seats for a hold token, all or nothing. (holdIndexed-13 is
  the same operation that also updates the sweep index, for a single Redis.)

  A new token (ARGV[4] = '1') is created bound to the holder; an existing token
  must belong to the holder and be live. Seats already held by the token are
  accepted again without change. Seats held by tokens whose time has passed but
  that the sweeper has not reached yet count as free: on success those tokens
  are expired in the same change-log entry, and each is reported to the
  outbox as a `hold.expired` record (includes/freeToken); on rejection
  nothing changes.
  Adding seats slides the token's expiry (never past its maximum lifetime).

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
    ARGV[5] seats, comma-separated indexes
    ARGV[6] '1' when the holder may take wheelchair seats (the accessible claim)
    ARGV[7] '1': exempt from the on-sale gate (the box office)
    ARGV[8] the holder's operations per second on the event ('' or 0 = no bucket)
    ARGV[9] the bucket's burst
    ARGV[10] general-admission quantities "area:qty,..." held with the seats ('' or absent = none;
             with them the seat list may be empty)
    ARGV[11] the holder's sales-channel keys, comma-separated ('' = none): RESERVED seats of
             those channels may be held (includes/channels); the box office (ARGV[7]) may hold any

  Output:
    {'OK', token, expiresAt, seq}
    {'NO_EVENT'}
    {'BAD_REQUEST'}           malformed or empty seat list
    {'BAD_SEAT', {seats}}     out of range or duplicated
    {'EXPIRED'}               token unknown or expired
    {'NOT_HOLDER'}            token bound to another holder
    {'CONFLICT'}              a token to create already exists
    {'UNAVAILABLE', {seats}}  seats held by others, booked or blocked
    {'UNAVAILABLE', {seats}, 'channel'}  seats reserved for a sales channel the holder has no key of
    {'UNAVAILABLE', {}, 'ga', {areas}, {left}}  areas without room for the quantity asked: held +
                              booked + blocked + qty > capacity; left = the places still free in each
    {'BAD_REQUEST', {}, 'ga'} a malformed quantity list, a quantity outside 1..1000, an area named twice
                              or one the event does not have
    {'HOLD_LIMIT'}            too many seats (and general-admission places) for the token or the holder
    {'UNAVAILABLE', {seats}, 'accessible'}  protected wheelchair seats, without the claim
    {'BAD_REQUEST', {seats}, 'companion'}   companion seats without enough wheelchair seats in the token
    {'ORPHAN_SEAT', {seats}}  the seats the hold would strand (includes/strandedSeats)
    {'NOT_ADMITTED'}          the event has a waiting room and the holder is not admitted (includes/gate)
    {'QUEUE_CLOSED'}          the waiting room is closed (sold out, ended)
    {'RATE_LIMITED', {}, retryMs}  the holder's bucket on the event is empty
]]
--- @include "includes/holdSeats"
--- @include "includes/getNow"
--- @include "includes/gate"

-- the on-sale gate first (docs/onsale.md): a refusal there changes nothing
local refused = gate({rate = KEYS[10], queue = KEYS[11], admitted = KEYS[12]}, ARGV[2], getNow(ARGV[1]), gateArgs(ARGV, 7))
if refused then
  return refused
end

return holdSeats({meta = KEYS[1], status = KEYS[2], seatHolds = KEYS[3], tokens = KEYS[4],
  expiry = KEYS[5], holders = KEYS[6], log = KEYS[7], outbox = KEYS[8]}, ARGV,
  {geometry = KEYS[9], accessible = ARGV[6] == '1', chan = channelSet(ARGV[11]), exempt = ARGV[7] == '1'}, ARGV[10])
