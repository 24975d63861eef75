// InitProducerId (key 22), v0-5. Non-transactional (idempotent) producers get a new producer id with epoch 0
// on every call, as in Kafka (v3+'s producerId/epoch pair is only checked to come both or neither; Kafka
// bumps epochs only for transactional ids). A transactionalId goes to the transaction coordinator (epoch
// bumps, fencing, KIP-360 resumption; PRODUCER_FENCED is INVALID_PRODUCER_EPOCH below v4). Ids come from the
// persisted ProducerIdManager, never reused.
import { InitProducerIdRequest } from '../../protocol/generated/init-producer-id-request.js';
import { InitProducerIdResponse, type InitProducerIdResponseInit } from '../../protocol/generated/init-producer-id-response.js';
import { ErrorCode } from '../../protocol/generated/error-codes.js';
import { defineHandler } from '../handler.js';
import { errorCodeOf } from '../error-mapping.js';
import { Operation, ResourceType } from '../../security/authorizer.js';

export default defineHandler({
  request: InitProducerIdRequest,
  response: InitProducerIdResponse,
  async handle(req, ctx): Promise<InitProducerIdResponseInit> {
    const fail = (errorCode: number): InitProducerIdResponseInit => ({ throttleTimeMs: 0, errorCode, producerId: -1n, producerEpoch: -1 });
    // Kafka: WRITE on the transactional id; an idempotent producer needs IDEMPOTENT_WRITE on the cluster or
    // WRITE on some topic (Kafka 3+), else CLUSTER_AUTHORIZATION_FAILED.
    const authz = ctx.broker.authorizer;
    if (req.transactionalId !== null) {
      const denied = authz.check(ctx, Operation.WRITE, ResourceType.TRANSACTIONAL_ID, req.transactionalId);
      if (denied) return fail(denied);
    } else if (!authz.allows(ctx, Operation.IDEMPOTENT_WRITE, ResourceType.CLUSTER) && !authz.authorizeAny(ctx, Operation.WRITE, ResourceType.TOPIC)) {
      authz.authorizeCluster(ctx, Operation.IDEMPOTENT_WRITE); // audited denial
      return fail(ErrorCode.CLUSTER_AUTHORIZATION_FAILED);
    }
    if (req.transactionalId !== null) {
      const txns = ctx.broker.transactions;
      try {
        return await txns.run(() => txns.coordinator.initProducerId(req, ctx.apiVersion), req.transactionalId!);
      } catch (err) {
        ctx.logger.error({ err, transactionalId: req.transactionalId }, 'InitProducerId for a transactional producer failed');
        return fail(errorCodeOf(err));
      }
    }
    if ((req.producerId === -1n) !== (req.producerEpoch === -1)) return fail(ErrorCode.INVALID_REQUEST);
    try {
      return { throttleTimeMs: 0, errorCode: ErrorCode.NONE, producerId: ctx.broker.producerIds.generate(), producerEpoch: 0 };
    } catch (err) {
      // Persisting a new id block failed (disk): no id may be handed out from it.
      ctx.logger.error({ err }, 'could not allocate a producer id');
      return fail(errorCodeOf(err));
    }
  },
});
