/**
 * Replication as the handlers see it: who leads a partition, at which leader epoch, when an acks=all write is
 * committed, and what the cluster looks like for Metadata/DescribeCluster/FindCoordinator. Two implementations:
 * LocalReplication (the single-node broker: this broker leads every partition at epoch 0, a write is committed
 * once fsynced) and ClusterReplication (server/cluster-mode.ts: the etcd image and the ReplicaManager).
 */
import type { CredentialBackend } from '../security/credential-store.js';
import type { AclBackend } from '../security/acl-store.js';
import type { ClientQuotaBackend } from '../security/client-quotas.js';
import { KafkaError } from '../errors.js';
import { ErrorCode } from '../protocol/generated/error-codes.js';
import type { Log } from '../storage/log.js';
import type { Controller } from '../cluster/controller.js';
import type { ListenerEndpoint } from './listeners.js';

export interface BrokerEndpoint {
  readonly nodeId: number;
  /** The inter-broker listener's endpoint. */
  readonly host: string;
  readonly port: number;
  readonly rack: string | null;
  /** Every advertised listener (absent in a registration from a broker that predates several listeners). */
  readonly listeners?: readonly ListenerEndpoint[];
}

/**
 * A broker's endpoint on the named listener (the one a request came in on), as Kafka answers Metadata:
 * undefined when the broker does not have that listener. Without a listener name (in-process callers), or
 * for a registration that lists no listeners, the inter-broker endpoint.
 */
export function endpointOn(b: BrokerEndpoint, listenerName: string | undefined): BrokerEndpoint | undefined {
  if (listenerName === undefined || !b.listeners || b.listeners.length === 0) return b;
  const l = b.listeners.find((x) => x.name === listenerName);
  return l ? { nodeId: b.nodeId, host: l.host, port: l.port, rack: b.rack } : undefined;
}

/** Live brokers as seen from a listener (brokers without it are left out). */
export function brokersOn(brokers: readonly BrokerEndpoint[], listenerName: string | undefined): BrokerEndpoint[] {
  const out: BrokerEndpoint[] = [];
  for (const b of brokers) {
    const e = endpointOn(b, listenerName);
    if (e) out.push(e);
  }
  return out;
}

export interface PartitionInfo {
  /** -1 when the partition has no leader. */
  readonly leader: number;
  readonly leaderEpoch: number;
  readonly replicas: readonly number[];
  readonly isr: readonly number[];
  /** Replicas on brokers that are not alive. */
  readonly offline: readonly number[];
}

