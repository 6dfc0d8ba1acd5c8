/**
 * A process per core: with WORKERS=N the process `npm start` runs becomes a
 * supervisor that runs N gateway processes (node:cluster workers) on one
 * port. Each worker listens itself with SO_REUSEPORT (uWS does not go through
 * Node's handle sharing), so the kernel spreads connections over them; each
 * has its own rooms, change feed and Redis connections, like a node of its
 * own. They elect one of them (a lease in Redis, core/store/lease.ts) to run
 * the booking flusher, the expiry sweeper and the lifecycle timers.
 *
 * With PORT=0 the supervisor picks a free port for all of them first (a
 * port the kernel picked at bind time cannot be shared by another process's
 * SO_REUSEPORT socket). It restarts a worker that dies, and on SIGTERM or SIGINT
 * stops them all (each drains as one gateway does) and exits 0 when all did.
 * With METRICS_PORT it serves every worker's metrics, labelled `worker`, at
 * /metrics on that port; each worker's own /metrics on the shared port
 * answers for the worker the connection landed on.
 */
import cluster, { type Worker } from 'node:cluster';
import { createServer, type Server } from 'node:http';
import net from 'node:net';
import type { Logger } from 'pino';
import { AggregatorRegistry, Registry } from 'prom-client';
import type { GatewayConfig } from './config.js';

/** a worker's metrics as Registry.getMetricsAsJSON gives them */
type MetricsJson = Awaited<ReturnType<Registry['getMetricsAsJSON']>>;

/** Messages between the supervisor and a worker (cluster IPC). */
export type WorkerMessage =
  | { t: 'listening'; port: number }
  | { t: 'metrics?'; id: number }
  | { t: 'metrics'; id: number; metrics: MetricsJson };

/** a worker that dies this soon after its start is restarted only after a pause */
const RESTART_PAUSE_MS = 1000;
const METRICS_TIMEOUT_MS = 2000;

export interface SupervisorOptions {
  config: GatewayConfig;
  logger: Logger;
  /** the module each worker runs (gateway/main.ts) */
  entry: string;
}

/** Runs the supervisor until every worker has stopped after a signal; resolves to the exit code. */
export async function superviseWorkers({ config, logger, entry }: SupervisorOptions): Promise<number> {
  const count = config.workers.count;
  cluster.setupPrimary({ exec: entry, execArgv: process.execArgv });
  const workers = new Map<number, Worker>();
  let stopping = false;
  let failed = false;
  let port = config.port;

  const fork = (id: number): Promise<number> => {
    const env = {
      WORKER_ID: String(id),
      PORT: String(port),
      REUSE_PORT: '1',
      BACKGROUND_LEASE: '1',
      // only the supervisor supervises
      WORKERS: '1',
    };
    const worker = cluster.fork(env);
    workers.set(id, worker);
    const startedAt = Date.now();
    worker.on('exit', (code, signal) => {
      if (workers.get(id) === worker) workers.delete(id);
      if (stopping) {
        if (code !== 0) failed = true;
        return;
      }
      logger.error({ worker: id, code, signal }, 'gateway worker died; starting it again');
      const pause = Date.now() - startedAt < RESTART_PAUSE_MS ? RESTART_PAUSE_MS : 0;
      setTimeout(() => {
        if (!stopping) fork(id).catch((err: unknown) => logger.error({ err, worker: id }, 'gateway worker did not start again'));
      }, pause);
    });
    return new Promise((resolve, reject) => {
      const onMessage = (m: WorkerMessage) => {
        if (m.t !== 'listening') return;
        worker.off('message', onMessage);
        resolve(m.port);
      };
      worker.on('message', onMessage);
      worker.once('exit', (code) => reject(new Error(`gateway worker ${id} exited with ${code} before it listened`)));
    });
  };

  const done = new Promise<number>((resolve) => {
    const stop = (signal: string) => {
      if (stopping) return;
      stopping = true;
      logger.info({ signal, workers: workers.size }, 'stopping every gateway worker');
      metricsServer?.close();
      if (workers.size === 0) return resolve(failed ? 1 : 0);
      for (const w of workers.values()) w.process.kill('SIGTERM');
      cluster.on('exit', () => {
        if (workers.size === 0) resolve(failed ? 1 : 0);
      });
    };
    process.on('SIGTERM', () => stop('SIGTERM'));
    process.on('SIGINT', () => stop('SIGINT'));
  });

  let metricsServer: Server | null = null;
  try {
    if (port === 0) port = await freePort(config.host);
    await Promise.all(Array.from({ length: count }, (_, i) => fork(i + 1)));
  } catch (err) {
    logger.error({ err }, 'gateway workers did not start');
    stopping = true;
    for (const w of workers.values()) w.process.kill('SIGTERM');
    return 1;
  }
  if (config.workers.metricsPort > 0) metricsServer = await serveMetrics(config, workers, logger);
  logger.info({ port, workers: count, metricsPort: config.workers.metricsPort || null }, 'gateway workers ready');
  return done;
}

/** A port free now on `host`, for the workers to share. */
function freePort(host: string): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = net.createServer();
    server.once('error', reject);
    server.listen({ port: 0, host, exclusive: true }, () => {
      const { port } = server.address() as net.AddressInfo;
      server.close(() => resolve(port));
    });
  });
}

/** Every worker's metrics on one port: asked over IPC, merged (their `worker` labels keep them apart). */
function serveMetrics(config: GatewayConfig, workers: Map<number, Worker>, logger: Logger): Promise<Server> {
  let asked = 0;
  const ask = (worker: Worker): Promise<MetricsJson> =>
    new Promise((resolve) => {
      const id = ++asked;
      const timer = setTimeout(() => finish([]), METRICS_TIMEOUT_MS); // a worker restarting is left out
      const onMessage = (m: WorkerMessage) => m.t === 'metrics' && m.id === id && finish(m.metrics);
      const finish = (metrics: MetricsJson) => {
        clearTimeout(timer);
        worker.off('message', onMessage);
        resolve(metrics);
      };
      worker.on('message', onMessage);
      worker.send({ t: 'metrics?', id } satisfies WorkerMessage);
    });
  const server = createServer((req, res) => {
    if (req.method !== 'GET' || req.url !== '/metrics') {
      res.writeHead(404, { 'content-type': 'text/plain' }).end('only GET /metrics here\n');
      return;
    }
    Promise.all([...workers.values()].map(ask))
      .then((all) => AggregatorRegistry.aggregate(all.filter((m) => m.length > 0)).metrics())
      .then(
        (text) => res.writeHead(200, { 'content-type': Registry.PROMETHEUS_CONTENT_TYPE }).end(text),
        (err: unknown) => {
          logger.warn({ err }, 'workers metrics failed');
          res.writeHead(500).end();
        },
      );
  });
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(config.workers.metricsPort, config.host, () => resolve(server));
  });
}

/** In a worker: tells the supervisor the port, and answers its requests for metrics. */
export function serveSupervisor(port: number, metrics: () => Promise<MetricsJson>): void {
  if (!process.send) return;
  process.send({ t: 'listening', port } satisfies WorkerMessage);
  process.on('message', (m: WorkerMessage) => {
    if (m.t !== 'metrics?') return;
    metrics().then(
      (list) => process.send?.({ t: 'metrics', id: m.id, metrics: list } satisfies WorkerMessage),
      () => process.send?.({ t: 'metrics', id: m.id, metrics: [] } satisfies WorkerMessage),
    );
  });
}
