/**
 * k6 threshold expressions, evaluated on the Node runner's metrics so that a
 * scenario passes or fails by the same rules in both: `p(95)<500`, `avg<200`,
 * `med`, `min`, `max`, `rate<0.01`, `count==0`, `count>0`; operators
 * < <= > >= == ===  and !=.
 */
import { summarizeTrend, type MetricData } from './metrics.js';

export interface ThresholdResult {
  metric: string;
  expression: string;
  /** the aggregated value the expression was checked against */
  value: number;
  ok: boolean;
}

const EXPRESSION = /^\s*(p\(\d+(?:\.\d+)?\)|avg|min|max|med|rate|count)\s*(<=|>=|===|==|!=|<|>)\s*(-?\d+(?:\.\d+)?)\s*$/;

export function evaluateThresholds(thresholds: Record<string, readonly string[]>, data: MetricData): ThresholdResult[] {
  const results: ThresholdResult[] = [];
  for (const [metric, expressions] of Object.entries(thresholds)) {
    for (const expression of expressions) {
      const m = EXPRESSION.exec(expression);
      if (!m) throw new Error(`unsupported threshold ${metric}: ${expression}`);
      const value = aggregate(data, metric, m[1]!);
      results.push({ metric, expression, value, ok: compare(value, m[2]!, Number(m[3])) });
    }
  }
  return results;
}

function aggregate(data: MetricData, metric: string, agg: string): number {
  if (agg === 'count') {
    if (metric in data.counters) return data.counters[metric]!;
    if (metric in data.trends) return data.trends[metric]!.length;
    return 0; // never incremented
  }
  if (agg === 'rate') {
    const r = data.rates[metric];
    return r && r[1] > 0 ? r[0] / r[1] : 0;
  }
  const samples = data.trends[metric];
  // k6 leaves a threshold on a metric with no samples unchecked: so does this (NaN passes below)
  if (!samples || samples.length === 0) return Number.NaN;
  const s = summarizeTrend(samples);
  return s[agg as keyof typeof s];
}

function compare(value: number, op: string, bound: number): boolean {
  if (Number.isNaN(value)) return true;
  switch (op) {
    case '<': return value < bound;
    case '<=': return value <= bound;
    case '>': return value > bound;
    case '>=': return value >= bound;
    case '!=': return value !== bound;
    default: return value === bound;
  }
}
