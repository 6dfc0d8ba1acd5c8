/**
 * Names and payloads the durable side shares with its listeners: the Postgres
 * channels flushers notify on, the dead-letter code of a void booking, and
 * the NOTIFY payload format. The flusher writes them, the commit watcher and
 * the gateway read them; neither of those needs the flusher itself.
 */

/** The Postgres channel every flusher notifies, inside its transaction, of the bookings it committed. */
export const COMMIT_CHANNEL = 'seatmap_booking_commits';

/** The Postgres channel every flusher notifies of the bookings it refused for good, once Redis has voided them. */
export const REFUSAL_CHANNEL = 'seatmap_booking_refusals';

/** The dead-letter code of a booking made in Redis before its event was rebuilt from Postgres. */
export const STALE_EPOCH = 'STALE_EPOCH';

/** The refusal code of an outbox entry that is not a well-formed booking (it never reached Postgres). */
export const MALFORMED = 'MALFORMED';

/** Postgres refuses NOTIFY payloads of 8000 bytes or more. */
const NOTIFY_PAYLOAD_MAX = 7900;

/** `id value` pairs joined by commas, cut to stay under Postgres's NOTIFY payload limit. */
function pairPayloads(pairs: Iterable<readonly [string, string]>): string[] {
  const payloads: string[] = [];
  let current = '';
  for (const [id, value] of pairs) {
    const item = `${id} ${value}`;
    if (current.length > 0 && current.length + 1 + item.length > NOTIFY_PAYLOAD_MAX) {
      payloads.push(current);
      current = '';
    }
    current = current.length > 0 ? `${current},${item}` : item;
  }
  if (current.length > 0) payloads.push(current);
  return payloads;
}

function parsePairs(payload: string): Map<string, string> {
  const out = new Map<string, string>();
  for (const item of payload.split(',')) {
    const space = item.indexOf(' ');
    if (space > 0) out.set(item.slice(0, space), item.slice(space + 1));
  }
  return out;
}

/** The COMMIT_CHANNEL payloads for committed bookings: `id reference` pairs. */
export function notificationPayloads(committed: Iterable<{ id: string; reference: string }>): string[] {
  return pairPayloads([...committed].map((c) => [c.id, c.reference] as const));
}

/** Parses one payload of notificationPayloads(): booking id -> reference. */
export function parseNotification(payload: string): Map<string, string> {
  return parsePairs(payload);
}

/** The REFUSAL_CHANNEL payloads for refused bookings: `id code` pairs (code: SQLSTATE, STALE_EPOCH or MALFORMED). */
export function refusalPayloads(refused: Iterable<{ id: string; code: string }>): string[] {
  return pairPayloads([...refused].map((r) => [r.id, r.code] as const));
}

/** Parses one payload of refusalPayloads(): booking id -> code. */
export function parseRefusals(payload: string): Map<string, string> {
  return parsePairs(payload);
}
