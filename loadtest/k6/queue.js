// An on-sale through the waiting room: buyers join, wait for admission, hold, book or abandon; some skip the queue.
//   Put a waiting room on the event first (PUT /events/:id/queue, docs/onsale.md), then
//   k6 run --no-usage-report loadtest/k6/queue.js -e URL=ws://127.0.0.1:9001/ws -e JWT_SECRET=<the gateway's secret>
// Settings (-e NAME=value) and defaults: loadtest/lib/scenarios/queue.js; see loadtest/README.md.
import { queue as scenario } from '../lib/scenarios/queue.js';
import { k6Client, k6Options, k6Setup } from './platform.js';

const built = k6Options(scenario);

export const options = {
  scenarios: built.scenarios,
  thresholds: built.thresholds,
};

export function setup() {
  return k6Setup();
}

export default function (data) {
  k6Client(scenario, data);
}
