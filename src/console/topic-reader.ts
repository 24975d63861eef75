// Reads a small (compacted) topic from its beginning to its end offsets of now, within a time budget: what the
// console shows of the state other processes keep in topics (pipeline source offsets, published topologies).
import { Consumer, type ConsumerRecord } from '../client/consumer.js';
import type { ConsoleApp } from './router.js';

/** Calls onRecord for each record in offset order per partition; partial when the budget ran out first. */
export async function readTopicToEnd(
  app: ConsoleApp, topic: string, options: { clientId: string; budgetMs: number; isolationLevel?: 'read_committed' | 'read_uncommitted'; maxPollRecords?: number },
  onRecord: (r: ConsumerRecord) => void,
): Promise<{ partial: boolean }> {
  const { admin } = app.kafka;
  if (!(await admin.listTopics({ includeInternal: true })).includes(topic)) return { partial: false };
  const [described] = await admin.describeTopics([topic]);
  const tps = described!.partitions.map((p) => ({ topic, partition: p.partition }));
  const isolationLevel = options.isolationLevel ?? 'read_uncommitted';
  const ends = (await admin.listOffsets(tps.map((tp) => ({ ...tp, timestamp: 'latest' as const })), { isolationLevel })).filter((e) => e.offset > 0);
  if (ends.length === 0) return { partial: false };
  const consumer = new Consumer({
    ...app.kafka.clientOptions, clientId: options.clientId, isolationLevel, autoOffsetReset: 'earliest', enableAutoCommit: false, fetchMaxWaitMs: 200,
    ...(options.maxPollRecords !== undefined ? { maxPollRecords: options.maxPollRecords } : {}),
  });
  try {
    await consumer.connect();
    consumer.assign(ends.map((e) => ({ topic: e.topic, partition: e.partition })));
    const deadline = Date.now() + options.budgetMs;
    while (ends.some((e) => (consumer.position(e) ?? 0) < e.offset)) {
      const remaining = deadline - Date.now();
      if (remaining <= 0) return { partial: true };
      for (const r of await consumer.poll(Math.min(remaining, 500))) onRecord(r);
    }
    return { partial: false };
  } finally {
    await consumer.close().catch(() => {});
  }
}
