/**
 * One event's room on this node: the event's seat states in memory, kept from
 * a snapshot plus the change log, published to subscribers as coalesced diffs.
 *
 * Two sequence numbers matter. `received` is the last change-log entry taken
 * in; `seq` is the last one published. Subscribers always see state at `seq`
 * (snapshots are cut from `status`, which only moves on publish), so a
 * snapshot followed by the next published diff never loses or repeats a
 * change. Diffs are cut per tick: changes of a busy room wait at most
 * `tickMs`, and a quiet room publishes at once.
 *
 * The tick adapts to the room: a publish to many watchers may take several
 * event-loop turns (the hub sends it a slice of watchers per turn, see
 * gateway/room-broadcast.ts), and while one is under way the room publishes
 * nothing more. What arrives meanwhile is merged into the next diff, sent as
 * soon as the publish ends and a tick has passed since it began: a room whose
 * publish takes longer than the tick publishes back to back, never queueing
 * diffs, so a change waits at most about one publish plus one tick.
 */
import type { ChangeEntry, Snapshot } from '../core/store/index.js';
import { encodeMessage } from '../core/protocol/index.js';

/** A published diff kept for resumes: the final states of the seats changed in (from, to]. */
interface RingUnit {
  from: number;
  to: number;
  ch: number[];
  /** final counters of the general-admission areas changed in (from, to], [area, free, held, booked, ...] */
  ga?: number[];
}

type AreaCounts = [number, number, number];

/** Flat [area, free, held, booked, ...] -> map; later entries win. */
function mergeAreas(into: Map<number, AreaCounts>, ga: readonly number[] | undefined): void {
  if (!ga) return;
  for (let i = 0; i + 3 < ga.length; i += 4) into.set(ga[i]!, [ga[i + 1]!, ga[i + 2]!, ga[i + 3]!]);
}

/** What a unit costs the resume window: its seat changes plus its area changes. */
function unitSize(unit: RingUnit): number {
  return unit.ch.length / 2 + (unit.ga ? unit.ga.length / 4 : 0);
}

function flatAreas(areas: Map<number, AreaCounts>): number[] {
  const out: number[] = [];
  for (const [a, [f, h, b]] of [...areas].sort((x, y) => x[0] - y[0])) out.push(a, f, h, b);
  return out;
}

export interface RoomOptions {
  eventId: string;
  tickMs: number;
  /** seat changes kept for resumes */
  resumeWindow: number;
  /**
   * Sends a frame to every subscriber of the room; `updates` is the number of
   * seat changes in it. A promise: the publish goes on over later turns, and
   * the room publishes no further diff until it settles.
   */
  publish(frame: Uint8Array, updates: number): void | Promise<void>;
  /** completes a publish under way at once (before a resync is cut from the published state) */
  finish?(): void;
  now?: () => number;
}

/**
 * A publish under way: the watchers it has not reached yet are at `from`
 * (null: they are owed a snapshot, the frame being one of a new epoch).
 */
export interface InFlight {
  from: number | null;
  to: number;
}

export type CatchUp = { kind: 'snap'; frame: Uint8Array } | { kind: 'diff'; frame: Uint8Array } | { kind: 'current' };

export class Room {
  readonly eventId: string;
  epoch = 0;
  /** last published seq */
  seq = 0;
  /** last seq taken in from the change log (>= seq) */
  received = 0;
  status: Uint8Array = new Uint8Array(0);

  private pending = new Map<number, number>();
  /** general-admission counters at `seq`, and those taken in since (area -> [free, held, booked]) */
  private readonly areas = new Map<number, AreaCounts>();
  private readonly pendingAreas = new Map<number, AreaCounts>();
  private ring: RingUnit[] = [];
  private ringHead = 0;
  private ringChanges = 0;
  private lastFlushAt = -Infinity;
  private timer: NodeJS.Timeout | null = null;
  /** the diff whose publish is under way over several turns, or null */
  private inFlight: InFlight | null = null;
  /** counts load()s, so that a publish begun before one cannot touch the room after it */
  private generation = 0;
  private snapFrame: Uint8Array | null = null;
  private resumeFrames = new Map<number, Uint8Array>();
  private readonly now: () => number;

  constructor(private readonly options: RoomOptions) {
    this.eventId = options.eventId;
    this.now = options.now ?? (() => performance.now());
  }

