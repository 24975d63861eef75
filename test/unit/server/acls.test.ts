/**
 * The authorizer end to end, with real principals: an SSL listener requiring client certificates, and
 * ssl.principal.mapping.rules turning CN=alice / CN=bob / CN=admin into User:alice / User:bob / User:admin.
 * User:admin is a super user and writes the ACLs; alice is granted what each API needs, bob nothing. Every API
 * is sent by both over the wire (raw requests with our codecs), and each answer's code is Kafka's:
 * TOPIC_/GROUP_/CLUSTER_/TRANSACTIONAL_ID_AUTHORIZATION_FAILED for bob, anything but that for alice.
 * Also: Metadata/ListGroups/ListTransactions hide what bob may not describe, include_*_authorized_operations
 * come from the ACLs, CreateAcls/DescribeAcls/DeleteAcls validation, SECURITY_DISABLED without an authorizer,
 * and the ACLs survive a restart.
 */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startBroker, type RunningBroker } from '../../../src/server/broker.js';
import { Admin } from '../../../src/client/admin.js';
import { buildRecordBatch } from '../../../src/protocol/records/record.js';
import { ErrorCode } from '../../../src/protocol/generated/error-codes.js';
import { makeTestCerts, type TestCerts } from '../../helpers/certs.js';
import { RawClient } from '../../helpers/raw-client.js';
import type { AuditEvent, AuditSink } from '../../../src/security/audit.js';

const TOPIC_DENIED = ErrorCode.TOPIC_AUTHORIZATION_FAILED;
const GROUP_DENIED = ErrorCode.GROUP_AUTHORIZATION_FAILED;
const CLUSTER_DENIED = ErrorCode.CLUSTER_AUTHORIZATION_FAILED;
const TXN_DENIED = ErrorCode.TRANSACTIONAL_ID_AUTHORIZATION_FAILED;
const DENIALS = new Set<number>([TOPIC_DENIED, GROUP_DENIED, CLUSTER_DENIED, TXN_DENIED]);

const authorizerConfig = {
  'authorizer.class.name': 'org.apache.kafka.metadata.authorizer.StandardAuthorizer',
  'super.users': 'User:admin',
};

interface Case {
  name: string;
  api: number;
  version: number;
  body: () => unknown;
  code: (res: any) => number;
  /** bob's expected code. */
  bob: number;
  /** alice's, when it is known exactly (else: any code that is not a denial). */
  alice?: number;
}

const batch = () => buildRecordBatch([{ key: 'k', value: 'v', timestamp: Date.now() }]);
const fetchPartition = { partition: 0, fetchOffset: 0n, partitionMaxBytes: 1 << 20, currentLeaderEpoch: -1, logStartOffset: -1n };

