// EndTxn (key 26), v0-4. v5 (transaction version 2, KIP-890 part 2: an epoch bump per transaction) is left
// out: the coordinator does not bump there. v2+ may answer PRODUCER_FENCED (older versions get
// INVALID_PRODUCER_EPOCH). The answer comes after the markers are written (a single node may as well).
import { EndTxnRequest } from '../../protocol/generated/end-txn-request.js';
import { EndTxnResponse, type EndTxnResponseInit } from '../../protocol/generated/end-txn-response.js';
import { defineHandler } from '../handler.js';
import { errorCodeOf } from '../error-mapping.js';
import { Operation, ResourceType } from '../../security/authorizer.js';

export default defineHandler({
  request: EndTxnRequest,
  response: EndTxnResponse,
  maxVersion: 4,
  async handle(req, ctx): Promise<EndTxnResponseInit> {
    const txns = ctx.broker.transactions;
    const denied = ctx.broker.authorizer.check(ctx, Operation.WRITE, ResourceType.TRANSACTIONAL_ID, req.transactionalId);
    if (denied) return { throttleTimeMs: 0, errorCode: denied, producerId: -1n, producerEpoch: -1 };
    try {
      return await txns.run(() => txns.coordinator.endTxn(req, ctx.apiVersion), req.transactionalId);
    } catch (err) {
      return { throttleTimeMs: 0, errorCode: errorCodeOf(err), producerId: -1n, producerEpoch: -1 };
    }
  },
});
