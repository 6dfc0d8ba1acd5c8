/**
 * One buyer of an on-sale with the waiting room on (docs/onsale.md), as pure
 * decisions shared by the k6 `queue` scenario (loadtest/lib/scenarios/queue.js)
 * and the Node benchmark (bench/onsale.ts): who skips the queue on purpose,
 * how many seats, whether the hold is booked or abandoned, which seats, and
 * which refusals are the documented ones. No I/O, no Node or k6 API.
 */

/** Refusals an on-sale documents: a seat another was first to, no block left that fits, the waiting room, a bucket. */
export const DOCUMENTED_REFUSALS = ['UNAVAILABLE', 'NO_BLOCK', 'ORPHAN_SEAT', 'NOT_ADMITTED', 'QUEUE_CLOSED', 'RATE_LIMITED', 'HOLD_LIMIT', 'CONFLICT'];

/**
 * The hold an admitted buyer sends: best available for `n` seats (the
 * store picks them, docs/store.md#best-available); after NO_BLOCK the buyer
 * asks again for one seat fewer.
 * @param {string} ev @param {number} n
 */
export function bestHold(ev, n) {
  return { t: /** @type {'hold'} */ ('hold'), ev, best: { n } };
}

/**
 * The buyer's plan, drawn once.
 * @param {() => number} random [0, 1)
 * @param {{ skipShare: number, bookShare: number, maxSeats: number }} cfg
 */
export function buyerPlan(random, cfg) {
  return {
    /** tries a hold before joining the queue (must get NOT_ADMITTED) */
    skipper: random() < cfg.skipShare,
    /** seats wanted, 1..maxSeats */
    want: 1 + Math.floor(random() * cfg.maxSeats),
    /** books the hold; otherwise abandons it (releases it) */
    books: random() < cfg.bookShare,
  };
}

/**
 * `want` adjacent free seats (fewer where the run ends) from a random free
 * seat of the map; [] when the map shows none free.
 * @param {Uint8Array} status one byte per seat, 0 free
 * @param {number} want
 * @param {() => number} random
 */
export function chooseSeats(status, want, random) {
  const n = status.length;
  if (n === 0) return [];
  const start = Math.floor(random() * n);
  for (let k = 0; k < n; k++) {
    const first = (start + k) % n;
    if (status[first] !== 0) continue;
    const seats = [first];
    for (let s = first + 1; seats.length < want && s < n && status[s] === 0; s++) seats.push(s);
    return seats;
  }
  return [];
}

/** Whether an `err` code is one of the documented refusals (not an error of the run). */
export function isDocumentedRefusal(code) {
  return DOCUMENTED_REFUSALS.includes(code);
}