const CASES: Case[] = [
  { name: 'Produce', api: 0, version: 9, bob: TOPIC_DENIED, alice: 0,
    body: () => ({ acks: 1, timeoutMs: 5000, transactionalId: null, topicData: [{ name: 'orders', partitionData: [{ index: 0, records: batch() }] }] }),
    code: (r) => r.responses[0].partitionResponses[0].errorCode },
  { name: 'Produce (transactional id)', api: 0, version: 9, bob: TXN_DENIED,
    body: () => ({ acks: 1, timeoutMs: 5000, transactionalId: 'tx', topicData: [{ name: 'orders', partitionData: [{ index: 0, records: batch() }] }] }),
    code: (r) => r.responses[0].partitionResponses[0].errorCode },
  { name: 'Fetch', api: 1, version: 12, bob: TOPIC_DENIED, alice: 0,
    body: () => ({ replicaId: -1, maxWaitMs: 0, minBytes: 0, maxBytes: 1 << 20, isolationLevel: 0, sessionId: 0, sessionEpoch: -1, topics: [{ topic: 'orders', partitions: [fetchPartition] }], forgottenTopicsData: [], rackId: '' }),
    code: (r) => r.responses[0].partitions[0].errorCode },
  { name: 'Fetch as a follower (CLUSTER_ACTION)', api: 1, version: 12, bob: TOPIC_DENIED,
    body: () => ({ replicaId: 7, maxWaitMs: 0, minBytes: 0, maxBytes: 1 << 20, isolationLevel: 0, sessionId: 0, sessionEpoch: -1, topics: [{ topic: 'orders', partitions: [fetchPartition] }], forgottenTopicsData: [], rackId: '' }),
    code: (r) => r.responses[0].partitions[0].errorCode },
  { name: 'ListOffsets', api: 2, version: 7, bob: TOPIC_DENIED, alice: 0,
    body: () => ({ replicaId: -1, isolationLevel: 0, topics: [{ name: 'orders', partitions: [{ partitionIndex: 0, currentLeaderEpoch: -1, timestamp: -1n }] }] }),
    code: (r) => r.topics[0].partitions[0].errorCode },
  { name: 'Metadata (named topic)', api: 3, version: 12, bob: TOPIC_DENIED, alice: 0,
    body: () => ({ topics: [{ name: 'orders', topicId: '00000000-0000-0000-0000-000000000000' }], allowAutoTopicCreation: false }),
    code: (r) => r.topics[0].errorCode },
  { name: 'OffsetForLeaderEpoch', api: 23, version: 4, bob: TOPIC_DENIED, alice: 0,
    body: () => ({ replicaId: -1, topics: [{ topic: 'orders', partitions: [{ partition: 0, currentLeaderEpoch: -1, leaderEpoch: 0 }] }] }),
    code: (r) => r.topics[0].partitions[0].errorCode },
  { name: 'OffsetCommit', api: 8, version: 8, bob: GROUP_DENIED, alice: 0,
    body: () => ({ groupId: 'g', generationIdOrMemberEpoch: -1, memberId: '', groupInstanceId: null, topics: [{ name: 'orders', partitions: [{ partitionIndex: 0, committedOffset: 0n, committedLeaderEpoch: -1, committedMetadata: '' }] }] }),
    code: (r) => r.topics[0].partitions[0].errorCode },
  { name: 'OffsetFetch', api: 9, version: 8, bob: GROUP_DENIED, alice: 0,
    body: () => ({ groups: [{ groupId: 'g', topics: null }], requireStable: false }),
    code: (r) => r.groups[0].errorCode },
  { name: 'FindCoordinator (group)', api: 10, version: 4, bob: GROUP_DENIED, alice: 0,
    body: () => ({ keyType: 0, coordinatorKeys: ['g'] }), code: (r) => r.coordinators[0].errorCode },
  { name: 'FindCoordinator (transaction)', api: 10, version: 4, bob: TXN_DENIED, alice: 0,
    body: () => ({ keyType: 1, coordinatorKeys: ['tx'] }), code: (r) => r.coordinators[0].errorCode },
  { name: 'JoinGroup', api: 11, version: 7, bob: GROUP_DENIED, alice: ErrorCode.MEMBER_ID_REQUIRED,
    body: () => ({ groupId: 'g', sessionTimeoutMs: 10000, rebalanceTimeoutMs: 10000, memberId: '', groupInstanceId: null, protocolType: 'consumer', protocols: [{ name: 'range', metadata: Buffer.alloc(0) }] }),
    code: (r) => r.errorCode },
  { name: 'Heartbeat', api: 12, version: 4, bob: GROUP_DENIED,
    body: () => ({ groupId: 'g', generationId: 1, memberId: 'm', groupInstanceId: null }), code: (r) => r.errorCode },
  { name: 'SyncGroup', api: 14, version: 5, bob: GROUP_DENIED,
    body: () => ({ groupId: 'g', generationId: 1, memberId: 'm', groupInstanceId: null, protocolType: 'consumer', protocolName: 'range', assignments: [] }), code: (r) => r.errorCode },
  { name: 'LeaveGroup', api: 13, version: 4, bob: GROUP_DENIED,
    body: () => ({ groupId: 'g', members: [{ memberId: 'm', groupInstanceId: null }] }), code: (r) => r.errorCode },
  { name: 'ConsumerGroupHeartbeat', api: 68, version: 0, bob: GROUP_DENIED,
    body: () => ({ groupId: 'g', memberId: 'm1', memberEpoch: 0, instanceId: null, rackId: null, rebalanceTimeoutMs: 10000, subscribedTopicNames: ['orders'], serverAssignor: null, topicPartitions: [] }),
    code: (r) => r.errorCode },
  { name: 'ConsumerGroupHeartbeat (a topic alice may not describe)', api: 68, version: 0, bob: GROUP_DENIED, alice: TOPIC_DENIED,
    body: () => ({ groupId: 'g', memberId: 'm2', memberEpoch: 0, instanceId: null, rackId: null, rebalanceTimeoutMs: 10000, subscribedTopicNames: ['other'], serverAssignor: null, topicPartitions: [] }),
    code: (r) => r.errorCode },
  { name: 'DescribeGroups', api: 15, version: 5, bob: GROUP_DENIED, alice: 0,
    body: () => ({ groups: ['g'], includeAuthorizedOperations: true }), code: (r) => r.groups[0].errorCode },
  { name: 'ConsumerGroupDescribe', api: 69, version: 0, bob: GROUP_DENIED,
    body: () => ({ groupIds: ['g'], includeAuthorizedOperations: false }), code: (r) => r.groups[0].errorCode },
  { name: 'OffsetDelete', api: 47, version: 0, bob: GROUP_DENIED,
    body: () => ({ groupId: 'g', topics: [{ name: 'orders', partitions: [{ partitionIndex: 0 }] }] }), code: (r) => r.errorCode },
  { name: 'DeleteGroups', api: 42, version: 2, bob: GROUP_DENIED,
    body: () => ({ groupsNames: ['g-other'] }), code: (r) => r.results[0].errorCode },
  { name: 'CreateTopics', api: 19, version: 5, bob: TOPIC_DENIED, alice: 0,
    body: () => ({ topics: [{ name: 'orders-new', numPartitions: 1, replicationFactor: 1, assignments: [], configs: [] }], timeoutMs: 5000, validateOnly: true }),
    code: (r) => r.topics[0].errorCode },
  { name: 'CreatePartitions', api: 37, version: 3, bob: TOPIC_DENIED, alice: 0,
    body: () => ({ topics: [{ name: 'orders', count: 2, assignments: null }], timeoutMs: 5000, validateOnly: true }), code: (r) => r.results[0].errorCode },
  { name: 'DeleteRecords', api: 21, version: 2, bob: TOPIC_DENIED, alice: 0,
    body: () => ({ topics: [{ name: 'orders', partitions: [{ partitionIndex: 0, offset: 0n }] }], timeoutMs: 5000 }), code: (r) => r.topics[0].partitions[0].errorCode },
  { name: 'DeleteTopics', api: 20, version: 5, bob: TOPIC_DENIED, alice: ErrorCode.UNKNOWN_TOPIC_OR_PARTITION,
    body: () => ({ topicNames: ['orders-missing'], timeoutMs: 5000 }), code: (r) => r.responses[0].errorCode },
  { name: 'DescribeConfigs (topic)', api: 32, version: 4, bob: TOPIC_DENIED, alice: 0,
    body: () => ({ resources: [{ resourceType: 2, resourceName: 'orders', configurationKeys: null }], includeSynonyms: false, includeDocumentation: false }), code: (r) => r.results[0].errorCode },
  { name: 'DescribeConfigs (broker)', api: 32, version: 4, bob: CLUSTER_DENIED, alice: 0,
    body: () => ({ resources: [{ resourceType: 4, resourceName: '1', configurationKeys: ['num.partitions'] }], includeSynonyms: false, includeDocumentation: false }), code: (r) => r.results[0].errorCode },
  { name: 'AlterConfigs (topic)', api: 33, version: 2, bob: TOPIC_DENIED, alice: 0,
    body: () => ({ resources: [{ resourceType: 2, resourceName: 'orders', configs: [{ name: 'retention.ms', value: '100000' }] }], validateOnly: true }), code: (r) => r.responses[0].errorCode },
  { name: 'IncrementalAlterConfigs (group)', api: 44, version: 1, bob: GROUP_DENIED,
    body: () => ({ resources: [{ resourceType: 32, resourceName: 'g', configs: [{ name: 'consumer.session.timeout.ms', configOperation: 0, value: '45000' }] }], validateOnly: true }), code: (r) => r.responses[0].errorCode },
  { name: 'InitProducerId (idempotent)', api: 22, version: 4, bob: CLUSTER_DENIED, alice: 0,
    body: () => ({ transactionalId: null, transactionTimeoutMs: 60000, producerId: -1n, producerEpoch: -1 }), code: (r) => r.errorCode },
  { name: 'InitProducerId (transactional)', api: 22, version: 4, bob: TXN_DENIED, alice: 0,
    body: () => ({ transactionalId: 'tx', transactionTimeoutMs: 60000, producerId: -1n, producerEpoch: -1 }), code: (r) => r.errorCode },
  { name: 'AddPartitionsToTxn', api: 24, version: 3, bob: TXN_DENIED,
    body: () => ({ v3AndBelowTransactionalId: 'tx', v3AndBelowProducerId: 1n, v3AndBelowProducerEpoch: 0, v3AndBelowTopics: [{ name: 'orders', partitions: [0] }] }),
    code: (r) => r.resultsByTopicV3AndBelow[0].resultsByPartition[0].partitionErrorCode },
  { name: 'AddOffsetsToTxn', api: 25, version: 3, bob: TXN_DENIED,
    body: () => ({ transactionalId: 'tx', producerId: 1n, producerEpoch: 0, groupId: 'g' }), code: (r) => r.errorCode },
  { name: 'EndTxn', api: 26, version: 3, bob: TXN_DENIED,
    body: () => ({ transactionalId: 'tx', producerId: 1n, producerEpoch: 0, committed: true }), code: (r) => r.errorCode },
  { name: 'TxnOffsetCommit', api: 28, version: 3, bob: TXN_DENIED,
    body: () => ({ transactionalId: 'tx', groupId: 'g', producerId: 1n, producerEpoch: 0, generationId: -1, memberId: '', groupInstanceId: null, topics: [{ name: 'orders', partitions: [{ partitionIndex: 0, committedOffset: 0n, committedLeaderEpoch: -1, committedMetadata: '' }] }] }),
    code: (r) => r.topics[0].partitions[0].errorCode },
  { name: 'DescribeTransactions', api: 65, version: 0, bob: TXN_DENIED,
    body: () => ({ transactionalIds: ['tx'] }), code: (r) => r.transactionStates[0].errorCode },
  { name: 'DescribeProducers', api: 61, version: 0, bob: TOPIC_DENIED, alice: 0,
    body: () => ({ topics: [{ name: 'orders', partitionIndexes: [0] }] }), code: (r) => r.topics[0].partitions[0].errorCode },
  { name: 'WriteTxnMarkers', api: 27, version: 1, bob: CLUSTER_DENIED,
    body: () => ({ markers: [{ producerId: 99n, producerEpoch: 0, transactionResult: false, topics: [{ name: 'orders', partitionIndexes: [0] }], coordinatorEpoch: 0 }] }),
    code: (r) => r.markers[0].topics[0].partitions[0].errorCode },
  { name: 'DescribeLogDirs', api: 35, version: 4, bob: CLUSTER_DENIED, alice: 0,
    body: () => ({ topics: null }), code: (r) => r.errorCode },
  { name: 'ElectLeaders', api: 43, version: 2, bob: CLUSTER_DENIED, alice: 0,
    body: () => ({ electionType: 0, topicPartitions: null, timeoutMs: 5000 }), code: (r) => r.errorCode },
  { name: 'ListPartitionReassignments', api: 46, version: 0, bob: CLUSTER_DENIED, alice: 0,
    body: () => ({ timeoutMs: 5000, topics: null }), code: (r) => r.errorCode },
  { name: 'AlterPartitionReassignments', api: 45, version: 0, bob: CLUSTER_DENIED, alice: 0,
    body: () => ({ timeoutMs: 5000, topics: [] }), code: (r) => r.errorCode },
  { name: 'DescribeUserScramCredentials', api: 50, version: 0, bob: CLUSTER_DENIED, alice: 0,
    body: () => ({ users: null }), code: (r) => r.errorCode },
  { name: 'AlterUserScramCredentials', api: 51, version: 0, bob: CLUSTER_DENIED,
    body: () => ({ deletions: [{ name: 'nobody', mechanism: 1 }], upsertions: [] }), code: (r) => r.results[0].errorCode },
  { name: 'DescribeClientQuotas', api: 48, version: 1, bob: CLUSTER_DENIED, alice: 0,
    body: () => ({ components: [], strict: false }), code: (r) => r.errorCode },
  { name: 'AlterClientQuotas', api: 49, version: 1, bob: CLUSTER_DENIED, alice: 0,
    body: () => ({ entries: [{ entity: [{ entityType: 'user', entityName: 'carol' }], ops: [{ key: 'producer_byte_rate', value: 1024, remove: false }] }], validateOnly: true }), code: (r) => r.entries[0].errorCode },
  { name: 'DescribeTopicPartitions', api: 75, version: 0, bob: TOPIC_DENIED, alice: 0,
    body: () => ({ topics: [{ name: 'orders' }], responsePartitionLimit: 100, cursor: null }), code: (r) => r.topics[0].errorCode },
  { name: 'DescribeAcls', api: 29, version: 2, bob: CLUSTER_DENIED, alice: 0,
    body: () => ({ resourceTypeFilter: 1, resourceNameFilter: null, patternTypeFilter: 1, principalFilter: null, hostFilter: null, operation: 1, permissionType: 1 }), code: (r) => r.errorCode },
  { name: 'CreateAcls', api: 30, version: 2, bob: CLUSTER_DENIED,
    body: () => ({ creations: [{ resourceType: 2, resourceName: 'x', resourcePatternType: 3, principal: 'User:bob', host: '*', operation: 3, permissionType: 3 }] }), code: (r) => r.results[0].errorCode },
  { name: 'DeleteAcls', api: 31, version: 2, bob: CLUSTER_DENIED,
    body: () => ({ filters: [{ resourceTypeFilter: 2, resourceNameFilter: 'x', patternTypeFilter: 3, principalFilter: null, hostFilter: null, operation: 1, permissionType: 1 }] }), code: (r) => r.filterResults[0].errorCode },
];

