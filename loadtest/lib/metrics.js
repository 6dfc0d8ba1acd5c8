/**
 * Every metric the scenarios record, with its kind. k6 creates them from this
 * list (loadtest/k6/platform.js); the Node runner aggregates them the same way.
 */
export const METRICS = {
  /** operation sent → the diff carrying its change applied on a watching connection, ms */
  seat_update_delay: 'trend',
  /** operation sent → its reply, ms (tag op) */
  op_latency: 'trend',
  /** socket opened → hello, ms */
  ws_connect_time: 'trend',
  /** connection dropped → resubscribed with epoch+seq, ms */
  resume_time: 'trend',
  /** share of operations refused because of other clients' seats (CONFLICT_CODES below; NO_BLOCK is neither this nor an error) */
  op_conflicts: 'rate',
  /** share of connections and operations that failed unexpectedly */
  errors: 'rate',
  /** diffs applied, and seat changes in them */
  diffs: 'counter',
  seat_updates: 'counter',
  /** diffs that started past the client's seq (a change was lost) or came from another epoch */
  diff_gaps: 'counter',
  /** diffs that ended at or before the client's seq (a change came twice) */
  diff_duplicates: 'counter',
  /** requests refused as RATE_LIMITED (backed off and retried; not an error) */
  rate_limited: 'counter',
  ops: 'counter',
  seats_booked: 'counter',
  /** kiosk: seats best available picked and held; kiosks that found nothing left (NO_BLOCK) */
  seats_held_best: 'counter',
  sold_out: 'counter',
  /** onsale: seats added to a hold because ORPHAN_SEAT said it would strand them */
  orphan_seats_added: 'counter',
  /** queue: buyers admitted by the waiting room, and their wait from joining to admission, ms */
  queue_admitted: 'counter',
  queue_wait: 'trend',
  /** queue: share of queue-skipping holds refused NOT_ADMITTED (must be all while a waiting room is on) */
  skip_refused: 'rate',
  /** hold tokens a client still had when the run ended, released then (a run leaves no seat held) */
  holds_released_at_end: 'counter',
  /** catch-up a resuming client was served */
  resumed_by_diff: 'counter',
  resumed_by_snap: 'counter',
  resumed_current: 'counter',
};

/** Refusals that come from other clients' seats, not from a failure: taken first (UNAVAILABLE, CONFLICT), or a single seat the pick would strand beside theirs (ORPHAN_SEAT; a buyer picks again). */
export const CONFLICT_CODES = ['UNAVAILABLE', 'CONFLICT', 'ORPHAN_SEAT'];

/** Nothing that fits is left (NO_BLOCK): the end of a sale, which a scenario counts itself (kiosk: sold_out); neither a conflict nor an error. */
export const SOLD_OUT_CODES = ['NO_BLOCK'];

/** Thresholds every scenario shares (k6 syntax; the Node runner evaluates the same strings). */
export const COMMON_THRESHOLDS = {
  errors: ['rate<0.01'],
  diff_gaps: ['count==0'],
  diff_duplicates: ['count==0'],
  checks: ['rate>0.99'],
};
