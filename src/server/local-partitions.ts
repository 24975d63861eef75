/**
 * The coordinators' partitions (CoordinatorPartitions over this broker's TopicManager, Logs and Replication).
 * An append is made as the partition's leader, stamped with its leader epoch, and resolves once committed:
 * fsynced on a single node; below the high watermark in a cluster (NOT_LEADER_OR_FOLLOWER once this broker no
 * longer leads it, which the coordinator runtime turns into a resignation).
 */
import type { CoordinatorPartitions, PartitionsTopic, TxnMarker } from '../coordinator/coordinator-partitions.js';
import { KafkaError } from '../errors.js';
import { ErrorCode, errorCodeName } from '../protocol/generated/error-codes.js';
import { incrementSequence } from '../storage/producer-state-manager.js';
import { LocalReplication, type Replication } from './replication.js';
import type { TopicManager } from './topic-manager.js';

/** How long a coordinator's write waits for the ISR (Kafka's coordinators use the request timeout). */
const COMMIT_TIMEOUT_MS = 30_000;

/** A KafkaError named by awaitCommitted's code, unless it is NONE. */
function throwUnlessCommitted(code: number, what: string): void {
  if (code === ErrorCode.NONE) return;
  const name = errorCodeName(code) ?? 'UNKNOWN_SERVER_ERROR';
  throw new KafkaError(name, `${what} not committed: ${name}`);
}

/** Sends a marker to the partition's leader on another broker (WriteTxnMarkers); a cluster provides it. */
export type RemoteMarkerWriter = (leaderId: number, topic: string, partition: number, marker: TxnMarker) => Promise<void>;

export class LocalPartitions implements CoordinatorPartitions {
  private readonly replication: Replication;

  constructor(
    private readonly topics: TopicManager,
    replication?: Replication,
    /** Replication factor of a new internal topic (offsets.topic.replication.factor…; 1 on a single node). */
    private readonly internalReplicationFactor: (topic: string) => number = () => 1,
    private readonly nodeId = -1,
    private readonly remoteMarkers: RemoteMarkerWriter | null = null,
  ) {
    // Without one, a single node's: this broker (whatever its id) leads every partition at epoch 0.
    this.replication = replication ?? new LocalReplication(() => ({ nodeId, host: '', port: 0, rack: null }), (t) => topics.get(t)?.partitions);
  }

  topic(name: string): PartitionsTopic | undefined {
    const t = this.topics.get(name);
    return t && { topicId: t.topicId, partitions: t.partitions };
  }

  topicNames(): Iterable<string> {
    return this.topics.names();
  }

  topicNamesVersion(): number {
    return this.topics.namesVersion();
  }

  async createTopic(name: string, partitions: number, config: Record<string, string>): Promise<void> {
    await this.topics.create(name, { partitions, replicationFactor: this.internalReplicationFactor(name), config });
  }

  offsets(topic: string, partition: number): { logStartOffset: number; logEndOffset: number } | undefined {
    const log = this.topics.tryLog(topic, partition);
    return log && { logStartOffset: log.logStartOffset, logEndOffset: log.logEndOffset };
  }

  read(topic: string, partition: number, offset: number, maxBytes: number): Buffer {
    return this.topics.log(topic, partition).read(offset, maxBytes, true);
  }

  nextSequence(topic: string, partition: number, producerId: bigint, producerEpoch: number): number {
    const e = this.topics.log(topic, partition).producerState.entry(producerId);
    const last = e && e.epoch === producerEpoch ? e.batches.at(-1) : undefined;
    return last ? incrementSequence(last.lastSeq, 1) : 0;
  }

  async append(topic: string, partition: number, batch: Buffer, recordCount: number): Promise<void> {
    const leaderEpoch = this.replication.leaderEpochFor(topic, partition);
    const log = this.topics.log(topic, partition);
    const minIsr = log.config.minInsyncReplicas;
    this.replication.checkEnoughReplicas(topic, partition, minIsr);
    const appended = log.append(batch, { leaderEpoch, recordCount });
    throwUnlessCommitted(await this.replication.awaitCommitted(topic, partition, log, appended.lastOffset + 1, minIsr, COMMIT_TIMEOUT_MS), `write to ${topic}-${partition}`);
  }

  writeTxnMarker(topic: string, partition: number, marker: TxnMarker): Promise<void> | undefined {
    if (!this.replication.clustered) {
      const log = this.topics.tryLog(topic, partition);
      if (!log) return undefined;
      log.writeTxnMarker(marker);
      return log.flush();
    }
    const info = this.replication.partitionInfo(topic, partition);
    if (!info) return undefined;
    if (info.leader === this.nodeId) return this.writeLocalMarker(topic, partition, marker);
    if (info.leader < 0 || !this.remoteMarkers) {
      return Promise.reject(new KafkaError('NOT_LEADER_OR_FOLLOWER', `${topic}-${partition} has no leader to write the transaction marker to`));
    }
    return this.remoteMarkers(info.leader, topic, partition, marker);
  }

  /** A marker on a partition this broker leads: written, then awaited until committed (Kafka writes markers with acks=all). */
  async writeLocalMarker(topic: string, partition: number, marker: TxnMarker): Promise<void> {
    this.replication.leaderEpochFor(topic, partition);
    const log = this.topics.log(topic, partition);
    const offset = log.writeTxnMarker(marker);
    throwUnlessCommitted(await this.replication.awaitCommitted(topic, partition, log, offset + 1, 1, COMMIT_TIMEOUT_MS), `transaction marker on ${topic}-${partition}`);
  }
}
