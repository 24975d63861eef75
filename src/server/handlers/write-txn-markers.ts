// WriteTxnMarkers (key 27), v0-1 (v1 flexible). Broker to broker: a transaction coordinator asks the leader of
// each partition of a transaction to append its COMMIT/ABORT control batch. Each marker is written to the local
// log (Log.writeTxnMarker) and the answer waits until every one is durable. Per partition: UNKNOWN_TOPIC_OR_PARTITION
// when it is not hosted here; INVALID_PRODUCER_EPOCH for a producer epoch older than the partition's, and
// TRANSACTION_COORDINATOR_FENCED for a coordinator epoch older than the last marker's (a newer coordinator has
// taken the transactional id over). A marker on a __consumer_offsets partition also completes the group
// coordinator's offsets pending in that transaction (TxnOffsetCommit), as Kafka's handler does.
import { WriteTxnMarkersRequest } from '../../protocol/generated/write-txn-markers-request.js';
import {
  WriteTxnMarkersResponse, type WritableTxnMarkerPartitionResultInit, type WriteTxnMarkersResponseInit,
} from '../../protocol/generated/write-txn-markers-response.js';
import { ErrorCode } from '../../protocol/generated/error-codes.js';
import { GROUP_METADATA_TOPIC } from '../../coordinator/group/group-coordinator-service.js';
import { defineHandler } from '../handler.js';
import { errorCodeOf } from '../error-mapping.js';
import { Operation } from '../../security/authorizer.js';

export default defineHandler({
  request: WriteTxnMarkersRequest,
  response: WriteTxnMarkersResponse,
  async handle(req, ctx): Promise<WriteTxnMarkersResponseInit> {
    const { topics, groups } = ctx.broker;
    const timestamp = ctx.broker.now();
    // Kafka: only brokers write markers (CLUSTER_ACTION; every partition refused otherwise).
    if (!ctx.broker.authorizer.authorizeCluster(ctx, Operation.CLUSTER_ACTION)) {
      return {
        markers: req.markers.map((m) => ({
          producerId: m.producerId,
          topics: m.topics.map((t) => ({ name: t.name, partitions: t.partitionIndexes.map((partitionIndex) => ({ partitionIndex, errorCode: ErrorCode.CLUSTER_AUTHORIZATION_FAILED })) })),
        })),
      };
    }
    const markers = req.markers.map((m) => {
      const flushes: Array<Promise<void>> = [];
      const offsetPartitions = new Set<number>();
      const results = m.topics.map((t) => ({
        name: t.name,
        partitions: t.partitionIndexes.map((partitionIndex): WritableTxnMarkerPartitionResultInit => {
          const log = topics.tryLog(t.name, partitionIndex);
          if (!log) return { partitionIndex, errorCode: ErrorCode.UNKNOWN_TOPIC_OR_PARTITION };
          try {
            log.writeTxnMarker({
              producerId: m.producerId, producerEpoch: m.producerEpoch, coordinatorEpoch: m.coordinatorEpoch, commit: m.transactionResult, timestamp,
            });
          } catch (err) {
            return { partitionIndex, errorCode: errorCodeOf(err) };
          }
          if (t.name === GROUP_METADATA_TOPIC) offsetPartitions.add(partitionIndex);
          const result: WritableTxnMarkerPartitionResultInit = { partitionIndex, errorCode: ErrorCode.NONE };
          flushes.push(log.flush().catch((err: unknown) => {
            result.errorCode = errorCodeOf(err) === ErrorCode.UNKNOWN_SERVER_ERROR ? ErrorCode.KAFKA_STORAGE_ERROR : errorCodeOf(err);
          }));
          return result;
        }),
      }));
      return { producerId: m.producerId, commit: m.transactionResult, topics: results, flushes, offsetPartitions };
    });
    for (const m of markers) {
      await Promise.all(m.flushes);
      if (m.offsetPartitions.size === 0) continue;
      const owns = (groupId: string): boolean => m.offsetPartitions.has(groups.runtime.partitionOf(groupId));
      try {
        await groups.runtime.run(() => groups.coordinator.completeTxnOffsets(m.producerId, m.commit, owns));
      } catch (err) {
        // The markers are in the log: the group coordinator finds them when it (re)loads those partitions.
        ctx.logger.warn({ err, producerId: m.producerId }, 'completing transactional offsets after WriteTxnMarkers failed');
      }
    }
    return { markers: markers.map((m) => ({ producerId: m.producerId, topics: m.topics })) };
  },
});
