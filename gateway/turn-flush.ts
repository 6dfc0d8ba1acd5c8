/**
 * The end of an event-loop turn: what is queued for it (the sessions' queued
 * frames, gateway/session.ts) is flushed by one setImmediate, which runs
 * once the turn's I/O callbacks and their promise continuations are done:
 * everything one Redis read, one WebSocket frame or one timer led to. A turn
 * with one callback ends as soon as that callback is done, so nothing queued
 * waits for more than the rest of its own turn.
 */

export interface EndOfTurn {
  /** runs at the end of the turn it was queued in; an exception is its own to handle */
  flush(): void;
}

const queued = new Set<EndOfTurn>();
let scheduled = false;

/** Runs `item.flush()` at the end of this turn, once however often it is queued. */
export function atEndOfTurn(item: EndOfTurn): void {
  queued.add(item);
  if (scheduled) return;
  scheduled = true;
  setImmediate(flushAll);
}

function flushAll(): void {
  scheduled = false;
  const items = [...queued];
  queued.clear();
  for (const item of items) item.flush();
}
