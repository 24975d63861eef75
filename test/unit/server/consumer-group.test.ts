import { test, describe, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startBroker, type RunningBroker } from '../../../src/index.js';
import { RawClient } from '../../helpers/raw-client.js';
import { ErrorCode } from '../../../src/protocol/generated/error-codes.js';

const OFFSET_COMMIT = 8, OFFSET_FETCH = 9, JOIN_GROUP = 11, DESCRIBE_GROUPS = 15, LIST_GROUPS = 16, CREATE_TOPICS = 19;
const DELETE_GROUPS = 42, OFFSET_DELETE = 47, CG_HEARTBEAT = 68, CG_DESCRIBE = 69;
const INIT_PRODUCER_ID = 22, ADD_OFFSETS = 25, END_TXN = 26, TXN_OFFSET_COMMIT = 28;
const CONFIG = { 'offsets.topic.num.partitions': 3, 'group.initial.rebalance.delay.ms': 0, 'broker.rack': 'rack-a' };
const GROUP = 'kip848';
const TOPIC = 'orders';

type Owned = Array<{ topicId: string; partitions: number[] }>;

interface TestMember {
  memberId: string;
  memberEpoch: number;
  owned: Owned;
}

function partitionsOf(m: TestMember): number[] {
  return m.owned.flatMap((t) => t.partitions).sort((a, b) => a - b);
}

