/**
 * An internal topic (`__consumer_offsets`, later `__transaction_state`) as a CoordinatorLog, over the
 * broker's TopicManager. Created on first use with cleanup.policy=compact; compaction itself is not
 * implemented yet, so these logs grow until then (retention does not apply to compacted topics).
 */
import type { TopicManager } from '../server/topic-manager.js';
import { buildRecordBatch, decodeRecordBatch, iterateBatches } from '../protocol/records/record.js';
import { CONTROL_FLAG_MASK } from '../protocol/records/record-batch.js';
import type { CoordinatorLog, CoordinatorRecord } from './runtime.js';

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

  async append(partition: number, records: CoordinatorRecord[]): Promise<void> {
    const log = this.topics.log(this.name, partition);
    const now = this.now();
    const batch = buildRecordBatch(records.map((r) => ({ key: r.key, value: r.value, timestamp: now })));
    log.append(batch, { leaderEpoch: 0, recordCount: records.length });
    await log.flush();
  }

  readAll(partition: number, visit: (rec: CoordinatorRecord) => void): void {
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
        if (header.attributes & CONTROL_FLAG_MASK) continue;
        for (const r of decodeRecordBatch(buf, pos).records) {
          if (r.key) visit({ key: r.key, value: r.value });
        }
      }
      if (!advanced) break;
    }
  }
}
