/**
 * The IPC between the benchmark and its load processes: each process opens a
 * share of the clients from its own loopback source address and answers
 * commands, so the gateway's CPU and memory can be read apart from theirs.
 */
export interface OpenCommand {
  cmd: 'open';
  /** 'gateway': protocol v1 over ws; 'socketio': the Socket.IO baseline */
  kind: 'gateway' | 'socketio';
  url: string;
  ev: string;
  count: number;
  /** token for every client (gateway) */
  token: string | null;
  localAddress?: string;
  /** every n-th client logs the arrival of each frame (for delays); 0: none */
  sampleEvery: number;
  /** connections opened at once */
  concurrency: number;
}

/** A state both sides can compare: the seq a view is at and its checksum. */
export interface ViewState {
  seq: number;
  sum: number;
}

export type Command =
  | OpenCommand
  | { cmd: 'mark' }
  | { cmd: 'report' }
  | ({ cmd: 'synced' } & ViewState)
  | { cmd: 'drop' }
  | { cmd: 'resume' }
  | { cmd: 'close' };

export interface WatchReport {
  clients: number;
  /** seat updates and frames received since the last mark */
  updates: number;
  frames: number;
  gaps: number;
  duplicates: number;
  /** connections the server closed (e.g. 4008, slow consumer) that reconnected and resumed since the last mark */
  reconnects: number;
  /** sampled clients' frames: [to, arrivedAt, to, arrivedAt, ...] per client */
  arrivals: number[][];
  /** seq and a checksum of the state of each client, to compare with Redis */
  views: ViewState[];
}

export type Reply =
  /** retried: connects tried again after the connection dropped before it was subscribed */
  | { cmd: 'open'; opened: number; failed: number; retried: number; ms: number }
  | { cmd: 'report'; report: WatchReport }
  | { cmd: 'synced'; count: number }
  | { cmd: 'drop' | 'mark' | 'close' }
  | { cmd: 'resume'; ms: number; resumed: number };

/** A state checksum both sides compute the same way. */
export function stateSum(status: Uint8Array): number {
  let sum = 0;
  for (let i = 0; i < status.length; i++) sum = (sum * 31 + status[i]! + 1) >>> 0;
  return sum;
}
