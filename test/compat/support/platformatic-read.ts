/**
 * Reads a topic without a consumer group, through @platformatic/kafka's low-level Consumer.fetch:
 * the broker has no group coordinator yet, and kafkajs' consumer cannot work without one.
 * Used to read back what kafkajs produced and by the crash test (where kcat is not available).
 */
import { Consumer } from '@platformatic/kafka';
import type { ConsumedRecord, Header } from './records.js';

export interface ReadOptions {
  /** Start offset per partition; default: each partition's log start offset. */
  from?: ReadonlyMap<number, bigint>;
  /** Only these partitions; default all. */
  partitions?: readonly number[];
  /** Overall deadline. Default 30 s. */
  timeoutMs?: number;
}

function text(buffer: Buffer | null | undefined): string | null {
  return buffer === null || buffer === undefined ? null : buffer.toString('utf8');
}

/** Reads every record from the start offsets up to the high watermark current when reading began. */
export async function readTopic(bootstrap: string, topic: string, options: ReadOptions = {}): Promise<ConsumedRecord[]> {
  const deadline = Date.now() + (options.timeoutMs ?? 30_000);
  const consumer = new Consumer({
    clientId: 'tributary-test-reader',
    // Required by the client's options; never used, since only fetch/listOffsets/metadata are called.
    groupId: 'unused-no-group',
    bootstrapBrokers: [bootstrap],
    isolationLevel: 'READ_UNCOMMITTED',
    retries: 3,
    retryDelay: 100,
  });
  try {
    const metadata = await consumer.metadata({ topics: [topic], forceUpdate: true });
    const topicMetadata = metadata.topics.get(topic);
    if (!topicMetadata) throw new Error(`topic ${topic} is not in the metadata`);
    const partitions = options.partitions ?? [...Array(topicMetadata.partitionsCount).keys()];
    const ends = (await consumer.listOffsets({ topics: [topic], timestamp: -1n })).get(topic)!;
    const starts = options.from ? undefined : (await consumer.listOffsets({ topics: [topic], timestamp: -2n })).get(topic)!;

    const next = new Map<number, bigint>();
    for (const partition of partitions) next.set(partition, options.from?.get(partition) ?? starts![partition]);

    const records: ConsumedRecord[] = [];
    for (;;) {
      const pending = partitions.filter((partition) => next.get(partition)! < ends[partition]);
      if (pending.length === 0) return records;
      if (Date.now() > deadline) {
        const where = pending.map((p) => `${p}: at ${next.get(p)} of ${ends[p]}`).join(', ');
        throw new Error(`reading ${topic} timed out (${where})`);
      }
      // One request per leader; a single broker leads everything today, but stay honest about it.
      const byLeader = new Map<number, number[]>();
      for (const partition of pending) {
        const leader = topicMetadata.partitions[partition].leader;
        byLeader.set(leader, [...(byLeader.get(leader) ?? []), partition]);
      }
      for (const [leader, leaderPartitions] of byLeader) {
        const response = await consumer.fetch({
          node: leader,
          maxWaitTime: 200,
          minBytes: 1,
          maxBytes: 8 << 20,
          topics: [{
            topicId: topicMetadata.id,
            partitions: leaderPartitions.map((partition) => ({
              partition,
              fetchOffset: next.get(partition)!,
              currentLeaderEpoch: -1,
              lastFetchedEpoch: -1,
              partitionMaxBytes: 4 << 20,
            })),
          }],
        });
        for (const topicResponse of response.responses) {
          for (const partitionResponse of topicResponse.partitions) {
            const partition = partitionResponse.partitionIndex;
            if (partitionResponse.errorCode !== 0) throw new Error(`fetch ${topic}/${partition}: error code ${partitionResponse.errorCode}`);
            for (const batch of partitionResponse.records ?? []) {
              for (const record of batch.records) {
                const offset = batch.firstOffset + BigInt(record.offsetDelta);
                // A batch may start before the requested offset.
                if (offset < next.get(partition)!) continue;
                records.push({
                  partition,
                  offset: Number(offset),
                  key: text(record.key),
                  value: text(record.value),
                  headers: record.headers.map(([key, value]) => [text(key) ?? '', text(value) ?? ''] as Header),
                  timestamp: Number(batch.firstTimestamp + record.timestampDelta),
                });
                next.set(partition, offset + 1n);
              }
              // Skip past records a batch no longer holds (e.g. compacted away).
              const afterBatch = batch.firstOffset + BigInt(batch.lastOffsetDelta) + 1n;
              if (afterBatch > next.get(partition)!) next.set(partition, afterBatch);
            }
          }
        }
      }
    }
  } finally {
    await consumer.close(true);
  }
}