  /** Starts (or restarts) from a snapshot; `history` are log entries up to the snapshot's seq, for resumes. */
  load(snapshot: Snapshot, history: ChangeEntry[] = []): void {
    this.cancelTimer();
    this.inFlight = null;
    this.generation++;
    this.epoch = snapshot.epoch;
    this.seq = snapshot.seq;
    this.received = snapshot.seq;
    this.status = Uint8Array.from(snapshot.status);
    this.areas.clear();
    mergeAreas(this.areas, snapshot.ga);
    this.pendingAreas.clear();
    this.pending.clear();
    this.ring = [];
    this.ringHead = 0;
    this.ringChanges = 0;
    this.invalidateFrames();
    // history must end exactly at the snapshot and have no holes, or it cannot serve resumes
    const usable = contiguousTail(history, snapshot.seq);
    for (const entry of usable) this.pushRing({ from: entry.seq - 1, to: entry.seq, ch: entry.changes.slice(), ...(entry.ga && { ga: entry.ga.slice() }) });
  }

  /**
   * Takes in change-log entries (in seq order). Returns 'gap' when an entry
   * is missing, 'epoch' when an entry belongs to another epoch of the event
   * (it was recreated): the caller must repair with resync(). Entries before
   * the problem are taken in (they are correct); none after it.
   */
  receive(entries: readonly ChangeEntry[]): 'ok' | 'gap' | 'epoch' {
    let expected = this.received + 1;
    for (const entry of entries) {
      if (entry.epoch !== undefined && entry.epoch !== this.epoch) return 'epoch';
      if (entry.seq < expected) continue; // already taken in (a re-read after a reconnect)
      if (entry.seq !== expected) return 'gap';
      const ch = entry.changes;
      for (let i = 0; i + 1 < ch.length; i += 2) this.pending.set(ch[i]!, ch[i + 1]!);
      mergeAreas(this.pendingAreas, entry.ga);
      this.received = entry.seq;
      expected++;
    }
    if (this.received > this.seq) this.scheduleFlush();
    return 'ok';
  }

  /** The diff being published over several turns (watchers not reached yet are at its `from`), or null. */
  /** [area, free, held, booked, ...] of the general-admission areas as published (snap's `ga`); undefined for an event without areas */
  get ga(): number[] | undefined {
    return this.areas.size > 0 ? flatAreas(this.areas) : undefined;
  }

  get publishing(): InFlight | null {
    return this.inFlight;
  }

  private scheduleFlush(): void {
    if (this.timer || this.inFlight) return;
    const wait = this.lastFlushAt + this.options.tickMs - this.now();
    if (wait <= 0) this.flush();
    else this.timer = setTimeout(() => {
      this.timer = null;
      this.flush();
    }, wait);
  }

  /** Publishes everything taken in since the last publish as one diff (once a publish under way has ended). */
  flush(): void {
    this.cancelTimer();
    if (this.received === this.seq || this.inFlight) return;
    const ch: number[] = new Array(this.pending.size * 2);
    let i = 0;
    for (const [seat, state] of this.pending) {
      ch[i++] = seat;
      ch[i++] = state;
      this.status[seat] = state;
    }
    this.pending.clear();
    const ga = this.pendingAreas.size > 0 ? flatAreas(this.pendingAreas) : undefined;
    mergeAreas(this.areas, ga);
    this.pendingAreas.clear();
    const unit: RingUnit = { from: this.seq, to: this.received, ch, ...(ga && { ga }) };
    this.seq = this.received;
    this.lastFlushAt = this.now();
    this.pushRing(unit);
    this.invalidateFrames();
    const sent = this.options.publish(encodeMessage({ t: 'diff', ev: this.eventId, epoch: this.epoch, from: unit.from, to: unit.to, ch, ...(ga && { ga }) }), ch.length / 2);
    if (sent) this.awaitPublish(sent, { from: unit.from, to: unit.to });
  }

  /** Holds further diffs back until a publish spread over turns has reached every watcher. */
  private awaitPublish(sent: Promise<void>, unit: InFlight): void {
    this.inFlight = unit;
    const generation = this.generation;
    const settle = () => {
      if (this.generation !== generation || this.inFlight !== unit) return;
      this.inFlight = null;
      if (this.received > this.seq) this.scheduleFlush();
    };
    sent.then(settle, settle);
  }

