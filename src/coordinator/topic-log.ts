/**
 * An internal topic (`__consumer_offsets`, `__transaction_state`) as a CoordinatorLog, over the
 * CoordinatorPartitions the broker injects. Created on first use with cleanup.policy=compact, so the log
 * cleaner keeps only the latest record per key and drops tombstones (deleted groups and offsets, expired
 * transactional ids) after delete.retention.ms: start-up replays live state. readAll follows the offset gaps
 * compaction leaves.
 *
 * A transactional append (TxnOffsetCommit) is one batch with the producer's id, epoch and transactional flag,
 * so the partition's producer state sees it as the producer's ongoing transaction, closed by the marker the
 * transaction coordinator writes (CoordinatorPartitions.writeTxnMarker). Its sequence continues the producer's
 * last batch on this partition (0 in a new epoch): the log checks sequences, and only this coordinator writes here.
 */
import { buildRecordBatch, decodeRecordBatch, iterateBatches, readControlRecord, type BuildBatchOptions } from '../protocol/records/record.js';
import { CONTROL_FLAG_MASK, TRANSACTIONAL_FLAG_MASK } from '../protocol/records/record-batch.js';
import type { CoordinatorPartitions } from './coordinator-partitions.js';
import type { CoordinatorLog, CoordinatorRecord, TxnProducer } from './runtime.js';

const READ_CHUNK = 1 << 20;

export class TopicCoordinatorLog implements CoordinatorLog {
  constructor(
    private readonly partitions: CoordinatorPartitions,
    readonly name: string,
    private readonly numPartitions: number,
    private readonly config: Record<string, string>,
    private readonly now: () => number,
  ) {}

  partitionCount(): number {
    return this.partitions.topic(this.name)?.partitions ?? this.numPartitions;
  }

  exists(): boolean {
    return this.partitions.topic(this.name) !== undefined;
  }

  async ensure(): Promise<void> {
    if (this.exists()) return;
    await this.partitions.createTopic(this.name, this.numPartitions, this.config);
  }

  async append(partition: number, records: CoordinatorRecord[], producer?: TxnProducer): Promise<void> {
    const now = this.now();
    let opts: BuildBatchOptions = {};
    if (producer) {
      const baseSequence = this.partitions.nextSequence(this.name, partition, producer.producerId, producer.producerEpoch);
      opts = { producerId: producer.producerId, producerEpoch: producer.producerEpoch, baseSequence, transactional: true };
    }
    const batch = buildRecordBatch(records.map((r) => ({ key: r.key, value: r.value, timestamp: now })), opts);
    await this.partitions.append(this.name, partition, batch, records.length);
  }

  readAll(partition: number, visit: (rec: CoordinatorRecord, producerId?: bigint) => void, marker?: (producerId: bigint, commit: boolean) => void): void {
    const offsets = this.partitions.offsets(this.name, partition);
    if (!offsets) return;
    let offset = offsets.logStartOffset;
    while (offset < offsets.logEndOffset) {
      const buf = this.partitions.read(this.name, partition, offset, READ_CHUNK);
      let advanced = false;
      for (const { pos, header } of iterateBatches(buf)) {
        const next = header.baseOffset + header.lastOffsetDelta + 1;
        if (next <= offset) continue;
        offset = next;
        advanced = true;
        if (header.attributes & CONTROL_FLAG_MASK) {
          const control = readControlRecord(decodeRecordBatch(buf, pos).records[0]!);
          if (control.type !== 'UNKNOWN') marker?.(header.producerId, control.type === 'COMMIT');
          continue;
        }
        const producerId = header.attributes & TRANSACTIONAL_FLAG_MASK ? header.producerId : undefined;
        for (const r of decodeRecordBatch(buf, pos).records) {
          if (r.key) visit({ key: r.key, value: r.value }, producerId);
        }
      }
      if (!advanced) break;
    }
  }
}
