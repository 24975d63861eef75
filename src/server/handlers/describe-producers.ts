// DescribeProducers (key 61), v0 (the only version): the active idempotent producers of each partition, from
// its producer state, with the coordinator epoch of its last marker and the first offset of its open transaction (-1: none).
import { DescribeProducersRequest } from '../../protocol/generated/describe-producers-request.js';
import {
  DescribeProducersResponse,
  type DescribeProducersResponseInit,
  type PartitionResponseInit,
  type ProducerStateInit,
  type TopicResponseInit,
} from '../../protocol/generated/describe-producers-response.js';
import { ErrorCode } from '../../protocol/generated/error-codes.js';
import { defineHandler } from '../handler.js';
import { errorCodeOf, errorMessageOf } from '../error-mapping.js';
import { Operation, ResourceType } from '../../security/authorizer.js';

export default defineHandler({
  request: DescribeProducersRequest,
  response: DescribeProducersResponse,
  handle(req, ctx): DescribeProducersResponseInit {
    const topics: TopicResponseInit[] = [];
    for (const t of req.topics) {
      const partitions: PartitionResponseInit[] = [];
      topics.push({ name: t.name, partitions });
      const denied = ctx.broker.authorizer.check(ctx, Operation.READ, ResourceType.TOPIC, t.name);
      for (const index of t.partitionIndexes) {
        if (denied) {
          partitions.push({ partitionIndex: index, errorCode: denied, errorMessage: null, activeProducers: [] });
          continue;
        }
        try {
          const log = ctx.broker.topics.log(t.name, index);
          const activeProducers: ProducerStateInit[] = [];
          for (const e of log.producerState.activeProducers()) {
            const last = e.batches[e.batches.length - 1];
            activeProducers.push({
              producerId: e.producerId,
              producerEpoch: e.epoch,
              lastSequence: last ? last.lastSeq : -1,
              lastTimestamp: BigInt(e.lastTimestamp),
              coordinatorEpoch: e.coordinatorEpoch,
              currentTxnStartOffset: BigInt(e.currentTxnFirstOffset),
            });
          }
          partitions.push({ partitionIndex: index, errorCode: ErrorCode.NONE, errorMessage: null, activeProducers });
        } catch (err) {
          partitions.push({ partitionIndex: index, errorCode: errorCodeOf(err), errorMessage: errorMessageOf(err), activeProducers: [] });
        }
      }
    }
    return { throttleTimeMs: 0, topics };
  },
});
