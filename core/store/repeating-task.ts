/**
 * A background task run again and again, one run at a time: each run says how
 * long to wait before the next (0: at once), `stop()` waits for a run under
 * way. Its timer never keeps the process alive. Shared by the expiry sweeper
 * and the channel releaser, whose loops were the same.
 */
export class RepeatingTask {
  private timer: NodeJS.Timeout | undefined;
  private running: Promise<void> | undefined;
  private stopped = true;

  /** `run` must not reject: it reports its own errors and answers the next delay in ms. */
  constructor(private readonly run: () => Promise<number>) {}

  /** started and not stopped since */
  get active(): boolean {
    return !this.stopped;
  }

  start(): void {
    if (!this.stopped) return;
    this.stopped = false;
    this.schedule(0);
  }

  /** Stops the timer and waits for a run in progress. */
  async stop(): Promise<void> {
    this.stopped = true;
    clearTimeout(this.timer);
    await this.running;
  }

  private schedule(delayMs: number): void {
    if (this.stopped) return;
    this.timer = setTimeout(() => {
      this.running = this.run().then(
        (next) => {
          this.running = undefined;
          this.schedule(next);
        },
        () => {
          this.running = undefined;
        },
      );
    }, delayMs);
    this.timer.unref?.();
  }
}
