/**
 * A protocol v1 client for load scenarios, event-driven (no async/await, so
 * older k6 runtimes run it too): hello and limits, requests matched by rid
 * with a timeout, one SeatView per watched event with every diff's continuity
 * checked, a client-side token bucket, the metrics of each operation, and the
 * hold tokens it has live, released when the run ends (a load run leaves no
 * seat held behind it).
 */
import { SeatView, decode, encode } from '../k6/vendor/protocol.js';
import { CONFLICT_CODES, SOLD_OUT_CODES } from './metrics.js';

/** Arrival times of the last frames per event, to time an operation whose diff came before its reply. */
const ARRIVALS_KEPT = 64;
/** per-frame counters (diffs, seat_updates) are added up here and recorded this often: a k6 metric sample per frame per VU costs more than the frame */
const COUNTS_EVERY_MS = 1000;

/**
 * @typedef {import('./platform.js').Platform} Platform
 * @typedef {Record<string, any>} Message
 * @typedef {(reply: Message) => void} ReplyHandler
 */

export class LoadClient {
  /**
   * @param {Platform} platform
   * @param {{ url: string, requestTimeoutMs: number }} cfg
   * @param {string | null} token
   * @param {{ onReady: (client: LoadClient) => void, onClose?: (code: number, expected: boolean) => void, onAdvance?: (ev: string, seq: number, at: number) => void, onPush?: (m: Message) => void }} handlers
   */
  constructor(platform, cfg, token, handlers) {
    this.platform = platform;
    this.cfg = cfg;
    this.handlers = handlers;
    /** @type {Record<string, number>} */
    this.limits = { opsPerSecond: 50, opsBurst: 100 };
    /** @type {Record<string, SeatView>} kept across reconnects: resumes start from here */
    this.views = {};
    /** @type {Record<string, { seq: number, sentAt: number }[]>} operations whose change is not in the view yet */
    this.awaitingSeq = {};
    /** @type {Record<string, { at: number, seqs: number[], times: number[] }>} ring of (to, arrivedAt) of recent frames */
    this.arrivals = {};
    /** diffs and seat updates not yet recorded (see COUNTS_EVERY_MS) */
    this.unrecorded = { diffs: 0, seatUpdates: 0, since: platform.now() };
    /** @type {Record<string, string>} kind of the last catch-up frame (snap / diff) per event, for resume stats */
    this.lastCatchUp = {};
    /** @type {Record<string, boolean>} events with a repair sub in flight: duplicates are expected then */
    this.repairing = {};
    /** @type {Record<string, { done: ReplyHandler, timer: unknown }>} */
    this.pending = {};
    /** @type {Record<string, string>} live hold tokens (token -> event): held and not yet booked or released */
    this.holds = {};
    this.nextRid = 1;
    this.tokens = 0;
    this.refilledAt = platform.now();
    this.open = false;
    this.closing = false;
    /** set at the run's end: requests not yet sent are dropped */
    this.stopping = false;
    this.token = token;
    this.platform.count('diff_gaps', 0);
    this.platform.count('diff_duplicates', 0);
    this.connect();
  }

  connect() {
    const startedAt = this.platform.now();
    this.closing = false;
    this.helloSeen = false;
    this.socket = this.platform.connect(this.cfg.url, this.token, {
      onOpen: () => {},
      onMessage: (frame) => this.receive(frame, startedAt),
      onClose: (code) => this.closed(code),
      onError: () => {},
    });
  }

