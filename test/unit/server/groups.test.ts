import { test, describe, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startBroker, type RunningBroker } from '../../../src/index.js';
import { RawClient } from '../../helpers/raw-client.js';
import { ErrorCode } from '../../../src/protocol/generated/error-codes.js';

const OFFSET_COMMIT = 8, OFFSET_FETCH = 9, FIND_COORDINATOR = 10, JOIN_GROUP = 11, HEARTBEAT = 12, LEAVE_GROUP = 13;
const SYNC_GROUP = 14, DESCRIBE_GROUPS = 15, LIST_GROUPS = 16, DELETE_GROUPS = 42, OFFSET_DELETE = 47, METADATA = 3, CREATE_TOPICS = 19;
const CONFIG = { 'num.partitions': 2, 'offsets.topic.num.partitions': 3, 'group.initial.rebalance.delay.ms': 0 };

const joinBody = (groupId: string, memberId: string, extra: object = {}) => ({
  groupId, sessionTimeoutMs: 10_000, rebalanceTimeoutMs: 10_000, memberId, groupInstanceId: null, protocolType: 'consumer',
  protocols: [{ name: 'range', metadata: Buffer.from('meta') }], reason: null, ...extra,
});

const commitBody = (groupId: string, offset: bigint, extra: object = {}, topic = 'events') => ({
  groupId, generationIdOrMemberEpoch: -1, memberId: '', groupInstanceId: null, retentionTimeMs: -1n,
  topics: [{ name: topic, partitions: [{ partitionIndex: 1, committedOffset: offset, committedLeaderEpoch: 0, commitTimestamp: -1n, committedMetadata: 'md' }] }],
  ...extra,
});

