/** Bounding a promise in time: the one helper the gateway, the durable side and the scripts share. */

export class TimeoutError extends Error {
  /** as Node names a timed-out operation, so code that branches on error codes sees it */
  readonly code = 'ETIMEDOUT';
  constructor(message: string) {
    super(message);
    this.name = 'TimeoutError';
  }
}

/**
 * Resolves or rejects like `promise`, or rejects with a TimeoutError naming
 * `what` after `ms`. The promise itself goes on; its late outcome is ignored.
 */
export function withTimeout<T>(promise: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new TimeoutError(`${what} timed out after ${ms} ms`)), ms);
    timer.unref?.();
  });
  return Promise.race([promise, timeout]).finally(() => clearTimeout(timer));
}