  /** @param {Uint8Array} frame @param {number} startedAt */
  receive(frame, startedAt) {
    let m;
    try {
      m = /** @type {Message} */ (decode(frame));
    } catch (err) {
      this.platform.rate('errors', true, { what: 'frame' });
      return;
    }
    switch (m.t) {
      case 'hello':
        this.open = true;
        this.helloSeen = true;
        this.limits = m.limits;
        this.tokens = m.limits.opsBurst;
        this.refilledAt = this.platform.now();
        this.platform.trend('ws_connect_time', this.platform.now() - startedAt);
        this.platform.rate('errors', false, { what: 'connect' });
        this.platform.check('hello received', true);
        this.handlers.onReady(this);
        break;
      case 'snap':
        this.viewOf(m.ev).applySnap(m);
        this.lastCatchUp[m.ev] = 'snap';
        this.advanced(m.ev, m.seq);
        break;
      case 'diff':
        this.applyDiff(m);
        break;
      case 'ok':
      case 'err':
      case 'pong': {
        const waiting = m.rid === null ? undefined : this.pending[m.rid];
        if (waiting) {
          delete this.pending[m.rid];
          this.platform.clearTimeout(waiting.timer);
          waiting.done(m);
        } else if (m.t === 'err' && m.ev) {
          this.platform.rate('errors', true, { what: 'event' }); // the event went away under us
        }
        break;
      }
      default:
        // pushes a scenario may listen for: qpos, admit, qclosed, qopen, tok, tokend
        if (this.handlers.onPush) this.handlers.onPush(m);
    }
  }

  /** @param {Message} d */
  applyDiff(d) {
    const view = this.views[d.ev];
    if (!view) return; // not watched (an unsub's leftovers)
    const outcome = view.applyDiff(d);
    if (outcome === 'applied') {
      const unrecorded = this.unrecorded;
      unrecorded.diffs++;
      unrecorded.seatUpdates += d.ch.length / 2;
      this.lastCatchUp[d.ev] = 'diff';
      this.advanced(d.ev, d.to);
    } else if (outcome === 'duplicate') {
      if (!this.repairing[d.ev]) this.platform.count('diff_duplicates', 1);
    } else if (outcome === 'gap' || outcome === 'epoch') {
      this.platform.count('diff_gaps', 1);
      this.repair(d.ev, outcome === 'epoch');
    }
  }

  /** The view of `ev` reached `seq`: time the operations waiting for it. @param {string} ev @param {number} seq */
  advanced(ev, seq) {
    const now = this.platform.now();
    const ring = this.arrivals[ev] || (this.arrivals[ev] = { at: 0, seqs: [], times: [] });
    ring.seqs[ring.at] = seq;
    ring.times[ring.at] = now;
    ring.at = (ring.at + 1) % ARRIVALS_KEPT;
    if (now - this.unrecorded.since >= COUNTS_EVERY_MS) this.recordCounts(now);
    if (this.handlers.onAdvance) this.handlers.onAdvance(ev, seq, now);
    const waiting = this.awaitingSeq[ev];
    if (!waiting || waiting.length === 0) return;
    let kept = 0;
    for (let i = 0; i < waiting.length; i++) {
      const w = waiting[i];
      if (w.seq > seq) waiting[kept++] = w;
      else this.platform.trend('seat_update_delay', now - w.sentAt);
    }
    waiting.length = kept;
  }

  /** Records the diffs and seat updates added up since the last time. @param {number} now */
  recordCounts(now) {
    const unrecorded = this.unrecorded;
    if (unrecorded.diffs > 0) {
      this.platform.count('diffs', unrecorded.diffs);
      this.platform.count('seat_updates', unrecorded.seatUpdates);
    }
    unrecorded.diffs = 0;
    unrecorded.seatUpdates = 0;
    unrecorded.since = now;
  }

  /** @param {string} ev */
  viewOf(ev) {
    return this.views[ev] || (this.views[ev] = new SeatView());
  }

  /**
   * Sends a request; `done` gets the reply, or a synthetic err TIMEOUT / CLOSED.
   * @param {Message} body @param {ReplyHandler} done
   */
  request(body, done) {
    const rid = this.nextRid++;
    if (!this.open || !this.socket) {
      done({ t: 'err', rid, code: 'CLOSED', msg: 'not connected' });
      return;
    }
    const timer = this.platform.setTimeout(() => {
      delete this.pending[rid];
      done({ t: 'err', rid, code: 'TIMEOUT', msg: `no reply in ${this.cfg.requestTimeoutMs} ms` });
    }, this.cfg.requestTimeoutMs);
    this.pending[rid] = { done, timer };
    body.rid = rid;
    this.socket.send(encode(body));
  }