  /**
   * Repairs the room from a fresh snapshot (after a gap, or when the event was
   * rebuilt). Same epoch: subscribers get one diff to the snapshot's state.
   * New epoch: they get the snapshot.
   */
  resync(snapshot: Snapshot): void {
    // every watcher must be at `seq` before the repair is cut from it
    if (this.inFlight) this.options.finish?.();
    this.cancelTimer();
    this.pending.clear();
    this.pendingAreas.clear();
    if (snapshot.epoch === this.epoch && snapshot.seq >= this.seq && snapshot.status.length === this.status.length) {
      const ch: number[] = [];
      const next = snapshot.status;
      for (let seat = 0; seat < next.length; seat++) {
        if (next[seat] !== this.status[seat]) ch.push(seat, next[seat]!);
      }
      const from = this.seq;
      this.load(snapshot); // clears the ring: this diff is not a complete record of (from, to]
      if (snapshot.seq > from) {
        this.lastFlushAt = this.now();
        // every area's counters: the repair is cut from a snapshot, not from the changes
        const ga = snapshot.ga && snapshot.ga.length > 0 ? snapshot.ga : undefined;
        const sent = this.options.publish(encodeMessage({ t: 'diff', ev: this.eventId, epoch: this.epoch, from, to: snapshot.seq, ch, ...(ga && { ga }) }), ch.length / 2);
        if (sent) this.awaitPublish(sent, { from, to: snapshot.seq });
      }
      return;
    }
    this.load(snapshot);
    this.lastFlushAt = this.now();
    const sent = this.options.publish(this.snapshotFrame(), this.status.length);
    if (sent) this.awaitPublish(sent, { from: null, to: this.seq });
  }

  /** The snapshot at `seq`, encoded once per seq and shared by every client that asks. */
  snapshotFrame(): Uint8Array {
    this.snapFrame ??= encodeMessage({ t: 'snap', ev: this.eventId, epoch: this.epoch, seq: this.seq, st: this.status, ...(this.areas.size > 0 && { ga: flatAreas(this.areas) }) });
    return this.snapFrame;
  }

  /**
   * What a client needs to reach `seq`: nothing (it is current), one diff from
   * its seq (when the resume window still covers it), or a snapshot.
   */
  catchUp(epoch?: number, seq?: number): CatchUp {
    if (epoch !== this.epoch || seq === undefined || seq > this.seq) return { kind: 'snap', frame: this.snapshotFrame() };
    if (seq === this.seq) return { kind: 'current' };
    const cached = this.resumeFrames.get(seq);
    if (cached) return { kind: 'diff', frame: cached };
    const start = this.ringStart();
    if (start === null || seq < start) return { kind: 'snap', frame: this.snapshotFrame() };
    const merged = new Map<number, number>();
    const mergedAreas = new Map<number, AreaCounts>();
    for (let i = this.ringHead; i < this.ring.length; i++) {
      const unit = this.ring[i]!;
      if (unit.to <= seq) continue;
      for (let j = 0; j + 1 < unit.ch.length; j += 2) merged.set(unit.ch[j]!, unit.ch[j + 1]!);
      mergeAreas(mergedAreas, unit.ga);
    }
    const ch: number[] = [];
    for (const [seat, state] of merged) ch.push(seat, state);
    const ga = mergedAreas.size > 0 ? flatAreas(mergedAreas) : undefined;
    const frame = encodeMessage({ t: 'diff', ev: this.eventId, epoch: this.epoch, from: seq, to: this.seq, ch, ...(ga && { ga }) });
    if (this.resumeFrames.size >= 64) this.resumeFrames.clear();
    this.resumeFrames.set(seq, frame);
    return { kind: 'diff', frame };
  }

  /** The oldest seq a resume can start from, or null when the ring is empty. */
  ringStart(): number | null {
    const first = this.ring[this.ringHead];
    return first ? first.from : null;
  }

  close(): void {
    this.cancelTimer();
    this.inFlight = null;
    this.generation++;
    this.pending.clear();
  }

  private pushRing(unit: RingUnit): void {
    this.ring.push(unit);
    this.ringChanges += unitSize(unit);
    while (this.ringChanges > this.options.resumeWindow && this.ringHead < this.ring.length - 1) {
      this.ringChanges -= unitSize(this.ring[this.ringHead]!);
      this.ring[this.ringHead] = undefined as unknown as RingUnit;
      this.ringHead++;
    }
    if (this.ringHead > 1024 && this.ringHead * 2 > this.ring.length) {
      this.ring = this.ring.slice(this.ringHead);
      this.ringHead = 0;
    }
  }

  private invalidateFrames(): void {
    this.snapFrame = null;
    if (this.resumeFrames.size > 0) this.resumeFrames.clear();
  }

  private cancelTimer(): void {
    if (this.timer) {
      clearTimeout(this.timer);
      this.timer = null;
    }
  }
}

/** The entries that end at `seq` without a hole (oldest first). */
function contiguousTail(entries: readonly ChangeEntry[], seq: number): ChangeEntry[] {
  const sorted = [...entries].filter((e) => e.seq <= seq).sort((a, b) => a.seq - b.seq);
  if (sorted.length === 0 || sorted[sorted.length - 1]!.seq !== seq) return [];
  let start = sorted.length - 1;
  while (start > 0 && sorted[start - 1]!.seq === sorted[start]!.seq - 1) start--;
  return sorted.slice(start);
}
