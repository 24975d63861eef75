// Metadata (key 3), v0-13 (v13: top-level ErrorCode, always NONE here). Brokers, controller, leaders, replicas and ISR
// come from ctx.broker.replication: on a single node this broker leads every partition at epoch 0; in a cluster
// the etcd image says. Auto-creates requested topics when auto.create.topics.enable is on and the
// request allows it (v4+; always allowed before v4, as in Kafka). v8+ authorized operations when asked: all
// of them (no authorizer, see authorized-operations.ts).
import { ZERO_UUID } from '../../protocol/primitives/codec.js';
import { MetadataRequest } from '../../protocol/generated/metadata-request.js';
import { MetadataResponse, type MetadataResponseInit, type MetadataResponseTopicInit } from '../../protocol/generated/metadata-response.js';
import { ErrorCode } from '../../protocol/generated/error-codes.js';
import { defineHandler } from '../handler.js';
import { brokersOn, type BrokerEndpoint } from '../replication.js';
import { errorCodeOf } from '../error-mapping.js';
import type { BrokerContext } from '../broker-context.js';
import type { TopicInfo } from '../topic-manager.js';
import { authorizedOperations } from '../authorized-operations.js';
import { Operation, ResourceType } from '../../security/authorizer.js';


/** Live brokers, and those of them reachable on the request's listener: computed once per request. */
interface BrokerView {
  readonly live: ReadonlySet<number>;
  readonly reachable: ReadonlySet<number>;
  readonly endpoints: readonly BrokerEndpoint[];
}

function brokerView(broker: BrokerContext, listenerName: string | undefined): BrokerView {
  const brokers = broker.replication.brokers();
  const endpoints = brokersOn(brokers, listenerName);
  return { live: new Set(brokers.map((b) => b.nodeId)), reachable: new Set(endpoints.map((b) => b.nodeId)), endpoints };
}

export function describeTopic(broker: BrokerContext, t: TopicInfo, view: BrokerView = brokerView(broker, undefined)): MetadataResponseTopicInit {
  const partitions = [];
  const { live, reachable } = view;
  // A live leader without the request's listener: LISTENER_NOT_FOUND, as Kafka answers (a misconfigured cluster).
  for (let p = 0; p < t.partitions; p++) {
    const pi = broker.replication.partitionInfo(t.name, p);
    // As Kafka: a partition without a live leader is LEADER_NOT_AVAILABLE with leader -1, still listing its
    // replicas. In a cluster the leader named by the partition state may have just lost its registration (until
    // the controller re-elects): naming it would send clients to a broker missing from this very response.
    const liveLeader = pi && pi.leader >= 0 && live.has(pi.leader) ? pi.leader : -1;
    const leader = liveLeader >= 0 && reachable.has(liveLeader) ? liveLeader : -1;
    partitions.push({
      errorCode: leader >= 0 ? ErrorCode.NONE : liveLeader >= 0 ? ErrorCode.LISTENER_NOT_FOUND : ErrorCode.LEADER_NOT_AVAILABLE, partitionIndex: p, leaderId: leader, leaderEpoch: pi?.leaderEpoch ?? -1,
      replicaNodes: [...(pi?.replicas ?? [])], isrNodes: [...(pi?.isr ?? [])], offlineReplicas: [...(pi?.offline ?? [])],
    });
  }
  return { errorCode: ErrorCode.NONE, name: t.name, topicId: t.topicId, isInternal: t.internal, partitions };
}

export default defineHandler({
  request: MetadataRequest,
  response: MetadataResponse,
  concurrent: true,
  async handle(req, ctx): Promise<MetadataResponseInit> {
    const broker = ctx.broker;
    const topics: MetadataResponseTopicInit[] = [];
    // v0: an empty list means all topics; v1+: null means all topics, empty means none.
    const all = req.topics === null || (ctx.apiVersion === 0 && req.topics.length === 0);
    const view = brokerView(broker, ctx.session?.listenerName);
    // Authorization (as Kafka): all-topics lists only the topics the caller may DESCRIBE; a named one it may not
    // is TOPIC_AUTHORIZATION_FAILED, and so is a missing one it may not CREATE (cluster or topic) when the
    // request allows auto-creation.
    const authz = broker.authorizer;
    if (all) {
      for (const t of broker.topics.list()) if (authz.allows(ctx, Operation.DESCRIBE, ResourceType.TOPIC, t.name)) topics.push(describeTopic(broker, t, view));
    } else {
      const autoCreate = broker.config.get('auto.create.topics.enable') === 'true' && (ctx.apiVersion < 4 || req.allowAutoTopicCreation);
      for (const requested of req.topics!) {
        let t: TopicInfo | undefined;
        if (requested.name === null || requested.name === undefined) {
          t = requested.topicId && requested.topicId !== ZERO_UUID ? broker.topics.getById(requested.topicId) : undefined;
          if (!t) {
            topics.push({ errorCode: ErrorCode.UNKNOWN_TOPIC_ID, name: null, topicId: requested.topicId, partitions: [] });
            continue;
          }
        } else {
          t = broker.topics.get(requested.name);
          const denied = !authz.authorize(ctx, Operation.DESCRIBE, ResourceType.TOPIC, requested.name)
            || (!t && (ctx.apiVersion < 4 || req.allowAutoTopicCreation) && !authz.allows(ctx, Operation.CREATE, ResourceType.CLUSTER)
              && !authz.authorize(ctx, Operation.CREATE, ResourceType.TOPIC, requested.name));
          if (denied) {
            topics.push({ errorCode: ErrorCode.TOPIC_AUTHORIZATION_FAILED, name: requested.name, isInternal: false, partitions: [] });
            continue;
          }
          if (!t && autoCreate) {
            try {
              t = await broker.topics.create(requested.name, { partitions: -1, replicationFactor: -1 });
            } catch (err) {
              // A concurrent request may have created it meanwhile.
              t = broker.topics.get(requested.name);
              if (!t) {
                topics.push({ errorCode: errorCodeOf(err), name: requested.name, partitions: [] });
                continue;
              }
            }
          }
          if (!t) {
            topics.push({ errorCode: ErrorCode.UNKNOWN_TOPIC_OR_PARTITION, name: requested.name, partitions: [] });
            continue;
          }
        }
        topics.push(describeTopic(broker, t, view));
      }
    }
    if (req.includeTopicAuthorizedOperations) {
      for (const t of topics) if (t.errorCode === ErrorCode.NONE) t.topicAuthorizedOperations = authz.operations(ctx, ResourceType.TOPIC, t.name!);
    }
    return {
      throttleTimeMs: 0,
      clusterAuthorizedOperations: authorizedOperations(req.includeClusterAuthorizedOperations, () => authz.clusterOperations(ctx)),
      brokers: view.endpoints.map((e) => ({ nodeId: e.nodeId, host: e.host, port: e.port, rack: e.rack })),
      clusterId: broker.clusterId,
      controllerId: broker.replication.controllerId(),
      topics,
      // v13 (KIP-1102): a top-level error is for a request the broker cannot answer at all (e.g.
      // REBOOTSTRAP_REQUIRED in a cluster the client no longer knows); this single broker always answers.
      errorCode: ErrorCode.NONE,
    };
  },
});
