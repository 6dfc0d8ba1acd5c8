/**
 * npm run services -- status|start|stop (the command line of scripts/services/)
 *
 *   status  what answers at REDIS_URL / DATABASE_URL, and the servers this project started under .data/
 *   start   find or start both services (same as what `npm start` / `npm test` do)
 *   stop    stop only the servers this project started (pidfiles under .data/)
 */
import {
  DEFAULT_DATABASE_URL,
  DEFAULT_REDIS_URL,
  displayPath,
  ensureServices,
  listLocalServers,
  probePostgres,
  probeRedis,
  redact,
  stopLocalServices,
  type ProbeResult,
} from './services/index.js';

const log = (msg: string) => process.stdout.write(`${msg}\n`);

function describe(res: ProbeResult): string {
  if (res.ok) return `answers (${res.ms} ms)`;
  if (res.answered) return `answers but refuses: ${res.error}`;
  return `not reachable: ${res.error}`;
}

async function status(): Promise<number> {
  const redisUrl = process.env.REDIS_URL || DEFAULT_REDIS_URL;
  const databaseUrl = process.env.DATABASE_URL || DEFAULT_DATABASE_URL;
  const [redis, postgres] = await Promise.all([probeRedis(redisUrl), probePostgres(databaseUrl)]);
  log(`redis     ${redact(redisUrl)}  ${describe(redis)}`);
  log(`postgres  ${redact(databaseUrl)}  ${describe(postgres)}`);
  const local = listLocalServers();
  if (local.length > 0) {
    log('\nservers under .data/ (started by this project):');
    for (const s of local) {
      const state = s.running ? `running, pid ${s.pid}` : 'stopped';
      log(`  ${s.kind.padEnd(8)}  port ${s.port}  ${state}  ${displayPath(s.dir)}`);
    }
  }
  return redis.ok && postgres.ok ? 0 : 1;
}

async function start(): Promise<number> {
  const res = await ensureServices({ redis: true, postgres: true, logger: log });
  log(`REDIS_URL=${redact(res.redisUrl)}`);
  log(`DATABASE_URL=${redact(res.databaseUrl)}`);
  if (res.started.length === 0) log('(nothing needed starting)');
  return 0;
}

async function stop(): Promise<number> {
  const stopped = await stopLocalServices({ logger: log });
  log(stopped.length > 0 ? `stopped: ${stopped.join('; ')}` : 'no servers started by this project are running');
  return 0;
}

const commands: Record<string, () => Promise<number>> = { status, start, stop };
const name = process.argv.slice(2).find((a) => a !== '--') ?? 'status';
const command = commands[name];
if (!command) {
  process.stderr.write(`usage: npm run services -- status|start|stop   (got "${name}")\n`);
  process.exit(2);
}
try {
  process.exit(await command());
} catch (err) {
  process.stderr.write(`\n${err instanceof Error ? err.message : String(err)}\n`);
  process.exit(1);
}
