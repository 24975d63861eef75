/**
 * An internal topic (`__consumer_offsets`, `__transaction_state`) as a CoordinatorLog, over the broker's
 * TopicManager. Created on first use with cleanup.policy=compact, so the log cleaner keeps only the latest
 * record per key and drops tombstones (deleted groups and offsets, expired transactional ids) after
 * delete.retention.ms: start-up replays live state. readAll follows the offset gaps compaction leaves.
 *
 * A transactional append (TxnOffsetCommit) is one batch with the producer's id, epoch and transactional flag,
 * so the partition's producer state sees it as the producer's ongoing transaction, closed by the marker the
 * transaction coordinator writes (Log.writeTxnMarker). Its sequence continues the producer's last batch on
 * this partition (0 in a new epoch): the log checks sequences, and only this coordinator writes here.
 */
import type { TopicManager } from '../server/topic-manager.js';
import { buildRecordBatch, decodeRecordBatch, iterateBatches, readControlRecord, type BuildBatchOptions } from '../protocol/records/record.js';
import { CONTROL_FLAG_MASK, TRANSACTIONAL_FLAG_MASK } from '../protocol/records/record-batch.js';
import { incrementSequence } from '../storage/producer-state-manager.js';
import type { CoordinatorLog, CoordinatorRecord, TxnProducer } from './runtime.js';

const READ_CHUNK = 1 << 20;

export class TopicCoordinatorLog implements CoordinatorLog {
  constructor(
    private readonly topics: TopicManager,
    readonly name: string,
    private readonly partitions: number,
    private readonly config: Record<string, string>,
    private readonly now: () => number,
  ) {}

  partitionCount(): number {
    return this.topics.get(this.name)?.partitions ?? this.partitions;
  }

  exists(): boolean {
    return this.topics.get(this.name) !== undefined;
  }

  async ensure(): Promise<void> {
    if (this.exists()) return;
    await this.topics.create(this.name, { partitions: this.partitions, replicationFactor: 1, config: this.config });
  }

  async append(partition: number, records: CoordinatorRecord[], producer?: TxnProducer): Promise<void> {
    const log = this.topics.log(this.name, partition);
    const now = this.now();
    let opts: BuildBatchOptions = {};
    if (producer) {
      const e = log.producerState.entry(producer.producerId);
      const last = e && e.epoch === producer.producerEpoch ? e.batches.at(-1) : undefined;
      const baseSequence = last ? incrementSequence(last.lastSeq, 1) : 0;
      opts = { producerId: producer.producerId, producerEpoch: producer.producerEpoch, baseSequence, transactional: true };
    }
    const batch = buildRecordBatch(records.map((r) => ({ key: r.key, value: r.value, timestamp: now })), opts);
    log.append(batch, { leaderEpoch: 0, recordCount: records.length });
    await log.flush();
  }

  readAll(partition: number, visit: (rec: CoordinatorRecord, producerId?: bigint) => void, marker?: (producerId: bigint, commit: boolean) => void): void {
    const log = this.topics.tryLog(this.name, partition);
    if (!log) return;
    let offset = log.logStartOffset;
    while (offset < log.logEndOffset) {
      const buf = log.read(offset, READ_CHUNK, true);
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