describe('the authorizer with TLS principals', () => {
  let certs: TestCerts;
  let dataDir: string;
  let broker: RunningBroker;
  let address: string;
  let tlsOf: (cn: string) => { ca: string; cert: string; key: string };
  let admin: Admin;
  const clients: RawClient[] = [];
  const connect = async (cn: string): Promise<RawClient> => {
    const c = await RawClient.connectTls(address, tlsOf(cn));
    clients.push(c);
    return c;
  };

  const start = async (): Promise<void> => {
    broker = await startBroker({
      dataDir, logLevel: 'silent',
      config: {
        listeners: 'SSL://127.0.0.1:0',
        'ssl.keystore.location': certs.serverKeystore,
        'ssl.truststore.location': certs.caCert,
        'ssl.client.auth': 'required',
        'ssl.principal.mapping.rules': 'RULE:^CN=([^,]*),.*$/$1/,DEFAULT',
        ...authorizerConfig,
      },
    });
    address = `127.0.0.1:${broker.port}`;
  };

  before(async () => {
    certs = makeTestCerts();
    const made = new Map(['alice', 'bob', 'admin'].map((cn) => [cn, cn === 'alice' ? { cert: certs.clientCert, key: certs.clientKey } : certs.newClientCert(cn)]));
    tlsOf = (cn) => ({ ca: certs.read(certs.caCert), cert: certs.read(made.get(cn)!.cert), key: certs.read(made.get(cn)!.key) });
    dataDir = await mkdtemp(join(tmpdir(), 'tributary-acls-'));
    await start();
    admin = new Admin({ bootstrapServers: address, retries: 0, ssl: tlsOf('admin') });
    await admin.createTopics([{ name: 'orders', numPartitions: 1 }]);
    const results = await admin.createAcls([
      { resourceType: 'TOPIC', resourceName: 'orders', patternType: 'PREFIXED', principal: 'User:alice', operation: 'ALL', permissionType: 'ALLOW' },
      { resourceType: 'GROUP', resourceName: 'g', patternType: 'PREFIXED', principal: 'User:alice', operation: 'ALL', permissionType: 'ALLOW' },
      { resourceType: 'TRANSACTIONAL_ID', resourceName: 'tx', principal: 'User:alice', operation: 'ALL', permissionType: 'ALLOW' },
      { resourceType: 'CLUSTER', resourceName: 'kafka-cluster', principal: 'User:alice', operation: 'ALL', permissionType: 'ALLOW' },
      // A DENY for alice on one topic that her prefixed ALLOW covers: deny wins.
      { resourceType: 'TOPIC', resourceName: 'orders-secret', principal: 'User:alice', operation: 'READ', permissionType: 'DENY' },
    ]);
    assert.deepEqual(results.map((r) => r.error), [null, null, null, null, null]);
  });

  after(async () => {
    for (const c of clients) c.close();
    await admin?.close();
    await broker?.close();
    await rm(dataDir, { recursive: true, force: true });
    certs?.remove();
  });

  test('every API: bob is refused with the code Kafka answers, alice is served', async () => {
    const events: AuditEvent[] = [];
    (broker.context as { audit: AuditSink }).audit = { record: (e) => events.push(e) };
    const alice = await connect('alice');
    const bob = await connect('bob');
    const failures: string[] = [];
    for (const c of CASES) {
      const bobCode = c.code(await bob.send(c.api, c.version, c.body()));
      if (bobCode !== c.bob) failures.push(`${c.name}: bob got ${bobCode}, expected ${c.bob}`);
      if (c.name.includes('follower') || c.api === 27 || c.api >= 29 && c.api <= 31 && c.alice === undefined) continue;
      const aliceCode = c.code(await alice.send(c.api, c.version, c.body()));
      if (c.alice !== undefined ? aliceCode !== c.alice : DENIALS.has(aliceCode)) failures.push(`${c.name}: alice got ${aliceCode}, expected ${c.alice ?? 'no denial'}`);
    }
    assert.deepEqual(failures, []);
    // Denials are audited with who, from where, what and Kafka's error; allowed admin operations too.
    const denied = events.find((e) => e.result === 'denied' && e.operation === 'WRITE' && e.resource?.type === 'TOPIC');
    assert.deepEqual(denied && { principal: denied.principal, host: denied.clientHost, resource: denied.resource, error: denied.error },
      { principal: 'User:bob', host: '127.0.0.1', resource: { type: 'TOPIC', name: 'orders' }, error: 'TOPIC_AUTHORIZATION_FAILED' });
    assert.ok(events.some((e) => e.result === 'allowed' && e.principal === 'User:alice' && e.operation === 'CREATE' && e.resource?.type === 'CLUSTER'));
    assert.ok(!events.some((e) => e.principal === 'User:alice' && e.result === 'allowed' && e.operation === 'READ'), 'reads are not audited when allowed');
  });

  test('deny wins: alice may write orders-secret (prefixed ALLOW) but not read it', async () => {
    await admin.createTopics([{ name: 'orders-secret', numPartitions: 1 }]);
    const alice = await connect('alice');
    const produced = await alice.send(0, 9, { acks: 1, timeoutMs: 5000, transactionalId: null, topicData: [{ name: 'orders-secret', partitionData: [{ index: 0, records: batch() }] }] });
    assert.equal(produced.responses[0].partitionResponses[0].errorCode, 0);
    const fetched = await alice.send(1, 12, { replicaId: -1, maxWaitMs: 0, minBytes: 0, maxBytes: 1 << 20, isolationLevel: 0, sessionId: 0, sessionEpoch: -1, topics: [{ topic: 'orders-secret', partitions: [fetchPartition] }], forgottenTopicsData: [], rackId: '' });
    assert.equal(fetched.responses[0].partitions[0].errorCode, TOPIC_DENIED);
  });

  test('Metadata, ListGroups and DescribeCluster show bob nothing he may not describe; authorized operations from the ACLs', async () => {
    const alice = await connect('alice');
    const bob = await connect('bob');
    const all = { topics: null, allowAutoTopicCreation: false, includeClusterAuthorizedOperations: true, includeTopicAuthorizedOperations: true };
    const mdAlice = await alice.send(3, 10, all);
    const mdBob = await bob.send(3, 10, all);
    assert.ok(mdAlice.topics.some((t: any) => t.name === 'orders'));
    assert.deepEqual(mdBob.topics, []);
    assert.equal(mdBob.clusterAuthorizedOperations, 0);
    assert.equal(mdAlice.clusterAuthorizedOperations, 8096);
    assert.equal(mdAlice.topics.find((t: any) => t.name === 'orders').topicAuthorizedOperations, 3576);
    // orders-secret: every operation but READ.
    assert.equal(mdAlice.topics.find((t: any) => t.name === 'orders-secret').topicAuthorizedOperations, 3576 & ~(1 << 3));
    // Auto-creation needs CREATE: bob is refused before anything is created.
    const auto = await bob.send(3, 10, { topics: [{ name: 'bob-auto', topicId: '00000000-0000-0000-0000-000000000000' }], allowAutoTopicCreation: true });
    assert.equal(auto.topics[0].errorCode, TOPIC_DENIED);
    assert.equal(broker.context.topics.get('bob-auto'), undefined);
    // The group g exists (alice committed offsets in the matrix, or does now).
    await alice.send(8, 8, { groupId: 'g', generationIdOrMemberEpoch: -1, memberId: '', groupInstanceId: null, topics: [{ name: 'orders', partitions: [{ partitionIndex: 0, committedOffset: 0n, committedLeaderEpoch: -1, committedMetadata: '' }] }] });
    const groupsAlice = await alice.send(16, 4, { statesFilter: [] });
    const groupsBob = await bob.send(16, 4, { statesFilter: [] });
    assert.ok(groupsAlice.groups.some((g: any) => g.groupId === 'g'));
    assert.deepEqual(groupsBob.groups, []);
    const dcBob = await bob.send(60, 1, { includeClusterAuthorizedOperations: true, endpointType: 1 });
    assert.equal(dcBob.clusterAuthorizedOperations, 0);
  });

  test('ACL admin: describe with filters, invalid bindings and filters, delete, and the ACLs survive a restart', async () => {
    const aliceTopics = await admin.describeAcls({ resourceType: 'TOPIC', principal: 'User:alice' });
    assert.equal(aliceTopics.length, 2);
    const matching = await admin.describeAcls({ resourceType: 'TOPIC', resourceName: 'orders-secret', patternType: 'MATCH' });
    assert.deepEqual(matching.map((b) => `${b.patternType}:${b.resourceName}:${b.permissionType}`).sort(), ['LITERAL:orders-secret:DENY', 'PREFIXED:orders:ALLOW']);
    const bad = await admin.createAcls([
      { resourceType: 'TOPIC', resourceName: '', principal: 'User:x', operation: 'READ', permissionType: 'ALLOW' },
      { resourceType: 'TOPIC', resourceName: 't', principal: 'nocolon', operation: 'READ', permissionType: 'ALLOW' },
      { resourceType: 'CLUSTER', resourceName: 'other', principal: 'User:x', operation: 'ALTER', permissionType: 'ALLOW' },
      { resourceType: 'TOPIC', resourceName: 't', patternType: 'MATCH', principal: 'User:x', operation: 'READ', permissionType: 'ALLOW' },
    ]);
    assert.deepEqual(bad.map((r) => r.error?.errorCode), [42, 42, 42, 42]);
    const raw = await connect('admin');
    const invalid = await raw.send(29, 2, { resourceTypeFilter: 0, resourceNameFilter: null, patternTypeFilter: 1, principalFilter: null, hostFilter: null, operation: 1, permissionType: 1 });
    assert.equal(invalid.errorCode, ErrorCode.INVALID_REQUEST);
    await admin.createAcls([{ resourceType: 'GROUP', resourceName: 'temp', principal: 'User:bob', operation: 'READ', permissionType: 'ALLOW' }]);
    const deleted = await admin.deleteAcls([{ principal: 'User:bob' }]);
    assert.equal(deleted[0]!.error, null);
    assert.deepEqual(deleted[0]!.deleted.map((b) => `${b.resourceType}:${b.resourceName}`), ['GROUP:temp']);

    await admin.close();
    for (const c of clients.splice(0)) c.close();
    await broker.close();
    await start();
    admin = new Admin({ bootstrapServers: address, retries: 0, ssl: tlsOf('admin') });
    assert.equal((await admin.describeAcls()).length, 5);
    const alice = await connect('alice');
    const bob = await connect('bob');
    const body = { acks: 1, timeoutMs: 5000, transactionalId: null, topicData: [{ name: 'orders', partitionData: [{ index: 0, records: batch() }] }] };
    assert.equal((await alice.send(0, 9, body)).responses[0].partitionResponses[0].errorCode, 0);
    assert.equal((await bob.send(0, 9, body)).responses[0].partitionResponses[0].errorCode, TOPIC_DENIED);
  });
});

