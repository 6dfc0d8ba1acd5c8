/**
 * Metric aggregation for the Node runner, k6-style: trends keep their samples
 * (percentiles at the end), rates count passes, counters add up. A tagged
 * sample also counts under `name{key:value}`, k6's sub-metric syntax, so
 * thresholds such as `op_latency{op:book}` mean the same in both.
 */
export type Tags = Record<string, string>;

export interface MetricData {
  trends: Record<string, number[]>;
  rates: Record<string, [passes: number, total: number]>;
  counters: Record<string, number>;
  notes: Record<string, unknown[]>;
}

/** Samples kept per trend and process; past it, reservoir sampling keeps a fair sample. */
const MAX_SAMPLES = 200_000;

export class MetricSink {
  readonly data: MetricData = { trends: {}, rates: {}, counters: {}, notes: {} };
  private seen: Record<string, number> = {};

  trend(name: string, value: number, tags?: Tags): void {
    for (const key of keys(name, tags)) {
      const samples = (this.data.trends[key] ??= []);
      const n = (this.seen[key] = (this.seen[key] ?? 0) + 1);
      if (samples.length < MAX_SAMPLES) samples.push(value);
      else {
        const slot = Math.floor(Math.random() * n);
        if (slot < MAX_SAMPLES) samples[slot] = value;
      }
    }
  }

  rate(name: string, ok: boolean, tags?: Tags): void {
    for (const key of keys(name, tags)) {
      const r = (this.data.rates[key] ??= [0, 0]);
      if (ok) r[0]++;
      r[1]++;
    }
  }

  count(name: string, n: number, tags?: Tags): void {
    for (const key of keys(name, tags)) this.data.counters[key] = (this.data.counters[key] ?? 0) + n;
  }

  note(kind: string, value: unknown): void {
    (this.data.notes[kind] ??= []).push(value);
  }
}

function keys(name: string, tags?: Tags): string[] {
  if (!tags) return [name];
  return [name, ...Object.entries(tags).map(([k, v]) => `${name}{${k}:${v}}`)];
}

/** Metrics of several processes as one. */
export function mergeMetrics(parts: readonly MetricData[]): MetricData {
  const out: MetricData = { trends: {}, rates: {}, counters: {}, notes: {} };
  for (const p of parts) {
    for (const [k, v] of Object.entries(p.trends)) {
      const into = (out.trends[k] ??= []);
      for (const x of v) into.push(x);
    }
    for (const [k, [pass, total]] of Object.entries(p.rates)) {
      const r = (out.rates[k] ??= [0, 0]);
      r[0] += pass;
      r[1] += total;
    }
    for (const [k, v] of Object.entries(p.counters)) out.counters[k] = (out.counters[k] ?? 0) + v;
    for (const [k, v] of Object.entries(p.notes)) (out.notes[k] ??= []).push(...v);
  }
  return out;
}

export interface TrendSummary {
  count: number;
  avg: number;
  min: number;
  med: number;
  max: number;
  'p(90)': number;
  'p(95)': number;
  'p(99)': number;
}

/** k6's percentile: linear interpolation between the closest ranks. */
export function percentile(sorted: readonly number[], p: number): number {
  if (sorted.length === 0) return Number.NaN;
  const rank = (p / 100) * (sorted.length - 1);
  const lo = Math.floor(rank);
  const hi = Math.ceil(rank);
  return sorted[lo]! + (sorted[hi]! - sorted[lo]!) * (rank - lo);
}

export function summarizeTrend(samples: readonly number[]): TrendSummary {
  const sorted = Float64Array.from(samples).sort();
  const values = Array.from(sorted);
  const sum = values.reduce((a, b) => a + b, 0);
  return {
    count: values.length,
    avg: values.length ? sum / values.length : Number.NaN,
    min: values.length ? values[0]! : Number.NaN,
    med: percentile(values, 50),
    max: values.length ? values[values.length - 1]! : Number.NaN,
    'p(90)': percentile(values, 90),
    'p(95)': percentile(values, 95),
    'p(99)': percentile(values, 99),
  };
}
