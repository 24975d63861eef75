/**
 * The coordinators' partitions on a single node (CoordinatorPartitions over this broker's TopicManager and
 * Logs): this broker leads every partition, an append is durable once fsynced. The cluster replaces it with
 * an implementation that checks partition leadership and waits for the high watermark.
 */
import type { CoordinatorPartitions, PartitionsTopic, TxnMarker } from '../coordinator/coordinator-partitions.js';
import { incrementSequence } from '../storage/producer-state-manager.js';
import { LEADER_EPOCH } from './broker-context.js';
import type { TopicManager } from './topic-manager.js';

export class LocalPartitions implements CoordinatorPartitions {
  constructor(private readonly topics: TopicManager) {}

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
    await this.topics.create(name, { partitions, replicationFactor: 1, config });
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
    const log = this.topics.log(topic, partition);
    log.append(batch, { leaderEpoch: LEADER_EPOCH, recordCount });
    await log.flush();
  }

  writeTxnMarker(topic: string, partition: number, marker: TxnMarker): Promise<void> | undefined {
    const log = this.topics.tryLog(topic, partition);
    if (!log) return undefined;
    log.writeTxnMarker(marker);
    return log.flush();
  }
}
