/**
 * Work in flight (seat operations, room joins), counted so that a graceful
 * shutdown can let it answer before the sockets close.
 */
export class Inflight {
  private count = 0;
  private waiters: (() => void)[] = [];

  get size(): number {
    return this.count;
  }

  /** Runs `fn`, counted as in flight until it settles. */
  async run<T>(fn: () => Promise<T>): Promise<T> {
    this.count++;
    try {
      return await fn();
    } finally {
      this.count--;
      // woken a turn later, so that what the caller does right after the work (its reply) goes first
      if (this.count === 0 && this.waiters.length > 0) setImmediate(() => this.count === 0 && this.waiters.splice(0).forEach((wake) => wake()));
    }
  }

  /** Resolves when nothing is in flight (true) or at `deadline` (false), whichever comes first. */
  idle(deadline: number): Promise<boolean> {
    if (this.count === 0) return Promise.resolve(true);
    return new Promise((resolve) => {
      const timer = setTimeout(() => {
        this.waiters = this.waiters.filter((w) => w !== wake);
        resolve(this.count === 0);
      }, Math.max(0, deadline - Date.now()));
      const wake = () => {
        clearTimeout(timer);
        resolve(true);
      };
      this.waiters.push(wake);
    });
  }
}
