// DescribeTopicPartitions (key 75), v0. Paged topic/partition metadata (KIP-966): at most
// responsePartitionLimit partitions per response, continued from a cursor. An empty topic list means all.
import { ZERO_UUID } from '../../protocol/primitives/codec.js';
import { DescribeTopicPartitionsRequest } from '../../protocol/generated/describe-topic-partitions-request.js';
import { DescribeTopicPartitionsResponse, type DescribeTopicPartitionsResponseInit, type DescribeTopicPartitionsResponseTopicInit } from '../../protocol/generated/describe-topic-partitions-response.js';
import { ErrorCode } from '../../protocol/generated/error-codes.js';
import { defineHandler } from '../handler.js';
import { Operation, ResourceType } from '../../security/authorizer.js';


export default defineHandler({
  request: DescribeTopicPartitionsRequest,
  response: DescribeTopicPartitionsResponse,
  handle(req, ctx): DescribeTopicPartitionsResponseInit {
    const b = ctx.broker;
    // Kafka: listing every topic shows those the caller may DESCRIBE; a named one it may not is TOPIC_AUTHORIZATION_FAILED.
    const listAll = req.topics.length === 0;
    const names = (listAll ? b.topics.list().map((t) => t.name).filter((n) => b.authorizer.allows(ctx, Operation.DESCRIBE, ResourceType.TOPIC, n)) : req.topics.map((t) => t.name)).sort();
    const limit = Math.max(1, Math.min(req.responsePartitionLimit, 2000));
    const topics: DescribeTopicPartitionsResponseTopicInit[] = [];
    let budget = limit;
    let nextCursor: { topicName: string; partitionIndex: number } | null = null;
    const cursor = req.cursor;
    for (const name of names) {
      if (cursor && name < cursor.topicName) continue;
      if (!listAll && !b.authorizer.authorize(ctx, Operation.DESCRIBE, ResourceType.TOPIC, name)) {
        topics.push({ errorCode: ErrorCode.TOPIC_AUTHORIZATION_FAILED, name, topicId: ZERO_UUID, partitions: [] });
        continue;
      }
      const info = b.topics.get(name);
      if (!info) {
        topics.push({ errorCode: ErrorCode.UNKNOWN_TOPIC_OR_PARTITION, name, topicId: ZERO_UUID, partitions: [] });
        continue;
      }
      if (budget === 0) {
        nextCursor = { topicName: name, partitionIndex: 0 };
        break;
      }
      const start = cursor && name === cursor.topicName ? cursor.partitionIndex : 0;
      const partitions = [];
      let p = start;
      for (; p < info.partitions && budget > 0; p++, budget--) {
        const pi = b.replication.partitionInfo(name, p);
        partitions.push({
          errorCode: pi && pi.leader >= 0 ? ErrorCode.NONE : ErrorCode.LEADER_NOT_AVAILABLE, partitionIndex: p, leaderId: pi?.leader ?? -1, leaderEpoch: pi?.leaderEpoch ?? -1,
          replicaNodes: [...(pi?.replicas ?? [])], isrNodes: [...(pi?.isr ?? [])], eligibleLeaderReplicas: null, lastKnownElr: null, offlineReplicas: [...(pi?.offline ?? [])],
        });
      }
      topics.push({ errorCode: ErrorCode.NONE, name, topicId: info.topicId, isInternal: info.internal, partitions });
      if (p < info.partitions) {
        nextCursor = { topicName: name, partitionIndex: p };
        break;
      }
    }
    return { throttleTimeMs: 0, topics, nextCursor };
  },
});
