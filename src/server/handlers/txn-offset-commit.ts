// TxnOffsetCommit (key 28), v0-4. The offsets are appended (fsynced) to the group's __consumer_offsets
// partition as a transactional batch of the producer and wait, per producer id, until the transaction's
// marker lands there (COMMIT makes them committed offsets, ABORT drops them), which also holds across a
// restart; OffsetFetch with requireStable answers UNSTABLE_OFFSET_COMMIT meanwhile.
// Where this broker is also the transaction's coordinator, the producer must be the transaction's current one
// (else INVALID_PRODUCER_ID_MAPPING / INVALID_PRODUCER_EPOCH) with the group added by AddOffsetsToTxn (else
// INVALID_TXN_STATE); elsewhere in a cluster the append's producer epoch check fences a stale producer. v2+ leader
// epochs; v3+ member id, generation and instance id, checked like OffsetCommit's (generation -1 with an empty
// member id skips them); v4's TRANSACTION_ABORTABLE is never returned.
import { TxnOffsetCommitRequest } from '../../protocol/generated/txn-offset-commit-request.js';
import { TxnOffsetCommitResponse, type TxnOffsetCommitResponseInit } from '../../protocol/generated/txn-offset-commit-response.js';
import { ErrorCode } from '../../protocol/generated/error-codes.js';
import { CONSUMER_OFFSETS_TOPIC } from '../../coordinator/transaction/transaction-coordinator.js';
import type { PartitionError } from '../../coordinator/group/group-coordinator.js';
import { defineHandler } from '../handler.js';
import { errorCodeOf } from '../error-mapping.js';
import { Operation, ResourceType } from '../../security/authorizer.js';

export default defineHandler({
  request: TxnOffsetCommitRequest,
  response: TxnOffsetCommitResponse,
  async handle(req, ctx): Promise<TxnOffsetCommitResponseInit> {
    const answer = (errors: PartitionError[] | number): TxnOffsetCommitResponseInit => {
      const codes = typeof errors === 'number' ? null : new Map(errors.map((e) => [`${e.topic}\u0000${e.partition}`, e.errorCode]));
      return {
        throttleTimeMs: 0,
        topics: req.topics.map((t) => ({
          name: t.name,
          partitions: t.partitions.map((p) => ({
            partitionIndex: p.partitionIndex,
            errorCode: codes === null ? (errors as number) : codes.get(`${t.name}\u0000${p.partitionIndex}`) ?? ErrorCode.NONE,
          })),
        })),
      };
    };
    const { groups, transactions, authorizer: authz } = ctx.broker;
    // Kafka: WRITE on the transactional id, READ on the group (each failing every partition), READ on each topic.
    const denied = authz.check(ctx, Operation.WRITE, ResourceType.TRANSACTIONAL_ID, req.transactionalId) || authz.check(ctx, Operation.READ, ResourceType.GROUP, req.groupId);
    if (denied) return answer(denied);
    const unreadable = new Set(req.topics.filter((t) => !authz.authorize(ctx, Operation.READ, ResourceType.TOPIC, t.name)).map((t) => t.name));
    const refused: PartitionError[] = req.topics.filter((t) => unreadable.has(t.name))
      .flatMap((t) => t.partitions.map((p) => ({ topic: t.name, partition: p.partitionIndex, errorCode: ErrorCode.TOPIC_AUTHORIZATION_FAILED })));
    if (unreadable.size > 0 && unreadable.size === new Set(req.topics.map((t) => t.name)).size) return answer(refused);
    try {
      // The transaction's own state is checked only where this broker is also its transaction coordinator. In a
      // cluster that is often another broker: then, as Kafka's group coordinator does before KIP-890's
      // verification, the offsets go in on the group's checks and the producer epoch check of the
      // __consumer_offsets append (an older epoch is refused), and the transaction's markers settle them.
      if (transactions.runtime.serves(req.transactionalId)) {
        const txn = await transactions.runtime.query(() => transactions.coordinator.get(req.transactionalId), req.transactionalId);
        if (!txn || txn.producerId !== req.producerId) return answer(ErrorCode.INVALID_PRODUCER_ID_MAPPING);
        if (txn.producerEpoch !== req.producerEpoch) return answer(ErrorCode.INVALID_PRODUCER_EPOCH);
        if (txn.state !== 'Ongoing' || !txn.partitions.get(CONSUMER_OFFSETS_TOPIC)?.has(groups.runtime.partitionOf(req.groupId))) {
          return answer(ErrorCode.INVALID_TXN_STATE);
        }
      }
      const errors = await groups.runtime.run(() => groups.commitTxnOffsets({
        groupId: req.groupId,
        producerId: req.producerId,
        producerEpoch: req.producerEpoch,
        generationId: ctx.apiVersion >= 3 ? req.generationId : -1,
        memberId: ctx.apiVersion >= 3 ? req.memberId : '',
        groupInstanceId: ctx.apiVersion >= 3 ? req.groupInstanceId : null,
        retentionTimeMs: -1,
        topics: req.topics.filter((t) => !unreadable.has(t.name)).map((t) => ({
          name: t.name,
          partitions: t.partitions.map((p) => ({
            partition: p.partitionIndex, offset: Number(p.committedOffset), leaderEpoch: p.committedLeaderEpoch, metadata: p.committedMetadata,
          })),
        })),
      }), req.groupId);
      return answer([...errors, ...refused]);
    } catch (err) {
      return answer(errorCodeOf(err));
    }
  },
});
