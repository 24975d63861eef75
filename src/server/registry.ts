/**
 * The one list of handlers. ApiVersions is computed from it; adding an API is adding a line here.
 */
import type { Handler } from './handler.js';
import produce from './handlers/produce.js';
import fetch from './handlers/fetch.js';
import listOffsets from './handlers/list-offsets.js';
import metadata from './handlers/metadata.js';
import offsetForLeaderEpoch from './handlers/offset-for-leader-epoch.js';
import apiVersions from './handlers/api-versions.js';
import createTopics from './handlers/create-topics.js';
import deleteTopics from './handlers/delete-topics.js';
import deleteRecords from './handlers/delete-records.js';
import describeConfigs from './handlers/describe-configs.js';
import alterConfigs from './handlers/alter-configs.js';
import describeLogDirs from './handlers/describe-log-dirs.js';
import createPartitions from './handlers/create-partitions.js';
import incrementalAlterConfigs from './handlers/incremental-alter-configs.js';
import describeCluster from './handlers/describe-cluster.js';
import describeTopicPartitions from './handlers/describe-topic-partitions.js';
import initProducerId from './handlers/init-producer-id.js';
import describeProducers from './handlers/describe-producers.js';
import offsetCommit from './handlers/offset-commit.js';
import offsetFetch from './handlers/offset-fetch.js';
import findCoordinator from './handlers/find-coordinator.js';
import joinGroup from './handlers/join-group.js';
import heartbeat from './handlers/heartbeat.js';
import leaveGroup from './handlers/leave-group.js';
import syncGroup from './handlers/sync-group.js';
import describeGroups from './handlers/describe-groups.js';
import listGroups from './handlers/list-groups.js';
import deleteGroups from './handlers/delete-groups.js';
import offsetDelete from './handlers/offset-delete.js';
import addPartitionsToTxn from './handlers/add-partitions-to-txn.js';
import addOffsetsToTxn from './handlers/add-offsets-to-txn.js';
import endTxn from './handlers/end-txn.js';
import txnOffsetCommit from './handlers/txn-offset-commit.js';
import describeTransactions from './handlers/describe-transactions.js';
import listTransactions from './handlers/list-transactions.js';
import writeTxnMarkers from './handlers/write-txn-markers.js';
import consumerGroupHeartbeat from './handlers/consumer-group-heartbeat.js';
import consumerGroupDescribe from './handlers/consumer-group-describe.js';
import electLeaders from './handlers/elect-leaders.js';
import alterPartitionReassignments from './handlers/alter-partition-reassignments.js';
import listPartitionReassignments from './handlers/list-partition-reassignments.js';
import describeUserScramCredentials from './handlers/describe-user-scram-credentials.js';
import alterUserScramCredentials from './handlers/alter-user-scram-credentials.js';
import createAcls from './handlers/create-acls.js';
import describeAcls from './handlers/describe-acls.js';
import deleteAcls from './handlers/delete-acls.js';
import saslHandshake from './handlers/sasl-handshake.js';
import saslAuthenticate from './handlers/sasl-authenticate.js';
import describeClientQuotas from './handlers/describe-client-quotas.js';
import alterClientQuotas from './handlers/alter-client-quotas.js';

const all: Handler[] = [
  produce, fetch, listOffsets, metadata, offsetForLeaderEpoch, apiVersions, createTopics, deleteTopics,
  deleteRecords, describeConfigs, alterConfigs, describeLogDirs, createPartitions, incrementalAlterConfigs,
  describeCluster, describeTopicPartitions, initProducerId, describeProducers,
  offsetCommit, offsetFetch, findCoordinator, joinGroup, heartbeat, leaveGroup, syncGroup, describeGroups, listGroups,
  deleteGroups, offsetDelete, consumerGroupHeartbeat, consumerGroupDescribe,
  addPartitionsToTxn, addOffsetsToTxn, endTxn, txnOffsetCommit, describeTransactions, listTransactions,
  writeTxnMarkers,
  electLeaders, alterPartitionReassignments, listPartitionReassignments,
  describeUserScramCredentials, alterUserScramCredentials,
  createAcls, describeAcls, deleteAcls,
  saslHandshake, saslAuthenticate,
  describeClientQuotas, alterClientQuotas,
];

/**
 * The handlers by API key. A spec's newest version marked unstable (latestVersionUnstable) is advertised
 * only with unstable.api.versions.enable, as in Kafka.
 */
export function createRegistry(opts: { unstableApiVersions?: boolean; handlers?: readonly Handler[] } = {}): ReadonlyMap<number, Handler> {
  const map = new Map<number, Handler>();
  for (const h of opts.handlers ?? all) {
    if (map.has(h.apiKey)) throw new Error(`Two handlers for API key ${h.apiKey}`);
    const dropUnstable = !opts.unstableApiVersions && h.request.latestVersionUnstable && h.maxVersion === h.request.maxVersion;
    map.set(h.apiKey, dropUnstable ? { ...h, maxVersion: h.maxVersion - 1 } : h);
  }
  return map;
}
