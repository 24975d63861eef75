// AlterPartitionReassignments (key 45), v0 (KIP-455). In a cluster the elected controller starts, replaces or
// cancels (replicas null) reassignments (Controller.alterReassignments); another broker answers NOT_CONTROLLER
// as Kafka in ZooKeeper mode (KRaft forwards). On a single-node broker the only valid target is this broker
// alone (a no-op); any other broker is INVALID_REPLICA_ASSIGNMENT and a cancel NO_REASSIGNMENT_IN_PROGRESS.
import { AlterPartitionReassignmentsRequest } from '../../protocol/generated/alter-partition-reassignments-request.js';
import { AlterPartitionReassignmentsResponse, type AlterPartitionReassignmentsResponseInit } from '../../protocol/generated/alter-partition-reassignments-response.js';
import { ErrorCode } from '../../protocol/generated/error-codes.js';
import { defineHandler } from '../handler.js';
import { auditChanges, alterPartitionReassignmentsChanges } from '../audit-changes.js';
import { Operation } from '../../security/authorizer.js';

export default auditChanges(alterPartitionReassignmentsChanges, defineHandler({
  request: AlterPartitionReassignmentsRequest,
  response: AlterPartitionReassignmentsResponse,
  async handle(req, ctx): Promise<AlterPartitionReassignmentsResponseInit> {
    const replication = ctx.broker.replication;
    if (!ctx.broker.authorizer.authorizeCluster(ctx, Operation.ALTER)) return { throttleTimeMs: 0, errorCode: ErrorCode.CLUSTER_AUTHORIZATION_FAILED, errorMessage: null, responses: [] };
    if (!replication.clustered) {
      const self = ctx.broker.nodeId;
      return {
        throttleTimeMs: 0,
        errorCode: ErrorCode.NONE,
        errorMessage: null,
        responses: req.topics.map((t) => ({
          name: t.name,
          partitions: t.partitions.map((p) => {
            if (!replication.partitionInfo(t.name, p.partitionIndex)) {
              return { partitionIndex: p.partitionIndex, errorCode: ErrorCode.UNKNOWN_TOPIC_OR_PARTITION, errorMessage: `Unable to find partition ${t.name}:${p.partitionIndex}.` };
            }
            if (p.replicas === null) return { partitionIndex: p.partitionIndex, errorCode: ErrorCode.NO_REASSIGNMENT_IN_PROGRESS, errorMessage: null };
            if (p.replicas.length === 1 && p.replicas[0] === self) return { partitionIndex: p.partitionIndex, errorCode: ErrorCode.NONE, errorMessage: null };
            const message = p.replicas.length === 0 ? 'The manual partition assignment includes an empty replica list.' : `The manual partition assignment includes broker(s) that are not registered: a single-node broker has only broker ${self}.`;
            return { partitionIndex: p.partitionIndex, errorCode: ErrorCode.INVALID_REPLICA_ASSIGNMENT, errorMessage: message };
          }),
        })),
      };
    }
    const controller = replication.activeController?.() ?? null;
    if (!controller) return { throttleTimeMs: 0, errorCode: ErrorCode.NOT_CONTROLLER, errorMessage: 'This broker is not the controller.', responses: [] };
    const responses = await controller.alterReassignments(req.topics);
    return { throttleTimeMs: 0, errorCode: ErrorCode.NONE, errorMessage: null, responses };
  },
}));
