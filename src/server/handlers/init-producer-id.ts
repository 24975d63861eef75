// InitProducerId (key 22), v0-5. Non-transactional (idempotent) producers get a new producer id with epoch 0
// on every call, as in Kafka (v3+'s producerId/epoch pair is only checked to come both or neither; Kafka
// bumps epochs only for transactional ids). A transactionalId is answered COORDINATOR_NOT_AVAILABLE: there is
// no transaction coordinator yet. Ids come from the persisted ProducerIdManager, never reused.
import { InitProducerIdRequest } from '../../protocol/generated/init-producer-id-request.js';
import { InitProducerIdResponse, type InitProducerIdResponseInit } from '../../protocol/generated/init-producer-id-response.js';
import { ErrorCode } from '../../protocol/generated/error-codes.js';
import { defineHandler } from '../handler.js';
import { errorCodeOf } from '../error-mapping.js';

export default defineHandler({
  request: InitProducerIdRequest,
  response: InitProducerIdResponse,
  handle(req, ctx): InitProducerIdResponseInit {
    const fail = (errorCode: number): InitProducerIdResponseInit => ({ throttleTimeMs: 0, errorCode, producerId: -1n, producerEpoch: -1 });
    if (req.transactionalId !== null) {
      ctx.logger.info({ transactionalId: req.transactionalId, clientId: ctx.clientId }, 'InitProducerId for a transactional producer: no transaction coordinator yet');
      return fail(ErrorCode.COORDINATOR_NOT_AVAILABLE);
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
