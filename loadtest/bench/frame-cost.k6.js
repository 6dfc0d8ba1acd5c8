// What one frame costs a load client inside k6 (loadtest/lib/frame-cost.js); `npm run bench:k6 -- --k6 <binary>` runs it.
//   k6 run --no-usage-report -q loadtest/bench/frame-cost.k6.js
import { Counter } from 'k6/metrics';
import { measureFrameCosts } from '../lib/frame-cost.js';

const probe = new Counter('frame_cost_probe');

export const options = { iterations: 1, vus: 1 };

export default function () {
  const costs = measureFrameCosts(() => Date.now(), { minMs: Number(__ENV.MIN_MS || 1000) });
  // one k6 metric sample, the price of recording a counter per frame
  const runs = 20000;
  const started = Date.now();
  for (let i = 0; i < runs; i++) probe.add(1);
  costs.metricSampleUs = ((Date.now() - started) * 1000) / runs;
  console.log(`FRAME_COSTS ${JSON.stringify(costs)}`);
}