  /**
   * Subscribes (with the view's epoch+seq when it has one: a resume).
   * @param {string} ev @param {ReplyHandler} done
   */
  subscribe(ev, done) {
    const view = this.views[ev];
    /** @type {Message} */
    const body = { t: 'sub', ev };
    if (view && view.ready) {
      body.epoch = view.epoch;
      body.seq = view.seq;
    } else this.viewOf(ev);
    this.lastCatchUp[ev] = 'none';
    this.whenAllowed(() =>
      this.request(body, (reply) => {
        if (reply.t === 'err' && reply.code === 'RATE_LIMITED') return this.backOff(() => this.subscribe(ev, done));
        this.platform.check('subscribed', reply.t === 'ok');
        if (reply.t !== 'ok') this.platform.rate('errors', true, { what: 'sub' });
        done(reply);
      }),
    );
  }

  /** A gap or a new epoch: resume from the view (or take a snapshot), one repair at a time. @param {string} ev @param {boolean} newEpoch */
  repair(ev, newEpoch) {
    if (this.repairing[ev]) return;
    this.repairing[ev] = true;
    if (newEpoch) delete this.views[ev];
    this.subscribe(ev, () => {
      delete this.repairing[ev];
    });
  }

  /**
   * A seat operation, paced by the token bucket; RATE_LIMITED is retried after
   * a back-off. Records latency, conflicts, errors and the update delay.
   * @param {Message} body @param {ReplyHandler} done
   */
  operate(body, done) {
    this.whenAllowed(() => {
      const sentAt = this.platform.now();
      const op = body.t;
      this.request(body, (reply) => {
        if (reply.t === 'err' && reply.code === 'RATE_LIMITED') {
          this.platform.count('rate_limited', 1);
          return this.backOff(() => this.operate(body, done));
        }
        this.platform.count('ops', 1, { op });
        if (reply.code !== 'CLOSED') this.platform.trend('op_latency', this.platform.now() - sentAt, { op });
        const conflict = reply.t === 'err' && CONFLICT_CODES.indexOf(reply.code) >= 0;
        if (op === 'hold' || op === 'book') this.platform.rate('op_conflicts', conflict, { op });
        // CLOSED: the operation was cut short by our own reconnect, not by the server
        const soldOut = reply.t === 'err' && SOLD_OUT_CODES.indexOf(reply.code) >= 0;
        if (reply.code !== 'CLOSED') this.platform.rate('errors', reply.t === 'err' && !conflict && !soldOut, { what: op });
        if (reply.t === 'ok' && typeof reply.seq === 'number' && !reply.replayed && op !== 'extend') this.awaitChange(body.ev, reply.seq, sentAt);
        this.trackHold(body, reply);
        done(reply);
      });
    });
  }

  /**
   * Keeps `holds` up to date: a hold adds its token; a book that went through
   * (ok, or PENDING: booked in Redis) and any answered release remove it.
   * @param {Message} body @param {Message} reply
   */
  trackHold(body, reply) {
    if (body.t === 'hold' && reply.t === 'ok' && reply.tok) this.holds[reply.tok] = body.ev;
    else if (body.t === 'book' && (reply.t === 'ok' || reply.code === 'PENDING')) delete this.holds[body.tok];
    else if (body.t === 'release' && reply.code !== 'CLOSED' && reply.code !== 'TIMEOUT') delete this.holds[body.tok];
  }

  /**
   * Releases every live hold token (the run is over: nothing new goes out but
   * these), retrying RATE_LIMITED until `deadline`; calls `done` once each is
   * answered, or at the deadline, or at once when not connected.
   * @param {number} deadline  platform.now() by which to give up
   * @param {() => void} done
   */
  releaseHolds(deadline, done) {
    const tokens = Object.keys(this.holds);
    let open = tokens.length;
    if (open === 0 || !this.open) return done();
    const answered = () => {
      if (--open === 0) done();
    };
    const release = (tok) => {
      this.request({ t: 'release', ev: this.holds[tok], tok }, (reply) => {
        if (reply.t === 'err' && reply.code === 'RATE_LIMITED' && this.platform.now() < deadline) return this.backOff(() => release(tok));
        this.platform.count('holds_released_at_end', 1);
        this.trackHold({ t: 'release', tok }, reply);
        answered();
      });
    };
    tokens.forEach(release);
  }