describe('a broker without an authorizer', () => {
  test('allows everything and answers the ACL APIs with SECURITY_DISABLED', async () => {
    const dataDir = await mkdtemp(join(tmpdir(), 'tributary-noacl-'));
    const broker = await startBroker({ dataDir, logLevel: 'silent', config: { listeners: 'PLAINTEXT://127.0.0.1:0' } });
    const client = await RawClient.connect(broker.address);
    try {
      const described = await client.send(29, 1, { resourceTypeFilter: 1, resourceNameFilter: null, patternTypeFilter: 1, principalFilter: null, hostFilter: null, operation: 1, permissionType: 1 });
      assert.equal(described.errorCode, ErrorCode.SECURITY_DISABLED);
      const created = await client.send(30, 1, { creations: [{ resourceType: 2, resourceName: 'x', resourcePatternType: 3, principal: 'User:a', host: '*', operation: 3, permissionType: 3 }] });
      assert.equal(created.results[0].errorCode, ErrorCode.SECURITY_DISABLED);
      const deleted = await client.send(31, 0, { filters: [{ resourceTypeFilter: 1, resourceNameFilter: null, principalFilter: null, hostFilter: null, operation: 1, permissionType: 1 }] });
      assert.equal(deleted.filterResults[0].errorCode, ErrorCode.SECURITY_DISABLED);
      const md = await client.send(3, 10, { topics: null, allowAutoTopicCreation: false, includeClusterAuthorizedOperations: true, includeTopicAuthorizedOperations: false });
      assert.equal(md.clusterAuthorizedOperations, 8096);
      await assert.rejects(startBroker({ dataDir: join(dataDir, 'x'), logLevel: 'silent', config: { listeners: 'PLAINTEXT://127.0.0.1:0', 'authorizer.class.name': 'com.example.Nope' } }), /authorizer.class.name/);
    } finally {
      client.close();
      await broker.close();
      await rm(dataDir, { recursive: true, force: true });
    }
  });
});
