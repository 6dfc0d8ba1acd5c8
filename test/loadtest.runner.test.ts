/** The Node runner's pieces that need no gateway: settings, metric merging, thresholds. */
import { describe, expect, it } from 'vitest';
import { envName, parseDuration, readConfig } from '../loadtest/lib/config.js';
import { MetricSink, mergeMetrics, percentile } from '../loadtest/node/metrics.js';
import { evaluateThresholds } from '../loadtest/node/thresholds.js';

describe('scenario settings', () => {
  it('read from env names, durations without the Ms suffix', () => {
    expect(envName('hotSeats')).toBe('HOT_SEATS');
    expect(envName('rampMs')).toBe('RAMP');
    expect(envName('jwtSecret')).toBe('JWT_SECRET');
    expect(readConfig({ clients: 5, rampMs: 1000, url: 'x' }, { CLIENTS: '7', RAMP: '2m', URL: '' })).toEqual({ clients: 7, rampMs: 120_000, url: 'x' });
    expect(parseDuration('250ms')).toBe(250);
    expect(parseDuration('1.5')).toBe(1500);
    expect(() => readConfig({ clients: 5 }, { CLIENTS: 'many' })).toThrow(/CLIENTS/);
  });
});

describe('metrics and thresholds', () => {
  it('merge processes and evaluate k6 expressions, sub-metrics included', () => {
    const a = new MetricSink();
    const b = new MetricSink();
    for (let i = 1; i <= 100; i++) (i % 2 ? a : b).trend('op_latency', i, { op: i <= 50 ? 'hold' : 'book' });
    a.rate('errors', false);
    b.rate('errors', true);
    a.count('diff_gaps', 0);
    const data = mergeMetrics([a.data, b.data]);
    const results = evaluateThresholds(
      { op_latency: ['p(95)<96', 'max<=100', 'avg==50.5'], 'op_latency{op:hold}': ['max<51'], errors: ['rate<0.6', 'rate<0.4'], diff_gaps: ['count==0'], missing: ['count==0', 'p(99)<1'] },
      data,
    );
    expect(results.map((r) => `${r.metric} ${r.expression} ${r.ok}`)).toEqual([
      'op_latency p(95)<96 true',
      'op_latency max<=100 true',
      'op_latency avg==50.5 true',
      'op_latency{op:hold} max<51 true',
      'errors rate<0.6 true',
      'errors rate<0.4 false',
      'diff_gaps count==0 true',
      'missing count==0 true',
      'missing p(99)<1 true',
    ]);
    expect(percentile([1, 2, 3, 4], 50)).toBe(2.5);
    expect(() => evaluateThresholds({ x: ['p95<1'] }, data)).toThrow(/unsupported/);
  });
});
