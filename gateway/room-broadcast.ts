/**
 * One room's watchers on this node as uWS topics of at most `sliceWatchers`
 * each (slices), and the publish of a frame to them, one slice per
 * event-loop turn.
 *
 * A publish to every watcher costs about one socket write per watcher (≈ 10
 * µs on loopback, most of it in the kernel), so one to 20,000 watchers holds
 * the loop for 200 ms: operations, Redis replies and the change feed wait
 * behind it, each a whole publish, and a change's diff falls further behind
 * the busier the room. Sent a slice per turn, the other work runs between
 * slices; the room (gateway/room.ts) publishes nothing more until the last
 * slice is sent, and merges what arrives meanwhile into its next diff.
 *
 * A room that fits one slice is published at once, as one topic, exactly as
 * before. While a publish is under way the watchers of the slices it has not
 * reached are one frame behind the room: a new watcher (caught up to the
 * room's state) is therefore always placed in a slice the publish has
 * reached (a new one if none has room), and a watcher taken off its topic
 * before its slice was reached is owed the frame (reached() says which).
 */

export interface TopicPublisher {
  publish(topic: string, frame: Uint8Array): void;
}

interface Slice {
  topic: string;
  members: number;
  /** the number of the last publish sent to this slice */
  sent: number;
}

export interface RoomBroadcastOptions {
  /** the topic of the first slice; further ones are `${topic}#${n}` */
  topic: string;
  /** watchers per slice (and so per turn) */
  sliceWatchers: number;
  publisher: TopicPublisher;
  /** called for each slice sent, with its topic */
  onSlice?(topic: string): void;
  /** runs fn on a later turn (setImmediate; tests drive it by hand) */
  defer?(fn: () => void): void;
}

export class RoomBroadcast {
  private readonly slices: Slice[] = [];
  private readonly byTopic = new Map<string, Slice>();
  private members = 0;
  /** counts publishes; a slice with `sent === published` has every frame */
  private published = 0;
  private frame: Uint8Array | null = null;
  private settle: (() => void) | null = null;
  private readonly defer: (fn: () => void) => void;

  constructor(private readonly options: RoomBroadcastOptions) {
    this.defer = options.defer ?? ((fn) => void setImmediate(fn));
  }

  /** watchers placed in the room's slices */
  get watchers(): number {
    return this.members;
  }

  get sliceCount(): number {
    return this.slices.length;
  }

  /** true while a publish is being sent over several turns */
  get busy(): boolean {
    return this.frame !== null;
  }

  /**
   * The topic a new watcher joins, caught up to the room's published state:
   * a slice with room that has every frame (a new slice when none has).
   */
  place(): string {
    let slice = this.slices.find((s) => s.members < this.options.sliceWatchers && s.sent === this.published);
    if (!slice) {
      const n = this.slices.length;
      slice = { topic: n === 0 ? this.options.topic : `${this.options.topic}#${n}`, members: 0, sent: this.published };
      this.slices.push(slice);
      this.byTopic.set(slice.topic, slice);
    }
    slice.members++;
    this.members++;
    return slice.topic;
  }

  /** A watcher left its topic (unsubscribed, paused or closed). */
  remove(topic: string): void {
    const slice = this.byTopic.get(topic);
    if (!slice || slice.members === 0) return;
    slice.members--;
    this.members--;
  }

  /** Whether the publish under way (if any) has reached the watchers of `topic`. */
  reached(topic: string): boolean {
    const slice = this.byTopic.get(topic);
    return !slice || slice.sent === this.published;
  }

  /**
   * Publishes a frame to every slice: the first one now, the others one per
   * turn. Returns a promise when slices are left for later turns, settled
   * once the last one is sent (or the publish was finished or cancelled).
   */
  send(frame: Uint8Array): Promise<void> | undefined {
    this.finish();
    this.published++;
    this.frame = frame;
    this.sendNext();
    if (!this.frame) return undefined;
    const publish = this.published;
    return new Promise<void>((resolve) => {
      this.settle = resolve;
      this.defer(() => this.pump(publish));
    });
  }

  /** Sends the publish under way to every slice it has not reached, now. */
  finish(): void {
    while (this.frame) this.sendNext();
  }

  /** Stops a publish under way (the room is closed); slices not reached get nothing more. */
  cancel(): void {
    this.frame = null;
    this.done();
  }

  /** One slice of publish number `publish` per turn (a publish finished or replaced meanwhile stops it). */
  private pump(publish: number): void {
    if (!this.frame || publish !== this.published) return;
    this.sendNext();
    if (this.frame) this.defer(() => this.pump(publish));
  }

  /** Sends the frame to the next slice that lacks it and has watchers; ends the publish when none is left. */
  private sendNext(): void {
    const frame = this.frame;
    if (!frame) return;
    for (const slice of this.slices) {
      if (slice.sent === this.published) continue;
      slice.sent = this.published;
      if (slice.members === 0) continue; // nothing to send: take the next
      this.options.publisher.publish(slice.topic, frame);
      this.options.onSlice?.(slice.topic);
      if (this.slices.some((s) => s.sent !== this.published)) return;
      break;
    }
    this.frame = null;
    this.done();
  }

  private done(): void {
    const settle = this.settle;
    this.settle = null;
    settle?.();
  }
}
