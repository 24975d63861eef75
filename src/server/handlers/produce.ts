// Produce (key 0), v3-11. v0-2 carry legacy message formats and are left out. Batches stay opaque bytes:
// validated by header (and, uncompressed, by a walk of the record chain), stamped with offsets in place,
// written as received. acks=0 → no response; acks=1 → acknowledged once written to the OS; acks=-1 (all) →
// acknowledged once fsynced (group commit: one fdatasync per partition covers every request of the tick).
// Idempotent batches (producer id >= 0) are sequence-checked by Log.append against the partition's producer
// state: a retry of one of the producer's last five batches is answered NONE with its original base offset
// (what current Kafka returns, not DUPLICATE_SEQUENCE_NUMBER); a gap → OUT_OF_ORDER_SEQUENCE_NUMBER; an older
// epoch → INVALID_PRODUCER_EPOCH (Kafka answers Produce this way since KIP-588, transactional or not).
// A compacted topic (cleanup.policy has compact) refuses records without a key: INVALID_RECORD with one
// RecordErrors entry (v8+) per keyless record, as Kafka's LogValidator does.
// In a cluster only the partition's leader appends (NOT_LEADER_OR_FOLLOWER elsewhere), stamping its leader epoch;
// acks=all refuses up front when the ISR is below min.insync.replicas (NOT_ENOUGH_REPLICAS) and answers once the
// high watermark passes the batch (replication.awaitCommitted). A partition answered NOT_LEADER_OR_FOLLOWER or
// FENCED_LEADER_EPOCH names its current leader, whose endpoint the response carries (KIP-951, v10+; leader-hints.ts).
import { ProduceRequest } from '../../protocol/generated/produce-request.js';
import { ProduceResponse, type ProduceResponseInit, type TopicProduceResponseInit, type PartitionProduceResponseInit } from '../../protocol/generated/produce-response.js';
import { ErrorCode } from '../../protocol/generated/error-codes.js';
import { validateProduceRecords } from '../../protocol/records/validate.js';
import { keylessRecordIndexes } from '../../protocol/records/record-filter.js';
import { compressionOf } from '../../protocol/records/record-batch.js';
import { defineHandler } from '../handler.js';
import { errorCodeOf, errorMessageOf } from '../error-mapping.js';
import { LeaderHints } from '../leader-hints.js';
import { Operation, ResourceType } from '../../security/authorizer.js';
import type { BrokerMetricsHooks } from '../metrics-hooks.js';
import type { TopicManager } from '../topic-manager.js';

