// ListGroups (key 16), v0-5. v4+ filter by state (case-insensitive, as Kafka); v5+ filter by type
// ("classic", "consumer") and report it. KIP-848 consumer groups are listed with protocol type "consumer".
import { ListGroupsRequest } from '../../protocol/generated/list-groups-request.js';
import { ListGroupsResponse, type ListGroupsResponseInit } from '../../protocol/generated/list-groups-response.js';
import { ErrorCode } from '../../protocol/generated/error-codes.js';
import { defineHandler } from '../handler.js';
import { errorCodeOf } from '../error-mapping.js';
import { Operation, ResourceType } from '../../security/authorizer.js';

export default defineHandler({
  request: ListGroupsRequest,
  response: ListGroupsResponse,
  async handle(req, ctx): Promise<ListGroupsResponseInit> {
    const service = ctx.broker.groups;
    const states = ctx.apiVersion >= 4 ? req.statesFilter : [];
    const types = ctx.apiVersion >= 5 ? req.typesFilter.map((t) => t.toLowerCase()) : [];
    try {
      const all = await service.runtime.query(() => service.listGroups(states, types));
      // Kafka: every group with DESCRIBE on the cluster, else the groups the caller may DESCRIBE.
      const authz = ctx.broker.authorizer;
      const listed = authz.allows(ctx, Operation.DESCRIBE, ResourceType.CLUSTER) ? all : all.filter((g) => authz.allows(ctx, Operation.DESCRIBE, ResourceType.GROUP, g.groupId));
      return {
        throttleTimeMs: 0,
        errorCode: ErrorCode.NONE,
        groups: listed.map((g) => ({ groupId: g.groupId, protocolType: g.protocolType, groupState: g.state, groupType: g.type })),
      };
    } catch (err) {
      return { throttleTimeMs: 0, errorCode: errorCodeOf(err), groups: [] };
    }
  },
});
