/**
 * KIP-951 leader discovery: a Produce (v10+) or Fetch (v16+) partition answered NOT_LEADER_OR_FOLLOWER or
 * FENCED_LEADER_EPOCH carries the partition's current leader and leader epoch (current_leader), and the
 * response lists the endpoints of the leaders it names (node_endpoints), so a client retries at the new leader
 * without a Metadata round trip. The generated codecs leave both tagged fields out of older versions (Fetch's
 * current_leader exists from v12 for KRaft's own fetches, but Kafka fills it for clients only from v16, with the
 * endpoints; so does Tributary).
 */
import { ErrorCode } from '../protocol/generated/error-codes.js';
import { brokersOn, type Replication } from './replication.js';

export interface CurrentLeader {
  leaderId: number;
  leaderEpoch: number;
}

export interface LeaderEndpoint {
  nodeId: number;
  host: string;
  port: number;
  rack: string | null;
}

/** Collects the leaders named in one response. */
export class LeaderHints {
  private readonly named = new Set<number>();

  constructor(
    private readonly replication: Replication,
    /** The listener the request came in on: endpoints are that listener's. */
    private readonly listenerName?: string,
  ) {}

  /** The current_leader for a partition answered `errorCode`; undefined unless the error calls for one. */
  currentLeader(topic: string, partition: number, errorCode: number): CurrentLeader | undefined {
    if (errorCode !== ErrorCode.NOT_LEADER_OR_FOLLOWER && errorCode !== ErrorCode.FENCED_LEADER_EPOCH) return undefined;
    const info = this.replication.partitionInfo(topic, partition);
    if (!info) return undefined;
    if (info.leader >= 0) this.named.add(info.leader);
    return { leaderId: info.leader, leaderEpoch: info.leaderEpoch };
  }

  /** The endpoints of the live leaders named so far, by node id. */
  nodeEndpoints(): LeaderEndpoint[] {
    if (this.named.size === 0) return [];
    return brokersOn(this.replication.brokers(), this.listenerName)
      .filter((b) => this.named.has(b.nodeId))
      .sort((a, b) => a.nodeId - b.nodeId)
      .map((b) => ({ nodeId: b.nodeId, host: b.host, port: b.port, rack: b.rack }));
  }
}
