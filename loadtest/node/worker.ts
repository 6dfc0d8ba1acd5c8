/**
 * One load process of the Node runner: runs clients [from, to) of a scenario
 * from its own loopback source address and sends its metrics to the parent.
 */
import { SCENARIOS } from '../lib/scenarios/index.js';
import { runClient } from '../lib/scenario.js';
import { MetricSink, type MetricData } from './metrics.js';
import { nodePlatform } from './platform.js';

export interface WorkerTask {
  scenario: keyof typeof SCENARIOS;
  cfg: Record<string, string | number>;
  from: number;
  to: number;
  /** platform.now() of the run's start, the same for every process */
  startedAt: number;
  localAddress?: string;
}

export type WorkerReply = { type: 'done'; metrics: MetricData } | { type: 'failed'; message: string };

/** Runs the clients of a task in this process; resolves with their metrics once every one has finished. */
export function runTask(task: WorkerTask, sink = new MetricSink()): Promise<MetricData> {
  const scenario = SCENARIOS[task.scenario];
  if (!scenario) throw new Error(`no scenario ${task.scenario}`);
  const platform = nodePlatform(sink, task.localAddress);
  return new Promise((resolve) => {
    let running = task.to - task.from;
    if (running === 0) resolve(sink.data);
    for (let i = task.from; i < task.to; i++) {
      runClient(scenario, platform, task.cfg, i, task.startedAt, () => {
        if (--running === 0) resolve(sink.data);
      });
    }
  });
}

// only as a forked load process (the env guard keeps a test that imports this module from taking its IPC)
if (process.send && process.env.SEATMAP_LOAD_WORKER === '1') {
  process.once('message', (task: WorkerTask) => {
    runTask(task).then(
      (metrics) => process.send!({ type: 'done', metrics } satisfies WorkerReply, () => process.exit(0)),
      (err: unknown) => process.send!({ type: 'failed', message: String(err) } satisfies WorkerReply, () => process.exit(1)),
    );
  });
}
