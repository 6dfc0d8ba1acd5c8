/**
 * A fleet of benchmark load processes: the watchers of a figure spread over
 * several processes (each process may hold at most the open-file limit, and
 * each loopback source address has ~28k ports), driven together.
 */
import { fork, type ChildProcess } from 'node:child_process';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Command, OpenCommand, Reply, ViewState, WatchReport } from './protocol.js';

const PROCESS_FILE = path.join(path.dirname(fileURLToPath(import.meta.url)), 'watch-process.ts');
const NODE_ARGS = ['--import', 'tsx', '--max-old-space-size=8192'];

export interface FleetOptions {
  /**
   * Scheduling priority of the processes (nice, 0 to 19). Bulk load at 19
   * takes only the CPU the gateway, Redis and the driver leave over, so on a
   * shared machine the figures measure the gateway rather than a starved one.
   */
  niceness?: number;
  /** process i opens its clients from 127.0.0.(firstAddress + i) */
  firstAddress?: number;
}

export class Fleet {
  private constructor(
    private readonly children: ChildProcess[],
    private readonly firstAddress: number,
  ) {}

  static start(processes: number, { niceness = 0, firstAddress = 10 }: FleetOptions = {}): Fleet {
    // started through nice(1) so that every thread of the process has the priority from its first instruction
    const launch = niceness > 0 ? { execPath: 'nice', execArgv: ['-n', String(niceness), process.execPath, ...NODE_ARGS] } : { execArgv: NODE_ARGS };
    const children = Array.from({ length: processes }, () => fork(PROCESS_FILE, [], { ...launch, stdio: ['ignore', 'inherit', 'inherit', 'ipc'], serialization: 'advanced' }));
    return new Fleet(children, firstAddress);
  }

  /** Several fleets driven as one (each opens its own clients first). */
  static union(...fleets: Fleet[]): Fleet {
    return new Fleet(
      fleets.flatMap((f) => f.children),
      fleets[0]?.firstAddress ?? 10,
    );
  }

  get pids(): number[] {
    return this.children.map((c) => c.pid!);
  }

  private ask(child: ChildProcess, command: Command): Promise<Reply> {
    return new Promise((resolve, reject) => {
      const onExit = (code: number | null) => reject(new Error(`a load process exited with ${code}`));
      child.once('exit', onExit);
      child.once('message', (reply: Reply) => {
        child.off('exit', onExit);
        resolve(reply);
      });
      child.send(command);
    });
  }

  private all(command: Command | ((index: number) => Command)): Promise<Reply[]> {
    return Promise.all(this.children.map((c, i) => this.ask(c, typeof command === 'function' ? command(i) : command)));
  }

  /** Opens `count` watchers over the processes, each from its own source address; resolves when all are subscribed (or failed). */
  async open(options: Omit<OpenCommand, 'cmd' | 'count' | 'localAddress'> & { count: number }): Promise<{ opened: number; failed: number; retried: number; ms: number }> {
    const n = this.children.length;
    const replies = await this.all((i) => ({
      ...options,
      cmd: 'open',
      count: Math.floor(((i + 1) * options.count) / n) - Math.floor((i * options.count) / n),
      localAddress: `127.0.0.${this.firstAddress + i}`,
    }));
    const opens = replies.filter((r): r is Extract<Reply, { cmd: 'open' }> => r.cmd === 'open');
    const total = (key: 'opened' | 'failed' | 'retried') => sum(opens.map((r) => r[key]));
    return { opened: total('opened'), failed: total('failed'), retried: total('retried'), ms: Math.max(...opens.map((r) => r.ms)) };
  }

  async mark(): Promise<void> {
    await this.all({ cmd: 'mark' });
  }

  async report(): Promise<WatchReport> {
    const reports = (await this.all({ cmd: 'report' })).map((r) => (r as Extract<Reply, { cmd: 'report' }>).report);
    const total = (key: 'clients' | 'updates' | 'frames' | 'gaps' | 'duplicates' | 'reconnects') => sum(reports.map((r) => r[key]));
    return {
      clients: total('clients'),
      updates: total('updates'),
      frames: total('frames'),
      gaps: total('gaps'),
      duplicates: total('duplicates'),
      reconnects: total('reconnects'),
      arrivals: reports.flatMap((r) => r.arrivals),
      views: reports.flatMap((r) => r.views),
    };
  }

  /** How many clients have exactly `state` (a cheap poll: no views cross the IPC). */
  async synced(state: ViewState): Promise<number> {
    const replies = (await this.all({ cmd: 'synced', ...state })) as Extract<Reply, { cmd: 'synced' }>[];
    return sum(replies.map((r) => r.count));
  }

  async drop(): Promise<void> {
    await this.all({ cmd: 'drop' });
  }

  /** Every watcher reconnects and resumes at once; resolves when all are resubscribed. */
  async resume(): Promise<{ ms: number; resumed: number }> {
    const replies = (await this.all({ cmd: 'resume' })) as Extract<Reply, { cmd: 'resume' }>[];
    return { ms: Math.max(...replies.map((r) => r.ms)), resumed: sum(replies.map((r) => r.resumed)) };
  }

  async stop(): Promise<void> {
    await this.all({ cmd: 'close' }).catch(() => undefined);
    for (const c of this.children) if (c.exitCode === null) c.kill('SIGTERM');
  }
}

const sum = (values: number[]) => values.reduce((a, b) => a + b, 0);