describe('KIP-848 consumer groups over the wire', () => {
  let broker: RunningBroker;
  let dir: string;
  let client: RawClient;
  let a: TestMember;
  let b: TestMember;

  const heartbeat = (body: object): Promise<any> => client.send(CG_HEARTBEAT, 0, {
    groupId: GROUP, memberId: '', memberEpoch: 0, instanceId: null, rackId: null, rebalanceTimeoutMs: -1,
    subscribedTopicNames: null, serverAssignor: null, topicPartitions: null, ...body,
  });

  async function joinMember(): Promise<TestMember> {
    const r = await heartbeat({ memberEpoch: 0, rebalanceTimeoutMs: 30_000, subscribedTopicNames: [TOPIC], topicPartitions: [] });
    assert.equal(r.errorCode, ErrorCode.NONE, r.errorMessage);
    assert.ok(r.memberId);
    return { memberId: r.memberId, memberEpoch: r.memberEpoch, owned: r.assignment?.topicPartitions ?? [] };
  }

  /** One heartbeat reporting what the member owns; adopts the assignment it answers (as a client does). */
  async function beat(m: TestMember): Promise<void> {
    const r = await heartbeat({ memberId: m.memberId, memberEpoch: m.memberEpoch, topicPartitions: m.owned });
    assert.equal(r.errorCode, ErrorCode.NONE, r.errorMessage);
    m.memberEpoch = r.memberEpoch;
    if (r.assignment) m.owned = r.assignment.topicPartitions;
  }

  /** Heartbeats every member in turn until `done` holds (bounded: the protocol converges in a few rounds). */
  async function converge(members: TestMember[], done: () => boolean): Promise<void> {
    for (let round = 0; round < 10 && !done(); round++) for (const m of members) await beat(m);
    assert.ok(done(), `no convergence: ${JSON.stringify(members)}`);
  }

  const fetchOffset = (extra: object = {}): Promise<any> => client.send(OFFSET_FETCH, 9, {
    groups: [{ groupId: GROUP, memberId: null, memberEpoch: -1, topics: [{ name: TOPIC, partitionIndexes: [0] }], ...extra }], requireStable: false,
  });
  const commit = (version: number, memberId: string, epoch: number, offset: bigint): Promise<any> => client.send(OFFSET_COMMIT, version, {
    groupId: GROUP, generationIdOrMemberEpoch: epoch, memberId, groupInstanceId: null, retentionTimeMs: -1n,
    topics: [{ name: TOPIC, partitions: [{ partitionIndex: 0, committedOffset: offset, committedLeaderEpoch: -1, commitTimestamp: -1n, committedMetadata: null }] }],
  });
  const commitError = async (version: number, memberId: string, epoch: number, offset: bigint): Promise<number> =>
    (await commit(version, memberId, epoch, offset)).topics[0].partitions[0].errorCode;

  before(async () => {
    dir = mkdtempSync(join(tmpdir(), 'tributary-cg-test-'));
    broker = await startBroker({ port: 0, dataDir: dir, logLevel: 'silent', config: CONFIG });
    client = await RawClient.connect(broker.address);
    const created = await client.send(CREATE_TOPICS, 4, { topics: [{ name: TOPIC, numPartitions: 4, replicationFactor: 1, assignments: [], configs: [] }], timeoutMs: 5000, validateOnly: false });
    assert.equal(created.topics[0].errorCode, ErrorCode.NONE);
  });
  after(async () => {
    client.close();
    await broker.close();
    rmSync(dir, { recursive: true, force: true });
  });

  test('ApiVersions advertises ConsumerGroupHeartbeat v0-1 and ConsumerGroupDescribe v0-1 (stable in Kafka 4.0)', async () => {
    const r = await client.send(18, 3, { clientSoftwareName: 't', clientSoftwareVersion: '1' });
    const range = (key: number) => r.apiKeys.filter((k: any) => k.apiKey === key).map((k: any) => [k.minVersion, k.maxVersion])[0];
    assert.deepEqual(range(CG_HEARTBEAT), [0, 1]);
    assert.deepEqual(range(CG_DESCRIBE), [0, 1]);
    // v1 (KIP-1082): the member id is the client's; an empty one is refused with Kafka's message.
    const noId = await client.send(CG_HEARTBEAT, 1, {
      groupId: 'v1-check', memberId: '', memberEpoch: 0, instanceId: null, rackId: null, rebalanceTimeoutMs: 30_000,
      subscribedTopicNames: [TOPIC], subscribedTopicRegex: '', serverAssignor: null, topicPartitions: [],
    });
    assert.deepEqual([noId.errorCode, noId.errorMessage], [ErrorCode.INVALID_REQUEST, "MemberId can't be empty."]);
  });

  test('the first member gets every partition; a second joins and the two converge on two partitions each', async () => {
    a = await joinMember();
    assert.equal(a.memberEpoch, 1);
    assert.deepEqual(partitionsOf(a), [0, 1, 2, 3]);
    b = await joinMember();
    assert.equal(b.memberEpoch, 2);
    // B waits for A to revoke: it gets nothing A still owns.
    assert.deepEqual(partitionsOf(b), []);
    await converge([a, b], () => partitionsOf(a).length === 2 && partitionsOf(b).length === 2 && a.memberEpoch === 2 && b.memberEpoch === 2);
    assert.deepEqual([...partitionsOf(a), ...partitionsOf(b)].sort(), [0, 1, 2, 3]);
    const md = await client.send(3, 12, { topics: [{ topicId: '00000000-0000-0000-0000-000000000000', name: TOPIC }], allowAutoTopicCreation: false, includeTopicAuthorizedOperations: false });
    assert.ok([...a.owned, ...b.owned].every((t) => t.topicId === md.topics[0].topicId));
  });

  test('ConsumerGroupDescribe, ListGroups and DescribeGroups show the consumer group as Kafka 4.0 does', async () => {
    const d = await client.send(CG_DESCRIBE, 0, { groupIds: [GROUP, 'unknown'], includeAuthorizedOperations: false });
    const g = d.groups[0];
    assert.deepEqual([g.errorCode, g.groupState, g.groupEpoch, g.assignmentEpoch, g.assignorName], [ErrorCode.NONE, 'Stable', 2, 2, 'uniform']);
    assert.deepEqual(g.members.map((m: any) => m.memberId).sort(), [a.memberId, b.memberId].sort());
    for (const m of g.members) {
      assert.deepEqual(m.subscribedTopicNames, [TOPIC]);
      assert.equal(m.assignment.topicPartitions[0].topicName, TOPIC);
      assert.equal(m.assignment.topicPartitions[0].partitions.length, 2);
      assert.deepEqual(m.targetAssignment, m.assignment);
    }
    assert.equal(d.groups[1].errorCode, ErrorCode.GROUP_ID_NOT_FOUND);

    const listed = await client.send(LIST_GROUPS, 5, { statesFilter: [], typesFilter: [] });
    assert.deepEqual(listed.groups.filter((x: any) => x.groupId === GROUP).map((x: any) => [x.protocolType, x.groupState, x.groupType]), [['consumer', 'Stable', 'consumer']]);
    const classicOnly = await client.send(LIST_GROUPS, 5, { statesFilter: [], typesFilter: ['classic'] });
    assert.equal(classicOnly.groups.some((x: any) => x.groupId === GROUP), false);
    const emptyOnly = await client.send(LIST_GROUPS, 5, { statesFilter: ['empty'], typesFilter: ['consumer'] });
    assert.equal(emptyOnly.groups.some((x: any) => x.groupId === GROUP), false);
    const v0 = await client.send(LIST_GROUPS, 0, {});
    assert.ok(v0.groups.some((x: any) => x.groupId === GROUP && x.protocolType === 'consumer'));

    const classic = await client.send(DESCRIBE_GROUPS, 5, { groups: [GROUP, 'nobody'], includeAuthorizedOperations: false });
    assert.deepEqual(classic.groups.map((x: any) => [x.errorCode, x.groupState]), [[ErrorCode.NONE, 'Dead'], [ErrorCode.NONE, 'Dead']]);
    // v6 (KIP-1043): GROUP_ID_NOT_FOUND with Kafka's messages.
    const v6 = await client.send(DESCRIBE_GROUPS, 6, { groups: [GROUP, 'nobody'], includeAuthorizedOperations: false });
    assert.deepEqual(v6.groups.map((x: any) => [x.errorCode, x.errorMessage]), [
      [ErrorCode.GROUP_ID_NOT_FOUND, `Group ${GROUP} is not a classic group.`],
      [ErrorCode.GROUP_ID_NOT_FOUND, 'Group nobody not found.'],
    ]);
  });

  test('Metadata v13 answers its top-level error code (NONE) and the broker.rack', async () => {
    const m = await client.send(3, 13, { topics: [{ topicId: '00000000-0000-0000-0000-000000000000', name: TOPIC }], allowAutoTopicCreation: false, includeTopicAuthorizedOperations: false });
    assert.equal(m.errorCode, ErrorCode.NONE);
    assert.equal(m.topics[0].errorCode, ErrorCode.NONE);
    assert.equal(m.brokers[0].rack, 'rack-a');
  });

  test('OffsetCommit checks the member epoch; OffsetFetch checks a named member; admin fetches need none', async () => {
    assert.equal(await commitError(9, a.memberId, a.memberEpoch, 42n), ErrorCode.NONE);
    assert.equal(await commitError(9, a.memberId, a.memberEpoch - 1, 43n), ErrorCode.STALE_MEMBER_EPOCH);
    assert.equal(await commitError(9, 'nobody', 2, 43n), ErrorCode.UNKNOWN_MEMBER_ID);
    assert.equal(await commitError(8, a.memberId, a.memberEpoch, 43n), ErrorCode.UNSUPPORTED_VERSION);
    // Without a member: refused while the group has members.
    assert.equal(await commitError(9, '', -1, 43n), ErrorCode.UNKNOWN_MEMBER_ID);

    const admin = await fetchOffset();
    assert.equal(admin.groups[0].errorCode, ErrorCode.NONE);
    assert.equal(admin.groups[0].topics[0].partitions[0].committedOffset, 42n);
    const member = await fetchOffset({ memberId: b.memberId, memberEpoch: b.memberEpoch });
    assert.equal(member.groups[0].topics[0].partitions[0].committedOffset, 42n);
    assert.equal((await fetchOffset({ memberId: b.memberId, memberEpoch: 1 })).groups[0].errorCode, ErrorCode.STALE_MEMBER_EPOCH);
    assert.equal((await fetchOffset({ memberId: 'nobody', memberEpoch: 2 })).groups[0].errorCode, ErrorCode.UNKNOWN_MEMBER_ID);
    const v7 = await client.send(OFFSET_FETCH, 7, { groupId: GROUP, topics: [{ name: TOPIC, partitionIndexes: [0] }], requireStable: false });
    assert.equal(v7.topics[0].partitions[0].committedOffset, 42n);

    const del = await client.send(OFFSET_DELETE, 0, { groupId: GROUP, topics: [{ name: TOPIC, partitions: [{ partitionIndex: 0 }] }] });
    assert.equal(del.topics[0].partitions[0].errorCode, ErrorCode.GROUP_SUBSCRIBED_TO_TOPIC);
  });

  test('TxnOffsetCommit from a member (sendOffsetsToTransaction) checks its member epoch as the generation, and commits with the transaction', async () => {
    const id = 'kip848-txn';
    const p = await client.send(INIT_PRODUCER_ID, 4, { transactionalId: id, transactionTimeoutMs: 30000, producerId: -1n, producerEpoch: -1 });
    assert.equal(p.errorCode, ErrorCode.NONE);
    const ids = { transactionalId: id, producerId: p.producerId, producerEpoch: p.producerEpoch };
    assert.equal((await client.send(ADD_OFFSETS, 3, { ...ids, groupId: GROUP })).errorCode, ErrorCode.NONE);
    const txnCommit = async (memberId: string, generationId: number, offset: bigint): Promise<number> => (await client.send(TXN_OFFSET_COMMIT, 3, {
      ...ids, groupId: GROUP, generationId, memberId, groupInstanceId: null,
      topics: [{ name: TOPIC, partitions: [{ partitionIndex: 0, committedOffset: offset, committedLeaderEpoch: -1, committedMetadata: null }] }],
    })).topics[0].partitions[0].errorCode;
    // librdkafka's 0103 in consumer mode sent its member epoch and got ILLEGAL_GENERATION (the classic check).
    assert.equal(await txnCommit(a.memberId, a.memberEpoch - 1, 50n), ErrorCode.ILLEGAL_GENERATION);
    assert.equal(await txnCommit('nobody', a.memberEpoch, 50n), ErrorCode.UNKNOWN_MEMBER_ID);
    assert.equal(await txnCommit(a.memberId, a.memberEpoch, 50n), ErrorCode.NONE);
    assert.equal((await client.send(END_TXN, 3, { ...ids, committed: true })).errorCode, ErrorCode.NONE);
    const deadline = Date.now() + 5000;
    let committed = -1n;
    while (committed !== 50n && Date.now() < deadline) {
      committed = (await fetchOffset()).groups[0].topics[0].partitions[0].committedOffset;
      if (committed !== 50n) await new Promise((r) => setTimeout(r, 20));
    }
    assert.equal(committed, 50n, 'the transaction committed the offset');
  });

  test('a group id belongs to one protocol', async () => {
    const join = await client.send(JOIN_GROUP, 5, {
      groupId: GROUP, sessionTimeoutMs: 10_000, rebalanceTimeoutMs: 10_000, memberId: 'm', groupInstanceId: null, protocolType: 'consumer',
      protocols: [{ name: 'range', metadata: Buffer.from('meta') }],
    });
    assert.equal(join.errorCode, ErrorCode.INCONSISTENT_GROUP_PROTOCOL);

    const classic = await client.send(JOIN_GROUP, 3, {
      groupId: 'classic-one', sessionTimeoutMs: 10_000, rebalanceTimeoutMs: 10_000, memberId: '', protocolType: 'consumer',
      protocols: [{ name: 'range', metadata: Buffer.from('meta') }],
    });
    assert.equal(classic.errorCode, ErrorCode.NONE);
    const r = await client.send(CG_HEARTBEAT, 0, {
      groupId: 'classic-one', memberId: '', memberEpoch: 0, instanceId: null, rackId: null, rebalanceTimeoutMs: 30_000,
      subscribedTopicNames: [TOPIC], serverAssignor: null, topicPartitions: [],
    });
    assert.equal(r.errorCode, ErrorCode.GROUP_ID_NOT_FOUND);
    assert.equal((await client.send(CG_DESCRIBE, 0, { groupIds: ['classic-one'], includeAuthorizedOperations: false })).groups[0].errorCode, ErrorCode.GROUP_ID_NOT_FOUND);
  });

  test('a member leaving hands its partitions to the other', async () => {
    const left = await heartbeat({ memberId: a.memberId, memberEpoch: -1 });
    assert.deepEqual([left.errorCode, left.memberEpoch], [ErrorCode.NONE, -1]);
    await converge([b], () => partitionsOf(b).length === 4);
    assert.equal(b.memberEpoch, 3);
    // The member that left is gone.
    assert.equal((await heartbeat({ memberId: a.memberId, memberEpoch: a.memberEpoch })).errorCode, ErrorCode.UNKNOWN_MEMBER_ID);
  });

  test('the group, its members and committed offsets survive a broker restart', async () => {
    assert.equal(await commitError(9, b.memberId, b.memberEpoch, 99n), ErrorCode.NONE);
    client.close();
    await broker.close();
    broker = await startBroker({ port: 0, dataDir: dir, logLevel: 'silent', config: CONFIG });
    client = await RawClient.connect(broker.address);

    const d = await client.send(CG_DESCRIBE, 0, { groupIds: [GROUP], includeAuthorizedOperations: false });
    const g = d.groups[0];
    assert.deepEqual([g.errorCode, g.groupState, g.groupEpoch, g.assignmentEpoch], [ErrorCode.NONE, 'Stable', 3, 3]);
    assert.deepEqual(g.members.map((m: any) => [m.memberId, m.memberEpoch, m.assignment.topicPartitions[0].partitions.slice().sort()]), [[b.memberId, 3, [0, 1, 2, 3]]]);
    assert.equal((await fetchOffset()).groups[0].topics[0].partitions[0].committedOffset, 99n);
    // The member carries on with its epoch.
    await beat(b);
    assert.deepEqual([b.memberEpoch, partitionsOf(b)], [3, [0, 1, 2, 3]]);
    assert.equal(await commitError(9, b.memberId, b.memberEpoch, 100n), ErrorCode.NONE);
  });

  test('DeleteGroups removes an empty consumer group with its offsets', async () => {
    assert.equal((await client.send(DELETE_GROUPS, 2, { groupsNames: [GROUP] })).results[0].errorCode, ErrorCode.NON_EMPTY_GROUP);
    assert.equal((await heartbeat({ memberId: b.memberId, memberEpoch: -1 })).errorCode, ErrorCode.NONE);
    const listed = await client.send(LIST_GROUPS, 5, { statesFilter: [], typesFilter: ['consumer'] });
    assert.deepEqual(listed.groups.filter((x: any) => x.groupId === GROUP).map((x: any) => x.groupState), ['Empty']);
    assert.equal((await client.send(DELETE_GROUPS, 2, { groupsNames: [GROUP] })).results[0].errorCode, ErrorCode.NONE);
    assert.equal((await client.send(CG_DESCRIBE, 0, { groupIds: [GROUP], includeAuthorizedOperations: false })).groups[0].errorCode, ErrorCode.GROUP_ID_NOT_FOUND);
    assert.equal((await fetchOffset()).groups[0].topics[0].partitions[0].committedOffset, -1n);
  });

  test('an empty consumer group gives its id up to a classic JoinGroup, which replaces it', async () => {
    const joined = await client.send(CG_HEARTBEAT, 0, {
      groupId: 'convert', memberId: '', memberEpoch: 0, instanceId: null, rackId: null, rebalanceTimeoutMs: 30_000,
      subscribedTopicNames: [TOPIC], serverAssignor: null, topicPartitions: [],
    });
    assert.equal(joined.errorCode, ErrorCode.NONE);
    assert.equal((await heartbeat({ groupId: 'convert', memberId: joined.memberId, memberEpoch: -1 })).errorCode, ErrorCode.NONE);
    const classic = await client.send(JOIN_GROUP, 3, {
      groupId: 'convert', sessionTimeoutMs: 10_000, rebalanceTimeoutMs: 10_000, memberId: '', protocolType: 'consumer',
      protocols: [{ name: 'range', metadata: Buffer.from('meta') }],
    });
    assert.equal(classic.errorCode, ErrorCode.NONE);
    const listed = await client.send(LIST_GROUPS, 5, { statesFilter: [], typesFilter: [] });
    assert.deepEqual(listed.groups.filter((x: any) => x.groupId === 'convert').map((x: any) => [x.groupType, x.groupState]), [['classic', 'CompletingRebalance']]);
    assert.equal((await client.send(CG_DESCRIBE, 0, { groupIds: ['convert'], includeAuthorizedOperations: false })).groups[0].errorCode, ErrorCode.GROUP_ID_NOT_FOUND);
  });
});
