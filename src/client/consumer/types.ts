/** The consumer's public types (re-exported by consumer.ts) and the per-partition state its parts share. */
import type { ClientOptions } from '../cluster.js';
import type { PartitionAssignor, TopicPartition } from '../assignors/assignor.js';
import type { GroupMetadata, OffsetToCommit } from '../producer.js';

export type { GroupMetadata, OffsetToCommit, TopicPartition };

export interface ConsumerRecord {
  topic: string;
  partition: number;
  offset: number;
  timestamp: number;
  timestampType: 'CreateTime' | 'LogAppendTime';
  key: Buffer | null;
  value: Buffer | null;
  headers: Array<{ key: string; value: Buffer | null }>;
  leaderEpoch: number;
}

export interface RebalanceListener {
  onPartitionsAssigned?(tps: TopicPartition[]): void | Promise<void>;
  onPartitionsRevoked?(tps: TopicPartition[]): void | Promise<void>;
  onPartitionsLost?(tps: TopicPartition[]): void | Promise<void>;
}

export type PartitionAssignorName = 'range' | 'roundrobin' | 'cooperative-sticky';

export interface ConsumerOptions extends ClientOptions {
  /** Without it only assign() is allowed. */
  groupId?: string;
  /** 'classic' (default) or 'consumer' (KIP-848, ConsumerGroupHeartbeat). */
  groupProtocol?: 'classic' | 'consumer';
  /** KIP-848 server-side assignor ('uniform' | 'range'); the broker's default when unset. */
  groupRemoteAssignor?: string;
  /**
   * Classic groups: offered in this order. Default ['range', 'cooperative-sticky'], as Kafka. A PartitionAssignor
   * object is a custom assignor (Java's partition.assignment.strategy naming a class), offered under its name.
   */
  partitionAssignors?: Array<PartitionAssignorName | PartitionAssignor>;
  groupInstanceId?: string;
  sessionTimeoutMs?: number;
  heartbeatIntervalMs?: number;
  /** Also the rebalance timeout. */
  maxPollIntervalMs?: number;
  autoOffsetReset?: 'earliest' | 'latest' | 'none';
  enableAutoCommit?: boolean;
  autoCommitIntervalMs?: number;
  isolationLevel?: 'read_uncommitted' | 'read_committed';
  fetchMinBytes?: number;
  fetchMaxBytes?: number;
  maxPartitionFetchBytes?: number;
  fetchMaxWaitMs?: number;
  maxPollRecords?: number;
  rebalanceListener?: RebalanceListener;
}

export function tpKey(topic: string, partition: number): string {
  return `${topic}\u0000${partition}`;
}

export function sortTps<T extends TopicPartition>(tps: T[]): T[] {
  return tps.sort((a, b) => (a.topic < b.topic ? -1 : a.topic > b.topic ? 1 : a.partition - b.partition));
}

/** What a group membership needs from the consumer it works for. */
export interface GroupHost {
  /** Topics the consumer subscribed to. */
  subscription(): string[];
  /** The broker-side topic regex subscribed to (groupProtocol 'consumer' only), else null. */
  subscriptionRegex(): string | null;
  /** Partitions currently assigned. */
  owned(): TopicPartition[];
  addPartitions(tps: TopicPartition[]): void;
  removePartitions(tps: TopicPartition[]): void;
  /** Before partitions are revoked: commit their positions (auto-commit), then onPartitionsRevoked. */
  revoke(tps: TopicPartition[]): Promise<void>;
  /** Partitions lost (fenced, session expired): no commit, onPartitionsLost. */
  lose(tps: TopicPartition[]): Promise<void>;
  assigned(tps: TopicPartition[]): Promise<void>;
  /** A fatal error for the application: every poll() throws it. */
  fail(err: Error): void;
  /** Time since the application last called poll() (0 while a poll is under way). */
  pollIdleMs(): number;
}