describe('group coordinator over the wire', () => {
  let broker: RunningBroker;
  let dir: string;
  let client: RawClient;

  before(async () => {
    dir = mkdtempSync(join(tmpdir(), 'tributary-groups-test-'));
    broker = await startBroker({ port: 0, dataDir: dir, logLevel: 'silent', config: CONFIG });
    client = await RawClient.connect(broker.address);
    const created = await client.send(CREATE_TOPICS, 4, { topics: [{ name: 'events', numPartitions: 2, replicationFactor: 1, assignments: [], configs: [] }], timeoutMs: 5000, validateOnly: false });
    assert.equal(created.topics[0].errorCode, ErrorCode.NONE);
  });
  after(async () => {
    client.close();
    await broker.close();
    rmSync(dir, { recursive: true, force: true });
  });

  test('FindCoordinator v0-6 names this broker for groups and creates __consumer_offsets; transactional ids too', async () => {
    const port = Number(broker.address.split(':')[1]);
    for (const v of [0, 1, 2, 3]) {
      const r = await client.send(FIND_COORDINATOR, v, { key: 'g', keyType: 0 });
      assert.deepEqual([r.errorCode, r.nodeId, r.port], [ErrorCode.NONE, broker.nodeId, port], `v${v}`);
    }
    for (const v of [4, 5, 6]) {
      const r = await client.send(FIND_COORDINATOR, v, { keyType: 0, coordinatorKeys: ['a', 'b'] });
      assert.deepEqual(r.coordinators.map((c: any) => [c.key, c.errorCode, c.nodeId, c.port]), [['a', 0, broker.nodeId, port], ['b', 0, broker.nodeId, port]]);
      const txn = await client.send(FIND_COORDINATOR, v, { keyType: 1, coordinatorKeys: ['t'] });
      assert.deepEqual([txn.coordinators[0].errorCode, txn.coordinators[0].nodeId], [ErrorCode.NONE, broker.nodeId]);
    }
    const md = await client.send(METADATA, 9, { topics: [{ name: '__consumer_offsets' }], allowAutoTopicCreation: false, includeTopicAuthorizedOperations: false });
    assert.equal(md.topics[0].errorCode, ErrorCode.NONE);
    assert.equal(md.topics[0].isInternal, true);
    assert.equal(md.topics[0].partitions.length, 3);
  });

  for (let v = 0; v <= 9; v++) {
    test(`JoinGroup v${v} → SyncGroup → Heartbeat → LeaveGroup for a one-member group`, async () => {
      const groupId = `join-v${v}`;
      let memberId = '';
      let r = await client.send(JOIN_GROUP, v, joinBody(groupId, ''));
      if (v >= 4) {
        assert.equal(r.errorCode, ErrorCode.MEMBER_ID_REQUIRED);
        memberId = r.memberId;
        r = await client.send(JOIN_GROUP, v, joinBody(groupId, memberId));
      }
      assert.equal(r.errorCode, ErrorCode.NONE);
      memberId = r.memberId;
      assert.match(memberId, /^raw-test-/);
      assert.equal(r.generationId, 1);
      assert.equal(r.leader, memberId);
      assert.equal(r.protocolName, 'range');
      if (v >= 7) assert.equal(r.protocolType, 'consumer');
      assert.deepEqual(r.members.map((m: any) => [m.memberId, m.metadata.toString()]), [[memberId, 'meta']]);

      const sv = Math.min(v, 5);
      const s = await client.send(SYNC_GROUP, sv, { groupId, generationId: 1, memberId, groupInstanceId: null, protocolType: 'consumer', protocolName: 'range', assignments: [{ memberId, assignment: Buffer.from('mine') }] });
      assert.equal(s.errorCode, ErrorCode.NONE);
      assert.equal(s.assignment.toString(), 'mine');
      const hv = Math.min(v, 4);
      assert.equal((await client.send(HEARTBEAT, hv, { groupId, generationId: 1, memberId, groupInstanceId: null })).errorCode, ErrorCode.NONE);
      assert.equal((await client.send(HEARTBEAT, hv, { groupId, generationId: 2, memberId, groupInstanceId: null })).errorCode, ErrorCode.ILLEGAL_GENERATION);
      const lv = Math.min(v, 5);
      const left = await client.send(LEAVE_GROUP, lv, { groupId, memberId, members: [{ memberId, groupInstanceId: null, reason: 'done' }] });
      assert.equal(left.errorCode, ErrorCode.NONE);
      if (lv >= 3) assert.deepEqual(left.members.map((m: any) => m.errorCode), [ErrorCode.NONE]);
      assert.equal((await client.send(HEARTBEAT, hv, { groupId, generationId: 1, memberId, groupInstanceId: null })).errorCode, ErrorCode.UNKNOWN_MEMBER_ID);
    });
  }

  test('a second member joining a stable group rebalances it; the follower waits for the leader in SyncGroup', async () => {
    const groupId = 'two';
    const a = await client.send(JOIN_GROUP, 3, joinBody(groupId, ''));
    await client.send(SYNC_GROUP, 3, { groupId, generationId: 1, memberId: a.memberId, groupInstanceId: null, assignments: [] });
    const other = await RawClient.connect(broker.address);
    try {
      const bJoin = other.send(JOIN_GROUP, 3, joinBody(groupId, ''));
      // The leader learns of the rebalance from its heartbeat and rejoins.
      let hb;
      do hb = await client.send(HEARTBEAT, 3, { groupId, generationId: 1, memberId: a.memberId, groupInstanceId: null });
      while (hb.errorCode === ErrorCode.NONE);
      assert.equal(hb.errorCode, ErrorCode.REBALANCE_IN_PROGRESS);
      const [a2, b] = await Promise.all([client.send(JOIN_GROUP, 3, joinBody(groupId, a.memberId)), bJoin]);
      assert.deepEqual([a2.generationId, b.generationId], [2, 2]);
      assert.equal(a2.members.length, 2);
      assert.equal(b.members.length, 0);
      const bSync = other.send(SYNC_GROUP, 3, { groupId, generationId: 2, memberId: b.memberId, groupInstanceId: null, assignments: [] });
      const aSync = await client.send(SYNC_GROUP, 3, {
        groupId, generationId: 2, memberId: a.memberId, groupInstanceId: null,
        assignments: [{ memberId: a.memberId, assignment: Buffer.from('p0') }, { memberId: b.memberId, assignment: Buffer.from('p1') }],
      });
      assert.equal(aSync.assignment.toString(), 'p0');
      assert.equal((await bSync).assignment.toString(), 'p1');

      const described = await client.send(DESCRIBE_GROUPS, 5, { groups: [groupId, 'missing'], includeAuthorizedOperations: false });
      assert.equal(described.groups[0].groupState, 'Stable');
      assert.equal(described.groups[0].protocolData, 'range');
      assert.deepEqual(described.groups[0].members.map((m: any) => m.memberAssignment.toString()).sort(), ['p0', 'p1']);
      assert.deepEqual([described.groups[1].groupState, described.groups[1].errorCode], ['Dead', ErrorCode.NONE]);
      for (let v = 0; v <= 4; v++) assert.equal((await client.send(DESCRIBE_GROUPS, v, { groups: [groupId] })).groups[0].members.length, 2);

      const deleted = await client.send(DELETE_GROUPS, 2, { groupsNames: [groupId] });
      assert.equal(deleted.results[0].errorCode, ErrorCode.NON_EMPTY_GROUP);
    } finally {
      other.close();
    }
  });

  test('OffsetCommit v0-9 and OffsetFetch v0-9 round-trip offsets, metadata and leader epochs', async () => {
    for (let v = 0; v <= 9; v++) {
      const groupId = `commit-v${v}`;
      const c = await client.send(OFFSET_COMMIT, v, commitBody(groupId, BigInt(100 + v)));
      assert.equal(c.topics[0].partitions[0].errorCode, ErrorCode.NONE, `commit v${v}`);
    }
    for (let v = 0; v <= 9; v++) {
      const groupId = `commit-v${v}`;
      if (v < 8) {
        const f = await client.send(OFFSET_FETCH, v, { groupId, topics: [{ name: 'events', partitionIndexes: [0, 1] }], requireStable: false });
        const [p0, p1] = f.topics[0].partitions;
        assert.equal(p0.committedOffset, -1n);
        assert.equal(p1.committedOffset, BigInt(100 + v), `fetch v${v}`);
        assert.equal(p1.metadata, 'md');
        if (v >= 5) assert.equal(p1.committedLeaderEpoch, v >= 6 ? 0 : -1);
        if (v >= 2) {
          const all = await client.send(OFFSET_FETCH, v, { groupId, topics: null });
          assert.deepEqual(all.topics.map((t: any) => [t.name, t.partitions.map((p: any) => p.partitionIndex)]), [['events', [1]]]);
        }
      } else {
        const f = await client.send(OFFSET_FETCH, v, {
          groups: [
            { groupId, memberId: null, memberEpoch: -1, topics: null },
            { groupId: 'commit-v0', memberId: null, memberEpoch: -1, topics: [{ name: 'events', partitionIndexes: [1] }] },
          ],
          requireStable: true,
        });
        assert.deepEqual(f.groups.map((g: any) => g.topics[0].partitions[0].committedOffset), [BigInt(100 + v), 100n]);
      }
    }
    const unknown = await client.send(OFFSET_COMMIT, 8, commitBody('commit-v8', 1n, {}, 'no-such-topic'));
    assert.equal(unknown.topics[0].partitions[0].errorCode, ErrorCode.UNKNOWN_TOPIC_OR_PARTITION);
    const member = await client.send(OFFSET_COMMIT, 8, commitBody('commit-v8', 1n, { generationIdOrMemberEpoch: 3, memberId: 'who' }));
    assert.equal(member.topics[0].partitions[0].errorCode, ErrorCode.UNKNOWN_MEMBER_ID);
  });

  test('ListGroups v0-5 with state and type filters; OffsetDelete and DeleteGroups on an empty group', async () => {
    await client.send(OFFSET_COMMIT, 2, commitBody('to-delete', 5n));
    for (let v = 0; v <= 5; v++) {
      const l = await client.send(LIST_GROUPS, v, { statesFilter: [], typesFilter: [] });
      assert.ok(l.groups.some((g: any) => g.groupId === 'to-delete'), `v${v}`);
    }
    const empty = await client.send(LIST_GROUPS, 4, { statesFilter: ['Empty'] });
    assert.ok(empty.groups.every((g: any) => g.groupState === 'Empty'));
    assert.ok(empty.groups.some((g: any) => g.groupId === 'to-delete'));
    assert.equal((await client.send(LIST_GROUPS, 5, { statesFilter: [], typesFilter: ['consumer'] })).groups.length, 0);
    assert.ok((await client.send(LIST_GROUPS, 5, { statesFilter: [], typesFilter: ['classic'] })).groups.length > 0);

    const od = await client.send(OFFSET_DELETE, 0, { groupId: 'to-delete', topics: [{ name: 'events', partitions: [{ partitionIndex: 1 }, { partitionIndex: 9 }] }] });
    assert.equal(od.errorCode, ErrorCode.NONE);
    assert.deepEqual(od.topics[0].partitions.map((p: any) => p.errorCode), [ErrorCode.NONE, ErrorCode.UNKNOWN_TOPIC_OR_PARTITION]);
    assert.equal((await client.send(OFFSET_DELETE, 0, { groupId: 'nope', topics: [] })).errorCode, ErrorCode.GROUP_ID_NOT_FOUND);
    for (let v = 0; v <= 2; v++) {
      const d = await client.send(DELETE_GROUPS, v, { groupsNames: ['to-delete', 'nope'] });
      assert.deepEqual(d.results.map((r: any) => r.errorCode), [v === 0 ? ErrorCode.NONE : ErrorCode.GROUP_ID_NOT_FOUND, ErrorCode.GROUP_ID_NOT_FOUND]);
    }
  });

  test('committed offsets and group metadata survive a broker restart', async () => {
    await client.send(OFFSET_COMMIT, 8, commitBody('durable', 777n));
    const a = await client.send(JOIN_GROUP, 3, joinBody('durable-group', ''));
    await client.send(SYNC_GROUP, 3, { groupId: 'durable-group', generationId: 1, memberId: a.memberId, groupInstanceId: null, assignments: [{ memberId: a.memberId, assignment: Buffer.from('x') }] });
    client.close();
    await broker.close();
    broker = await startBroker({ port: 0, dataDir: dir, logLevel: 'silent', config: CONFIG });
    client = await RawClient.connect(broker.address);
    const f = await client.send(OFFSET_FETCH, 7, { groupId: 'durable', topics: [{ name: 'events', partitionIndexes: [1] }] });
    assert.equal(f.topics[0].partitions[0].committedOffset, 777n);
    assert.equal(f.topics[0].partitions[0].metadata, 'md');
    const d = await client.send(DESCRIBE_GROUPS, 5, { groups: ['durable-group'] });
    assert.equal(d.groups[0].groupState, 'Stable');
    assert.deepEqual(d.groups[0].members.map((m: any) => [m.memberId, m.memberAssignment.toString()]), [[a.memberId, 'x']]);
    assert.equal((await client.send(HEARTBEAT, 3, { groupId: 'durable-group', generationId: 1, memberId: a.memberId, groupInstanceId: null })).errorCode, ErrorCode.NONE);
  });
});
