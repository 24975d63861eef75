// ListPartitionReassignments (key 46), v0 (KIP-455): the ongoing reassignments (all, or among the named
// partitions; unknown ones are left out, as in Kafka) from the elected controller; another broker answers
// NOT_CONTROLLER (Kafka's ZooKeeper-mode behaviour). A single-node broker never has one: an empty list.
import { ListPartitionReassignmentsRequest } from '../../protocol/generated/list-partition-reassignments-request.js';
import { ListPartitionReassignmentsResponse, type ListPartitionReassignmentsResponseInit } from '../../protocol/generated/list-partition-reassignments-response.js';
import { ErrorCode } from '../../protocol/generated/error-codes.js';
import { defineHandler } from '../handler.js';
import { Operation } from '../../security/authorizer.js';

export default defineHandler({
  request: ListPartitionReassignmentsRequest,
  response: ListPartitionReassignmentsResponse,
  handle(req, ctx): ListPartitionReassignmentsResponseInit {
    const replication = ctx.broker.replication;
    if (!ctx.broker.authorizer.authorizeCluster(ctx, Operation.DESCRIBE)) return { throttleTimeMs: 0, errorCode: ErrorCode.CLUSTER_AUTHORIZATION_FAILED, errorMessage: null, topics: [] };
    if (!replication.clustered) return { throttleTimeMs: 0, errorCode: ErrorCode.NONE, errorMessage: null, topics: [] };
    const controller = replication.activeController?.() ?? null;
    if (!controller) return { throttleTimeMs: 0, errorCode: ErrorCode.NOT_CONTROLLER, errorMessage: 'This broker is not the controller.', topics: [] };
    return { throttleTimeMs: 0, errorCode: ErrorCode.NONE, errorMessage: null, topics: controller.listReassignments(req.topics) };
  },
});
