/**
 * Connection slots per JWT subject, shared by every gateway node through
 * Redis (docs/onsale.md, "Fairness"): a subject may have at most `most`
 * connections open at once, on any nodes. A slot is a member
 * `<node>:<connection>` of the subject's sorted set, scored by its lease end;
 * each node renews the slots of its open connections every third of the
 * lease, so the slots of a node that crashed lapse within one lease instead
 * of leaking. Single-key scripts, so this works on a Cluster too.
 */
import { parseReply } from './results.js';
import { subjectConnectionsKey } from './keys.js';
import type { ScriptRunner } from './script-loader.js';
import { SCRIPTS } from './scripts.js';

export interface SubjectConnectionsOptions {
  scripts: ScriptRunner;
  prefix: string;
  /** this node's id in the members (unique per process) */
  nodeId: string;
  /** slots per subject */
  most: number;
  leaseMs: number;
}

export class SubjectConnections {
  constructor(private readonly options: SubjectConnectionsOptions) {}

  private member(connection: number): string {
    return `${this.options.nodeId}:${connection}`;
  }

  private key(subject: string): { subjectConnections: string } {
    return { subjectConnections: subjectConnectionsKey(this.options.prefix, subject) };
  }

  /** Takes a slot for the connection; `taken` false when the subject has all its slots open. */
  async acquire(subject: string, connection: number): Promise<{ taken: boolean; open: number }> {
    const { most, leaseMs, scripts } = this.options;
    const { rest } = parseReply(
      await scripts.run(SCRIPTS.connectionAcquire, this.key(subject), { now: '', leaseMs, most, member: this.member(connection) }),
    );
    return { taken: Number(rest[0]) === 1, open: Number(rest[1]) };
  }

  /** Renews the slots of this node's open connections of one subject. */
  async renew(subject: string, connections: Iterable<number>): Promise<void> {
    const members = [...connections].map((c) => this.member(c));
    if (members.length === 0) return;
    await this.options.scripts.run(SCRIPTS.connectionRenew, this.key(subject), { now: '', leaseMs: this.options.leaseMs, members: members.join(',') });
  }

  /** Gives a closed connection's slot back. */
  async release(subject: string, connection: number): Promise<void> {
    await this.options.scripts.redis.zrem(this.key(subject).subjectConnections, this.member(connection));
  }
}
