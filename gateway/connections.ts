/** This node's open connections, with the connections gauge kept inside add and remove. */
import type { GatewayMetrics } from './metrics.js';

export class Connections<S> implements Iterable<S> {
  private readonly open = new Set<S>();

  constructor(private readonly metrics: Pick<GatewayMetrics, 'connections'>) {}

  add(s: S): void {
    this.open.add(s);
    this.metrics.connections.set(this.open.size);
  }

  delete(s: S): void {
    if (this.open.delete(s)) this.metrics.connections.set(this.open.size);
  }

  get size(): number {
    return this.open.size;
  }

  [Symbol.iterator](): Iterator<S> {
    return this.open.values();
  }
}