  /** @param {string} ev @param {number} seq @param {number} sentAt */
  awaitChange(ev, seq, sentAt) {
    const view = this.views[ev];
    if (!view || !view.ready) return; // not watching: no diff to time
    if (view.seq >= seq) {
      // the diff came before the reply: find when (the earliest kept frame that reached seq)
      const ring = this.arrivals[ev];
      if (!ring) return;
      let when = Infinity;
      for (let i = 0; i < ring.seqs.length; i++) if (ring.seqs[i] >= seq && ring.times[i] < when) when = ring.times[i];
      if (when !== Infinity) this.platform.trend('seat_update_delay', Math.max(0, when - sentAt));
      return;
    }
    (this.awaitingSeq[ev] || (this.awaitingSeq[ev] = [])).push({ seq, sentAt });
  }

  /** Runs `fn` when the client-side bucket has a token (the server's limits, from hello). @param {() => void} fn */
  whenAllowed(fn) {
    if (this.stopping) return; // the run is over: nothing new goes out
    const now = this.platform.now();
    this.tokens = Math.min(this.limits.opsBurst, this.tokens + ((now - this.refilledAt) * this.limits.opsPerSecond) / 1000);
    this.refilledAt = now;
    if (this.tokens >= 1) {
      this.tokens -= 1;
      fn();
      return;
    }
    this.platform.setTimeout(() => this.whenAllowed(fn), ((1 - this.tokens) * 1000) / this.limits.opsPerSecond + 1);
  }

  /** After RATE_LIMITED: wait at least 1 / opsPerSecond, as the protocol asks. @param {() => void} fn */
  backOff(fn) {
    this.platform.setTimeout(fn, 1000 / this.limits.opsPerSecond + this.platform.random() * 20);
  }

  close() {
    this.closing = true;
    if (this.socket) this.socket.close();
  }

  /** @param {number} code */
  closed(code) {
    this.recordCounts(this.platform.now());
    const expected = this.closing;
    this.open = false;
    this.socket = null;
    if (!expected) this.platform.rate('errors', true, { what: 'close' });
    if (!this.helloSeen) this.platform.check('hello received', false);
    for (const rid of Object.keys(this.pending)) {
      const waiting = this.pending[rid];
      delete this.pending[rid];
      this.platform.clearTimeout(waiting.timer);
      waiting.done({ t: 'err', rid, code: 'CLOSED', msg: `connection closed (${code})` });
    }
    this.repairing = {};
    if (this.handlers.onClose) this.handlers.onClose(code, expected);
  }
}

/**
 * Seat indexes in [from, to) that the view shows free, the first `limit` of
 * them at most (all without one).
 * @param {SeatView} view @param {number} from @param {number} to @param {number} [limit]
 */
export function freeSeats(view, from, to, limit) {
  const out = [];
  const status = view.status;
  const end = Math.min(to, status.length);
  const most = limit === undefined ? Infinity : limit;
  // indexOf is native in every runtime: in k6 it scans 20,000 seats ~100x faster than a JavaScript loop
  for (let i = status.indexOf(0, Math.max(0, from)); i >= 0 && i < end && out.length < most; i = status.indexOf(0, i + 1)) out.push(i);
  return out;
}

/**
 * A free seat in [from, to): the first one at or after a random point
 * (`r` in [0, 1)), wrapping around; -1 when there is none. No list is built,
 * so a mostly sold event costs a scan of bytes, not thousands of pushes.
 * @param {SeatView} view @param {number} from @param {number} to @param {number} r
 */
export function freeSeatNear(view, from, to, r) {
  const status = view.status;
  const start = Math.max(0, from);
  const end = Math.min(to, status.length);
  const span = end - start;
  if (span <= 0) return -1;
  const origin = start + Math.floor(r * span);
  const after = status.indexOf(0, origin);
  if (after >= 0 && after < end) return after;
  const before = status.indexOf(0, start);
  return before >= 0 && before < origin ? before : -1;
}

/** @param {Platform} platform @template T @param {T[]} items @returns {T} */
export function pick(platform, items) {
  return items[Math.floor(platform.random() * items.length)];
}
