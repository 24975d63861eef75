// AddPartitionsToTxn (key 24), v0-5. v0-3 is the client form (one transaction); v4+ the broker-to-broker
// batched form with verifyOnly, served too. v2+ may answer PRODUCER_FENCED (older versions get
// INVALID_PRODUCER_EPOCH); v5's TRANSACTION_ABORTABLE is never returned. The transaction coordinator decides.
import { AddPartitionsToTxnRequest } from '../../protocol/generated/add-partitions-to-txn-request.js';
import { AddPartitionsToTxnResponse, type AddPartitionsToTxnResponseInit } from '../../protocol/generated/add-partitions-to-txn-response.js';
import { ErrorCode } from '../../protocol/generated/error-codes.js';
import { defineHandler } from '../handler.js';
import { errorCodeOf } from '../error-mapping.js';
import { Operation, ResourceType } from '../../security/authorizer.js';
import type { RequestContext } from '../handler.js';

type TopicResults = Array<{ name: string; resultsByPartition: Array<{ partitionIndex: number; partitionErrorCode: number }> }>;

/**
 * Kafka's checks for one transaction: WRITE on the transactional id (else every partition
 * TRANSACTIONAL_ID_AUTHORIZATION_FAILED), WRITE on each topic (TOPIC_AUTHORIZATION_FAILED, the other partitions
 * OPERATION_NOT_ATTEMPTED). Null when everything is allowed.
 */
function refusal(ctx: RequestContext, transactionalId: string, topics: ReadonlyArray<{ name: string; partitions: number[] }>): TopicResults | null {
  const authz = ctx.broker.authorizer;
  const txnDenied = authz.check(ctx, Operation.WRITE, ResourceType.TRANSACTIONAL_ID, transactionalId);
  const denied = new Set(txnDenied ? [] : topics.filter((t) => !authz.authorize(ctx, Operation.WRITE, ResourceType.TOPIC, t.name)).map((t) => t.name));
  if (!txnDenied && denied.size === 0) return null;
  const code = (name: string): number => txnDenied || (denied.has(name) ? ErrorCode.TOPIC_AUTHORIZATION_FAILED : ErrorCode.OPERATION_NOT_ATTEMPTED);
  return topics.map((t) => ({ name: t.name, resultsByPartition: t.partitions.map((p) => ({ partitionIndex: p, partitionErrorCode: code(t.name) })) }));
}

export default defineHandler({
  request: AddPartitionsToTxnRequest,
  response: AddPartitionsToTxnResponse,
  async handle(req, ctx): Promise<AddPartitionsToTxnResponseInit> {
    const txns = ctx.broker.transactions;
    if (ctx.apiVersion <= 3) {
      const refused = refusal(ctx, req.v3AndBelowTransactionalId, req.v3AndBelowTopics);
      if (refused) return { throttleTimeMs: 0, resultsByTopicV3AndBelow: refused };
    } else if (!ctx.broker.authorizer.authorizeCluster(ctx, Operation.CLUSTER_ACTION)) {
      // v4+ is the brokers' batched form (KIP-890): CLUSTER_ACTION, as Kafka.
      return { throttleTimeMs: 0, errorCode: ErrorCode.CLUSTER_AUTHORIZATION_FAILED, resultsByTransaction: [] };
    }
    try {
      if (ctx.apiVersion <= 3) return await txns.run(() => txns.coordinator.addPartitionsToTxn(req, ctx.apiVersion), req.v3AndBelowTransactionalId);
      // Batched: each transaction its own coordinator check (NOT_COORDINATOR for ids not coordinated here).
      const refused = req.transactions.flatMap((t) => {
        const errorCode = txns.ownershipError(t.transactionalId);
        return errorCode === ErrorCode.NONE ? [] : [{
          transactionalId: t.transactionalId,
          topicResults: t.topics.map((tp) => ({ name: tp.name, resultsByPartition: tp.partitions.map((p) => ({ partitionIndex: p, partitionErrorCode: errorCode })) })),
        }];
      });
      const served = { ...req, transactions: req.transactions.filter((t) => !refused.some((r) => r.transactionalId === t.transactionalId)) };
      const res = await txns.run(() => txns.coordinator.addPartitionsToTxn(served, ctx.apiVersion));
      return { ...res, resultsByTransaction: [...res.resultsByTransaction, ...refused] };
    } catch (err) {
      const errorCode = errorCodeOf(err);
      const topics = (list: typeof req.v3AndBelowTopics) => list.map((t) => ({
        name: t.name, resultsByPartition: t.partitions.map((p) => ({ partitionIndex: p, partitionErrorCode: errorCode })),
      }));
      if (ctx.apiVersion <= 3) return { throttleTimeMs: 0, resultsByTopicV3AndBelow: topics(req.v3AndBelowTopics) };
      return { throttleTimeMs: 0, errorCode, resultsByTransaction: [] };
    }
  },
});
