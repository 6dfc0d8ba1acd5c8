/**
 * The frames a socket sends before its `hello`. The token is checked once the
 * socket is open (see gateway/uws.ts for why), and until then nothing is acted
 * on: frames are kept here, in order, and replayed after `hello`. The buffer is
 * bounded so that an unauthenticated socket cannot hold much memory: at most
 * `maxFrames` frames and `maxBytes` in all; an oversize frame (over the
 * protocol's maxFrameBytes) is kept by its length only, for its BAD_REQUEST.
 * Frames past the bounds are dropped and counted, and the client is told how
 * many after `hello`.
 */

export type EarlyFrame = { message: ArrayBuffer; isBinary: boolean } | { oversize: number };

export interface EarlyFrameLimits {
  maxFrames: number;
  maxBytes: number;
  /** frames larger than this are kept by their length only */
  maxFrameBytes: number;
}

/** 64 KiB in all: enough for a burst of ordinary requests. */
export const EARLY_BYTES_MAX = 64 * 1024;

export class EarlyFrames {
  private frames: EarlyFrame[] = [];
  private bytes = 0;
  private droppedCount = 0;

  constructor(private readonly limits: EarlyFrameLimits) {}

  /** Keeps a frame (a copy: uWS reuses the buffer once the callback returns), or counts it as dropped. */
  keep(message: ArrayBuffer, isBinary: boolean): void {
    const oversize = message.byteLength > this.limits.maxFrameBytes;
    const full = this.frames.length >= this.limits.maxFrames || (!oversize && this.bytes + message.byteLength > this.limits.maxBytes);
    if (full) {
      this.droppedCount++;
      return;
    }
    if (oversize) {
      this.frames.push({ oversize: message.byteLength });
    } else {
      this.frames.push({ message: message.slice(0), isBinary });
      this.bytes += message.byteLength;
    }
  }

  /** Hands over everything kept, and how many frames were dropped, and starts empty. */
  take(): { frames: EarlyFrame[]; dropped: number } {
    const taken = { frames: this.frames, dropped: this.droppedCount };
    this.clear();
    return taken;
  }

  clear(): void {
    this.frames = [];
    this.bytes = 0;
    this.droppedCount = 0;
  }

  get size(): number {
    return this.frames.length;
  }

  get heldBytes(): number {
    return this.bytes;
  }
}
