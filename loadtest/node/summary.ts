/** The Node runner's console summary: thresholds first, then every metric. */
import type { LoadReport } from './runner.js';

const ms = (v: number) => (Number.isFinite(v) ? `${v.toFixed(v < 10 ? 2 : 0)} ms` : '-');

export function formatSummary(report: LoadReport): string {
  const rows: string[][] = [['metric', 'value']];
  for (const [name, t] of Object.entries(report.trends).sort()) {
    rows.push([name, `n=${t.count} avg=${ms(t.avg)} med=${ms(t.med)} p(95)=${ms(t['p(95)'])} p(99)=${ms(t['p(99)'])} max=${ms(t.max)}`]);
  }
  for (const [name, r] of Object.entries(report.rates).sort()) rows.push([name, `${(r.rate * 100).toFixed(2)}% (${r.passes}/${r.total})`]);
  for (const [name, n] of Object.entries(report.counters).sort()) rows.push([name, String(n)]);
  const width = Math.max(...rows.map((r) => r[0]!.length));
  const lines = [
    `scenario ${report.scenario}: ${report.settings.clients} clients over ${report.processes} processes, ${report.seconds.toFixed(1)} s`,
    '',
    'thresholds:',
    ...report.thresholds.map((t) => `  ${t.ok ? 'ok  ' : 'FAIL'} ${t.metric} ${t.expression}   (${Number.isFinite(t.value) ? +t.value.toFixed(4) : 'no samples'})`),
    '',
    ...rows.map((r, i) => `${r[0]!.padEnd(width)}  ${r[1]}${i === 0 ? `\n${'-'.repeat(width)}  ${'-'.repeat(5)}` : ''}`),
    '',
    report.passed ? 'all thresholds passed' : 'THRESHOLDS FAILED',
  ];
  return lines.join('\n');
}