export interface Replication {
  /** True in a cluster (etcd); false for the single-node broker. */
  readonly clustered: boolean;
  /** Where SCRAM credentials are shared by every broker (etcd); absent on a single node (the data dir). */
  credentialBackend?(): CredentialBackend;
  /** Where ACLs are shared by every broker (etcd); absent on a single node (the data dir). */
  aclBackend?(): AclBackend;
  /** Where client quotas are shared by every broker (etcd); absent on a single node (the data dir). */
  clientQuotaBackend?(): ClientQuotaBackend;
  /** Live brokers, this one included. */
  brokers(): BrokerEndpoint[];
  controllerId(): number;
  /** The partition as the metadata says, undefined if the topic or partition does not exist. */
  partitionInfo(topic: string, partition: number): PartitionInfo | undefined;
  /**
   * The leader epoch to stamp on an append by this broker as the partition's leader; throws KafkaError
   * NOT_LEADER_OR_FOLLOWER when another broker leads it (or none does), UNKNOWN_TOPIC_OR_PARTITION when it does not exist.
   */
  leaderEpochFor(topic: string, partition: number): number;
  /**
   * The error for a client request naming the leader epoch it believes current (Fetch, ListOffsets,
   * OffsetForLeaderEpoch) at the partition's leader: NONE for -1 or ours, FENCED_LEADER_EPOCH if older,
   * UNKNOWN_LEADER_EPOCH if newer.
   */
  checkLeaderEpoch(topic: string, partition: number, currentLeaderEpoch: number): number;
  /** acks=all, before appending: NOT_ENOUGH_REPLICAS when the ISR is smaller than min.insync.replicas. */
  checkEnoughReplicas(topic: string, partition: number, minIsr: number): void;
  /**
   * acks=all, after appending: resolves with NONE once every offset below `endOffset` is committed (fsynced
   * here and, in a cluster, below the high watermark), or an error code: NOT_ENOUGH_REPLICAS_AFTER_APPEND,
   * NOT_LEADER_OR_FOLLOWER (leadership lost), REQUEST_TIMED_OUT, KAFKA_STORAGE_ERROR.
   */
  awaitCommitted(topic: string, partition: number, log: Log, endOffset: number, minIsr: number, timeoutMs: number): Promise<number>;
  /**
   * A follower's fetch at the leader (Fetch with a replica id): records the follower's log end and may move
   * the high watermark. Returns an error code for the partition (NONE to go on and read).
   */
  onFollowerFetch(topic: string, partition: number, replicaId: number, fetchOffset: number, currentLeaderEpoch: number): number;
  /**
   * Leader-side replication throttle (KIP-73) for a follower's fetch of a partition: null when not throttled
   * (no leader.replication.throttled.rate, the replica not listed in the topic's leader.replication.throttled.replicas,
   * or already in the ISR); else the bytes it may read now (0: leave the partition out of this response) and
   * `take` to charge what it read.
   */
  leaderThrottle?(topic: string, partition: number, replicaId: number): { available: number; take(bytes: number): void } | null;
  /** In a cluster: the running Controller while this broker is the elected controller, else null (ElectLeaders, reassignments). */
  activeController?(): Controller | null;
}

/** The single-node broker: leader of everything at epoch 0; committed = fsynced. */
export class LocalReplication implements Replication {
  readonly clustered = false;

  constructor(private readonly self: () => BrokerEndpoint, private readonly partitionCount: (topic: string) => number | undefined) {}

  brokers(): BrokerEndpoint[] {
    return [this.self()];
  }

  controllerId(): number {
    return this.self().nodeId;
  }

  partitionInfo(topic: string, partition: number): PartitionInfo | undefined {
    const count = this.partitionCount(topic);
    if (count === undefined || partition < 0 || partition >= count) return undefined;
    const replicas = [this.self().nodeId];
    return { leader: replicas[0]!, leaderEpoch: 0, replicas, isr: replicas, offline: [] };
  }

  leaderEpochFor(topic: string, partition: number): number {
    // On every produce and fetch partition: a count check, no PartitionInfo built.
    const count = this.partitionCount(topic);
    if (count === undefined || partition < 0 || partition >= count) throw new KafkaError('UNKNOWN_TOPIC_OR_PARTITION', `This server does not host ${topic}-${partition}`);
    return 0;
  }

  checkLeaderEpoch(_topic: string, _partition: number, currentLeaderEpoch: number): number {
    return epochError(currentLeaderEpoch, 0);
  }

  checkEnoughReplicas(): void {}

  async awaitCommitted(topic: string, partition: number, log: Log): Promise<number> {
    try {
      await log.flush();
      return ErrorCode.NONE;
    } catch {
      return ErrorCode.KAFKA_STORAGE_ERROR;
    }
  }

  onFollowerFetch(): number {
    return ErrorCode.NOT_LEADER_OR_FOLLOWER;
  }
}

/** NONE for no epoch (-1) or the current one; FENCED_LEADER_EPOCH for an older one, UNKNOWN_LEADER_EPOCH for a newer one. */
export function epochError(requested: number, current: number): number {
  if (requested < 0 || requested === current) return ErrorCode.NONE;
  return requested > current ? ErrorCode.UNKNOWN_LEADER_EPOCH : ErrorCode.FENCED_LEADER_EPOCH;
}
