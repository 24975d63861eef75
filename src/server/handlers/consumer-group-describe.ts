// ConsumerGroupDescribe (key 69), v0-1 (KIP-848; v1 adds MemberType, 1 = consumer protocol). Members show their
// SubscribedTopicRegex. Unknown groups and classic groups answer GROUP_ID_NOT_FOUND per group. Authorized
// operations when asked: all of them for every group described (no authorizer).
import { ConsumerGroupDescribeRequest } from '../../protocol/generated/consumer-group-describe-request.js';
import { ConsumerGroupDescribeResponse, type ConsumerGroupDescribeResponseInit, type DescribedGroupInit } from '../../protocol/generated/consumer-group-describe-response.js';
import { defineHandler } from '../handler.js';
import { errorCodeOf, errorMessageOf } from '../error-mapping.js';
import { authorizedOperations } from '../authorized-operations.js';
import { Operation, ResourceType } from '../../security/authorizer.js';

export default defineHandler({
  request: ConsumerGroupDescribeRequest,
  response: ConsumerGroupDescribeResponse,
  async handle(req, ctx): Promise<ConsumerGroupDescribeResponseInit> {
    const { consumerGroups, runtime } = ctx.broker.groups;
    const groups: DescribedGroupInit[] = [];
    for (const groupId of req.groupIds) {
      const denied = ctx.broker.authorizer.check(ctx, Operation.DESCRIBE, ResourceType.GROUP, groupId);
      if (denied) {
        groups.push({ groupId, errorCode: denied, errorMessage: null });
        continue;
      }
      try {
        const described = await runtime.query(() => consumerGroups.describe(groupId), groupId);
        groups.push({ ...described, authorizedOperations: authorizedOperations(req.includeAuthorizedOperations, () => ctx.broker.authorizer.operations(ctx, ResourceType.GROUP, groupId)) });
      } catch (err) {
        groups.push({ groupId, errorCode: errorCodeOf(err), errorMessage: errorMessageOf(err) });
      }
    }
    return { throttleTimeMs: 0, groups };
  },
});
