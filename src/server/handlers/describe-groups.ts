// DescribeGroups (key 15), v0-5. An unknown group is described as Dead with no error (as Kafka does up
// to v5; a KIP-848 consumer group is Dead here too: ConsumerGroupDescribe describes it). Member metadata, assignments and the protocol are shown only for Stable groups. v4+ static
// member ids; v3+ authorized operations when asked: all of them for every group answered without error (no
// authorizer, as Kafka without one).
import { DescribeGroupsRequest } from '../../protocol/generated/describe-groups-request.js';
import { DescribeGroupsResponse, type DescribeGroupsResponseInit } from '../../protocol/generated/describe-groups-response.js';
import { ErrorCode } from '../../protocol/generated/error-codes.js';
import { defineHandler } from '../handler.js';
import { errorCodeOf } from '../error-mapping.js';
import { authorizedOperations, GROUP_OPERATIONS } from '../authorized-operations.js';

export default defineHandler({
  request: DescribeGroupsRequest,
  response: DescribeGroupsResponse,
  async handle(req, ctx): Promise<DescribeGroupsResponseInit> {
    const service = ctx.broker.groups;
    const groups = [];
    for (const groupId of req.groups) {
      try {
        const d = await service.runtime.query(() => service.describeGroup(groupId));
        groups.push({
          errorCode: ErrorCode.NONE,
          groupId,
          groupState: d.state,
          protocolType: d.protocolType,
          protocolData: d.protocol,
          members: d.members.map((m) => ({
            memberId: m.memberId, groupInstanceId: m.groupInstanceId, clientId: m.clientId, clientHost: m.clientHost,
            memberMetadata: m.metadata, memberAssignment: m.assignment,
          })),
          authorizedOperations: authorizedOperations(req.includeAuthorizedOperations, GROUP_OPERATIONS),
        });
      } catch (err) {
        groups.push({ errorCode: errorCodeOf(err), groupId, groupState: '', protocolType: '', protocolData: '', members: [] });
      }
    }
    return { throttleTimeMs: 0, groups };
  },
});
