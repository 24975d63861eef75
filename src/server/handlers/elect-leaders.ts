// ElectLeaders (key 43), v0-2 (KIP-460 election types from v1). In a cluster the elected controller runs the
// elections (Controller.electLeaders); another broker answers NOT_CONTROLLER — Kafka's behaviour in ZooKeeper
// mode (a KRaft broker forwards instead); clients send it to Metadata's controller and retry there. On a
// single-node broker every partition's only replica already leads: ELECTION_NOT_NEEDED, as Kafka with one broker.
import { ElectLeadersRequest } from '../../protocol/generated/elect-leaders-request.js';
import { ElectLeadersResponse, type ElectLeadersResponseInit, type ReplicaElectionResultInit } from '../../protocol/generated/elect-leaders-response.js';
import { ErrorCode } from '../../protocol/generated/error-codes.js';
import { defineHandler } from '../handler.js';
import { auditChanges, electLeadersChanges } from '../audit-changes.js';
import { Operation } from '../../security/authorizer.js';

export default auditChanges(electLeadersChanges, defineHandler({
  request: ElectLeadersRequest,
  response: ElectLeadersResponse,
  async handle(req, ctx): Promise<ElectLeadersResponseInit> {
    const replication = ctx.broker.replication;
    const type = ctx.apiVersion >= 1 ? req.electionType : 0;
    const perPartition = (code: (topic: string, partition: number) => number, message: string | null = null): ReplicaElectionResultInit[] =>
      (req.topicPartitions ?? []).map((t) => ({
        topic: t.topic,
        partitionResult: [...new Set(t.partitions)].map((p) => ({ partitionId: p, errorCode: code(t.topic, p), errorMessage: message })),
      }));
    // Kafka: ALTER on the cluster (every partition refused otherwise).
    if (!ctx.broker.authorizer.authorizeCluster(ctx, Operation.ALTER)) {
      return { throttleTimeMs: 0, errorCode: ErrorCode.CLUSTER_AUTHORIZATION_FAILED, replicaElectionResults: perPartition(() => ErrorCode.CLUSTER_AUTHORIZATION_FAILED) };
    }
    if (type !== 0 && type !== 1) {
      return { throttleTimeMs: 0, errorCode: ErrorCode.INVALID_REQUEST, replicaElectionResults: perPartition(() => ErrorCode.INVALID_REQUEST, `Unknown election type ${type}`) };
    }
    if (!replication.clustered) {
      // One broker: the preferred (only) replica leads every partition and is alive.
      const known = (topic: string, p: number): number => (replication.partitionInfo(topic, p) ? ErrorCode.ELECTION_NOT_NEEDED : ErrorCode.UNKNOWN_TOPIC_OR_PARTITION);
      return { throttleTimeMs: 0, errorCode: ErrorCode.NONE, replicaElectionResults: req.topicPartitions === null ? [] : perPartition(known) };
    }
    const controller = replication.activeController?.() ?? null;
    if (!controller) {
      return {
        throttleTimeMs: 0,
        errorCode: ctx.apiVersion >= 1 ? ErrorCode.NOT_CONTROLLER : ErrorCode.NONE,
        replicaElectionResults: perPartition(() => ErrorCode.NOT_CONTROLLER, 'This broker is not the controller.'),
      };
    }
    const partitions = req.topicPartitions === null ? null : req.topicPartitions.flatMap((t) => t.partitions.map((partition) => ({ topic: t.topic, partition })));
    const results = await controller.electLeaders(partitions, type === 1 ? 'UNCLEAN' : 'PREFERRED');
    return { throttleTimeMs: 0, errorCode: ErrorCode.NONE, replicaElectionResults: results };
  },
}));
