// DescribeGroups (key 15), v0-6. An unknown group, or a KIP-848 consumer group (ConsumerGroupDescribe
// describes it), is GROUP_ID_NOT_FOUND with Kafka's message from v6 (KIP-1043), and described as Dead with
// no error before. Other errors carry their message from v6. Member metadata, assignments and the protocol
// are shown only for Stable groups. v4+ static member ids; v3+ authorized operations when asked: all of them
// for every group answered without error (no authorizer, as Kafka without one).
import { DescribeGroupsRequest } from '../../protocol/generated/describe-groups-request.js';
import { DescribeGroupsResponse, type DescribeGroupsResponseInit } from '../../protocol/generated/describe-groups-response.js';
import { ErrorCode } from '../../protocol/generated/error-codes.js';
import { defineHandler } from '../handler.js';
import { errorCodeOf, errorMessageOf } from '../error-mapping.js';
import { Operation, ResourceType } from '../../security/authorizer.js';
import { authorizedOperations as operationsOf } from '../authorized-operations.js';

export default defineHandler({
  request: DescribeGroupsRequest,
  response: DescribeGroupsResponse,
  async handle(req, ctx): Promise<DescribeGroupsResponseInit> {
    const service = ctx.broker.groups;
    const groups = [];
    const authz = ctx.broker.authorizer;
    for (const groupId of req.groups) {
      const authorizedOperations = operationsOf(req.includeAuthorizedOperations, () => authz.operations(ctx, ResourceType.GROUP, groupId));
      const denied = authz.check(ctx, Operation.DESCRIBE, ResourceType.GROUP, groupId);
      if (denied) {
        groups.push({ errorCode: denied, errorMessage: null, groupId, groupState: '', protocolType: '', protocolData: '', members: [] });
        continue;
      }
      try {
        const d = await service.runtime.query(() => service.describeGroup(groupId), groupId);
        groups.push({
          errorCode: ErrorCode.NONE,
          errorMessage: null,
          groupId,
          groupState: d.state,
          protocolType: d.protocolType,
          protocolData: d.protocol,
          members: d.members.map((m) => ({
            memberId: m.memberId, groupInstanceId: m.groupInstanceId, clientId: m.clientId, clientHost: m.clientHost,
            memberMetadata: m.metadata, memberAssignment: m.assignment,
          })),
          authorizedOperations,
        });
      } catch (err) {
        const errorCode = errorCodeOf(err);
        if (errorCode === ErrorCode.GROUP_ID_NOT_FOUND && ctx.apiVersion < 6) {
          groups.push({
            errorCode: ErrorCode.NONE, groupId, groupState: 'Dead', protocolType: '', protocolData: '', members: [], authorizedOperations,
          });
        } else {
          groups.push({ errorCode, errorMessage: errorMessageOf(err), groupId, groupState: '', protocolType: '', protocolData: '', members: [] });
        }
      }
    }
    return { throttleTimeMs: 0, groups };
  },
});
