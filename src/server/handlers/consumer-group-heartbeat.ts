// ConsumerGroupHeartbeat (key 68), v0-1 (KIP-848), v1 stable as in Kafka 4.0: SubscribedTopicRegex resolved on
// the broker (RE2/J syntax; "" = no regex), and the client generates its member id (KIP-1082: an empty one
// is INVALID_REQUEST from v1). Server-side assignors only (group.consumer.assignors). A group id held by a
// classic group with members is GROUP_ID_NOT_FOUND.
import { ConsumerGroupHeartbeatRequest } from '../../protocol/generated/consumer-group-heartbeat-request.js';
import { ConsumerGroupHeartbeatResponse, type ConsumerGroupHeartbeatResponseInit } from '../../protocol/generated/consumer-group-heartbeat-response.js';
import { defineHandler } from '../handler.js';
import { errorCodeOf, errorMessageOf } from '../error-mapping.js';
import { Operation, ResourceType } from '../../security/authorizer.js';

export default defineHandler({
  request: ConsumerGroupHeartbeatRequest,
  response: ConsumerGroupHeartbeatResponse,
  async handle(req, ctx): Promise<ConsumerGroupHeartbeatResponseInit> {
    const groups = ctx.broker.groups;
    try {
      if (ctx.broker.authorizer.check(ctx, Operation.READ, ResourceType.GROUP, req.groupId)) {
        throw Object.assign(new Error(`Not authorized to access group ${req.groupId}`), { kafkaError: 'GROUP_AUTHORIZATION_FAILED' });
      }
      // Kafka (KIP-848): every subscribed topic name needs DESCRIBE.
      const unauthorized = (req.subscribedTopicNames ?? []).filter((t) => !ctx.broker.authorizer.authorize(ctx, Operation.DESCRIBE, ResourceType.TOPIC, t));
      if (unauthorized.length > 0) {
        throw Object.assign(new Error(`The group is not authorized to subscribe to the following topics: ${unauthorized.join(', ')}`), { kafkaError: 'TOPIC_AUTHORIZATION_FAILED' });
      }
      return await groups.runtime.run(() => groups.consumerGroupHeartbeat(req, { clientId: ctx.clientId ?? '', clientHost: ctx.clientHost }, ctx.apiVersion), req.groupId);
    } catch (err) {
      return {
        throttleTimeMs: 0, errorCode: errorCodeOf(err), errorMessage: errorMessageOf(err),
        memberId: null, memberEpoch: 0, heartbeatIntervalMs: 0, assignment: null,
      };
    }
  },
});
