// AddOffsetsToTxn (key 25), v0-4: adds the group's __consumer_offsets partition to the transaction, so the
// transaction's markers complete its TxnOffsetCommit offsets. v2+ may answer PRODUCER_FENCED (older versions
// get INVALID_PRODUCER_EPOCH); v4's TRANSACTION_ABORTABLE is never returned.
import { AddOffsetsToTxnRequest } from '../../protocol/generated/add-offsets-to-txn-request.js';
import { AddOffsetsToTxnResponse, type AddOffsetsToTxnResponseInit } from '../../protocol/generated/add-offsets-to-txn-response.js';
import { defineHandler } from '../handler.js';
import { errorCodeOf } from '../error-mapping.js';
import { Operation, ResourceType } from '../../security/authorizer.js';

export default defineHandler({
  request: AddOffsetsToTxnRequest,
  response: AddOffsetsToTxnResponse,
  async handle(req, ctx): Promise<AddOffsetsToTxnResponseInit> {
    const txns = ctx.broker.transactions;
    // Kafka: WRITE on the transactional id, then READ on the group.
    const denied = ctx.broker.authorizer.check(ctx, Operation.WRITE, ResourceType.TRANSACTIONAL_ID, req.transactionalId)
      || ctx.broker.authorizer.check(ctx, Operation.READ, ResourceType.GROUP, req.groupId);
    if (denied) return { throttleTimeMs: 0, errorCode: denied };
    try {
      // The group's partition must exist for its marker (the group coordinator's topic is made on first use).
      await ctx.broker.groups.runtime.ensureTopic();
      return await txns.run(() => txns.coordinator.addOffsetsToTxn(req, ctx.apiVersion), req.transactionalId);
    } catch (err) {
      return { throttleTimeMs: 0, errorCode: errorCodeOf(err) };
    }
  },
});
