/**
 * Metadata in a cluster names a partition's leader only while that leader is registered: between a leader's
 * lease expiring and the controller electing another, the partition state still names the lost broker, which is
 * no longer in the response's broker list. Kafka answers LEADER_NOT_AVAILABLE with leader -1 then; naming the lost
 * broker made the project's producer fail sends with BROKER_NOT_AVAILABLE (found by cluster-faults, fault c).
 * And the advertised listener's port is the one a broker gives out (in Metadata, and in a cluster to etcd, where
 * the other brokers' fetchers find it), as Kafka does: the fault proxies in front of brokers rely on it.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { describeTopic } from '../../../src/server/handlers/metadata.js';
import { ErrorCode } from '../../../src/protocol/generated/error-codes.js';
import type { BrokerContext } from '../../../src/server/broker-context.js';
import type { PartitionInfo } from '../../../src/server/replication.js';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startBroker } from '../../../src/index.js';
import { RawClient } from '../../helpers/raw-client.js';

function context(liveBrokers: number[], states: PartitionInfo[]): BrokerContext {
  const replication = {
    brokers: () => liveBrokers.map((nodeId) => ({ nodeId, host: '127.0.0.1', port: 9090 + nodeId, rack: null })),
    partitionInfo: (_topic: string, p: number) => states[p],
  };
  return { replication } as unknown as BrokerContext;
}

test('a leader missing from the live brokers is reported as leader -1, LEADER_NOT_AVAILABLE, replicas still listed', () => {
  const lost: PartitionInfo = { leader: 3, leaderEpoch: 4, replicas: [3, 1, 2], isr: [3, 1, 2], offline: [3] };
  const fine: PartitionInfo = { leader: 1, leaderEpoch: 0, replicas: [1, 2, 3], isr: [1, 2, 3], offline: [3] };
  const t = describeTopic(context([1, 2], [lost, fine]), { name: 't', topicId: 'AAAAAAAAAAAAAAAAAAAAAA', partitions: 2, config: {}, internal: false });
  const [p0, p1] = t.partitions!;
  assert.deepEqual({ error: p0!.errorCode, leader: p0!.leaderId, epoch: p0!.leaderEpoch, replicas: p0!.replicaNodes, offline: p0!.offlineReplicas },
    { error: ErrorCode.LEADER_NOT_AVAILABLE, leader: -1, epoch: 4, replicas: [3, 1, 2], offline: [3] });
  assert.deepEqual({ error: p1!.errorCode, leader: p1!.leaderId }, { error: ErrorCode.NONE, leader: 1 });
});

test('advertised.listeners: Metadata names the advertised host and port, not the bound port (a proxy in front)', async () => {
  const dataDir = await mkdtemp(join(tmpdir(), 'tributary-advertised-'));
  // Nothing listens on the advertised port: the request goes to the bound one, the answer names the other.
  const broker = await startBroker({ host: '127.0.0.1', port: 0, dataDir, logLevel: 'silent', config: { 'advertised.listeners': 'PLAINTEXT://127.0.0.1:1' } });
  const raw = await RawClient.connect(broker.address);
  try {
    const res = await raw.send(3, 12, { topics: null, allowAutoTopicCreation: false, includeTopicAuthorizedOperations: false });
    assert.deepEqual((res as { brokers: Array<{ host: string; port: number }> }).brokers.map((b) => `${b.host}:${b.port}`), ['127.0.0.1:1']);
  } finally {
    raw.close();
    await broker.close();
    await rm(dataDir, { recursive: true, force: true });
  }
});