export default defineHandler({
  request: ProduceRequest,
  response: ProduceResponse,
  minVersion: 3,
  concurrent: true,
  async handle(req, ctx): Promise<ProduceResponseInit | null> {
    const { topics, replication } = ctx.broker;
    const acks = req.acks;
    const responses: TopicProduceResponseInit[] = [];
    const flushes: Promise<void>[] = [];
    const validAcks = acks === 0 || acks === 1 || acks === -1;
    const now = ctx.broker.now();
    const metrics = ctx.broker.metrics;
    // Authorization (as Kafka): TRANSACTIONAL_ID WRITE for a transactional producer (else every partition fails),
    // then WRITE on each topic.
    const authz = ctx.broker.authorizer;
    const txnDenied = req.transactionalId !== null && !authz.authorize(ctx, Operation.WRITE, ResourceType.TRANSACTIONAL_ID, req.transactionalId);
    for (const td of req.topicData) {
      const partitionResponses: PartitionProduceResponseInit[] = [];
      responses.push({ name: td.name, partitionResponses });
      const denied = txnDenied ? ErrorCode.TRANSACTIONAL_ID_AUTHORIZATION_FAILED
        : authz.authorize(ctx, Operation.WRITE, ResourceType.TOPIC, td.name) ? ErrorCode.NONE : ErrorCode.TOPIC_AUTHORIZATION_FAILED;
      for (const pd of td.partitionData) {
        const pr: PartitionProduceResponseInit = { index: pd.index, baseOffset: -1n, logAppendTimeMs: -1n, logStartOffset: -1n };
        partitionResponses.push(pr);
        if (denied !== ErrorCode.NONE) {
          pr.errorCode = denied;
          continue;
        }
        if (!validAcks) {
          pr.errorCode = ErrorCode.INVALID_REQUIRED_ACKS;
          continue;
        }
        try {
          const leaderEpoch = replication.leaderEpochFor(td.name, pd.index);
          const log = topics.log(td.name, pd.index);
          const cfg = log.config;
          if (!pd.records || pd.records.length === 0) {
            pr.errorCode = ErrorCode.CORRUPT_MESSAGE;
            pr.errorMessage = 'Produce request carries no record batch';
            continue;
          }
          const validated = validateProduceRecords(pd.records, {
            now,
            maxBatchBytes: cfg.maxMessageBytes,
            timestampType: cfg.messageTimestampType,
            maxTimestampBeforeMs: cfg.messageTimestampBeforeMaxMs,
            maxTimestampAfterMs: cfg.messageTimestampAfterMaxMs,
          });
          if (validated.batches.length !== 1) {
            // As in Kafka: v3+ carries exactly one batch per partition (so one producer id and sequence range).
            pr.errorCode = ErrorCode.INVALID_RECORD;
            pr.errorMessage = `Produce requests with version ${ctx.apiVersion} are only allowed to contain exactly one record batch per partition`;
            continue;
          }
          if (ctx.apiVersion < 7 && compressionOf(validated.batches[0]!.attributes) === 4) {
            pr.errorCode = ErrorCode.UNSUPPORTED_COMPRESSION_TYPE;
            pr.errorMessage = 'zstd-compressed batches need Produce v7 or later';
            continue;
          }
          if (cfg.cleanupPolicy.includes('compact')) {
            // As Kafka's LogValidator: every record of a compacted topic needs a key (compressed ones too).
            const keyless = keylessRecordIndexes(pd.records, 0);
            if (keyless.length > 0) {
              const message = `Compacted topic cannot accept message without key in topic partition ${td.name}-${pd.index}.`;
              pr.errorCode = ErrorCode.INVALID_RECORD;
              pr.recordErrors = keyless.map((batchIndex) => ({ batchIndex, batchIndexErrorMessage: message }));
              pr.errorMessage = `One or more records have been rejected due to ${keyless.length} record errors in total, and only showing the first three errors at most: ${keyless
                .slice(0, 3)
                .map((i) => `RecordError(batchIndex=${i}, message='${message}')`)
                .join(', ')}`;
              continue;
            }
          }
          if (acks === -1) replication.checkEnoughReplicas(td.name, pd.index, cfg.minInsyncReplicas);
          const appended = log.append(pd.records, { leaderEpoch, recordCount: validated.recordCount });
          if (metrics) {
            const stats = metrics.topic(td.name);
            stats.messagesIn += validated.recordCount;
            stats.bytesIn += pd.records.length;
          }
          pr.errorCode = ErrorCode.NONE;
          pr.baseOffset = BigInt(appended.baseOffset);
          pr.logAppendTimeMs = appended.duplicate ? -1n : BigInt(validated.logAppendTime);
          pr.logStartOffset = BigInt(log.logStartOffset);
          if (acks === -1) {
            flushes.push(replication.awaitCommitted(td.name, pd.index, log, appended.lastOffset + 1, cfg.minInsyncReplicas, req.timeoutMs).then((code) => {
              if (code === ErrorCode.NONE) return;
              if (code === ErrorCode.KAFKA_STORAGE_ERROR) ctx.logger.error({ topic: td.name, partition: pd.index }, 'fsync failed; acks=all request not acknowledged');
              pr.errorCode = code;
              pr.baseOffset = -1n;
            }));
          }
        } catch (err) {
          pr.errorCode = errorCodeOf(err);
          pr.errorMessage = errorMessageOf(err);
          if (pr.errorCode === ErrorCode.UNKNOWN_SERVER_ERROR) ctx.logger.error({ err, topic: td.name, partition: pd.index }, 'produce failed');
        }
      }
    }
    if (flushes.length > 0) await Promise.all(flushes);
    if (metrics) countPartitions(metrics, topics, responses);
    if (acks === 0) return null;
    const hints = new LeaderHints(replication, ctx.session?.listenerName);
    for (const t of responses) {
      for (const pr of t.partitionResponses!) {
        const leader = hints.currentLeader(t.name!, pr.index!, pr.errorCode ?? ErrorCode.NONE);
        if (leader) pr.currentLeader = leader;
      }
    }
    return { responses, throttleTimeMs: 0, nodeEndpoints: hints.nodeEndpoints() };
  },
});

/** Kafka's total/failed produce request rates: per partition, for topics that exist (label values stay bounded). */
function countPartitions(metrics: BrokerMetricsHooks, topics: TopicManager, responses: TopicProduceResponseInit[]): void {
  for (const t of responses) {
    if (!topics.get(t.name!)) continue;
    const stats = metrics.topic(t.name!);
    for (const pr of t.partitionResponses!) {
      stats.totalProduce++;
      if ((pr.errorCode ?? ErrorCode.NONE) !== ErrorCode.NONE) stats.failedProduce++;
    }
  }
}
