// Box-office kiosks at peak: a fixed set of clients holding and booking as fast as allowed, on the same rows.
//   k6 run --no-usage-report loadtest/k6/kiosk.js -e URL=ws://127.0.0.1:9001/ws -e JWT_SECRET=<the gateway's secret>
// Settings (-e NAME=value) and defaults: loadtest/lib/scenarios/kiosk.js; see loadtest/README.md.
import { kiosk as scenario } from '../lib/scenarios/kiosk.js';
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
