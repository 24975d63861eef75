import { test, describe } from 'node:test';
import assert from 'node:assert/strict';
import { ErrorCode } from '../../../../src/protocol/generated/error-codes.js';
import { Writer } from '../../../../src/protocol/primitives/writer.js';
import { ConsumerProtocolSubscription } from '../../../../src/protocol/generated/consumer-protocol-subscription.js';
import type { JoinResult, SyncResult } from '../../../../src/coordinator/group/classic-group.js';
import type { JoinGroupInput } from '../../../../src/coordinator/group/group-coordinator.js';
import { harness, settle, MemoryLog, type Harness } from '../support.js';

const G = 'orders';
const SESSION = 10_000;
const REBALANCE = 30_000;

function subscription(...topics: string[]): Buffer {
  const w = new Writer();
  w.writeInt16(0);
  ConsumerProtocolSubscription.encode(w, 0, { topics, userData: null });
  return w.toBuffer();
}

function joinInput(memberId: string, extra: Partial<JoinGroupInput> = {}): JoinGroupInput {
  return {
    groupId: G, memberId, groupInstanceId: null, clientId: 'client', clientHost: '/127.0.0.1',
    sessionTimeoutMs: SESSION, rebalanceTimeoutMs: REBALANCE, protocolType: 'consumer',
    protocols: [{ name: 'range', metadata: subscription('t1') }], requireKnownMemberId: false, supportsSkipAssignment: false, ...extra,
  };
}

const join = (h: Harness, memberId: string, extra: Partial<JoinGroupInput> = {}): Promise<JoinResult> =>
  h.runtime.run(() => h.gc.joinGroup(joinInput(memberId, extra)));

const sync = (h: Harness, memberId: string, generationId: number, assignments: Array<{ memberId: string; assignment: Buffer }> = []): Promise<SyncResult> =>
  h.runtime.run(() => h.gc.syncGroup({ groupId: G, generationId, memberId, groupInstanceId: null, protocolType: null, protocolName: null, assignments }));

const heartbeat = (h: Harness, memberId: string, generation: number, instanceId: string | null = null): Promise<number> =>
  h.runtime.run(() => h.gc.heartbeat(G, generation, memberId, instanceId));

const commit = (h: Harness, memberId: string, generationId: number, offset: number, topic = 't1') =>
  h.runtime.run(() => h.gc.commitOffsets({
    groupId: G, generationId, memberId, groupInstanceId: null, retentionTimeMs: -1,
    topics: [{ name: topic, partitions: [{ partition: 0, offset, leaderEpoch: 3, metadata: 'm' }] }],
  }));

/** Two dynamic members through join and sync to Stable; returns their ids (a is the leader). */
async function stableGroupOfTwo(h: Harness): Promise<{ a: string; b: string; generation: number }> {
  const ja = join(h, '');
  const jb = join(h, '');
  await settle();
  h.clock.advance(0);
  const [ra, rb] = await Promise.all([ja, jb]);
  const sa = sync(h, ra.memberId, ra.generationId, [{ memberId: ra.memberId, assignment: Buffer.from('A') }, { memberId: rb.memberId, assignment: Buffer.from('B') }]);
  const sb = sync(h, rb.memberId, rb.generationId);
  assert.deepEqual((await sb).assignment, Buffer.from('B'));
  assert.deepEqual((await sa).assignment, Buffer.from('A'));
  return { a: ra.memberId, b: rb.memberId, generation: ra.generationId };
}

describe('GroupCoordinator (classic groups)', () => {
  test('v4+ join: MEMBER_ID_REQUIRED with a client-id-prefixed id, then the rejoin completes after the initial delay', async () => {
    const h = await harness({ initialRebalanceDelayMs: 3000 });
    const first = await join(h, '', { requireKnownMemberId: true });
    assert.equal(first.errorCode, ErrorCode.MEMBER_ID_REQUIRED);
    assert.match(first.memberId, /^client-[0-9a-f-]{36}$/);
    const p = join(h, first.memberId, { requireKnownMemberId: true });
    let done = false;
    void p.then(() => (done = true));
    await settle();
    h.clock.advance(2999);
    await settle();
    assert.equal(done, false, 'the initial rebalance delay holds the first generation');
    h.clock.advance(1);
    const r = await p;
    assert.equal(r.errorCode, ErrorCode.NONE);
    assert.equal(r.generationId, 1);
    assert.equal(r.leader, first.memberId);
    assert.equal(r.protocolName, 'range');
    assert.equal(r.members.length, 1);
    assert.equal(h.gc.group(G)!.state, 'CompletingRebalance');
  });

  test('a pending member that never rejoins is dropped after its session timeout', async () => {
    const h = await harness();
    const first = await join(h, '', { requireKnownMemberId: true });
    assert.equal(h.gc.group(G)!.pendingMembers.size, 1);
    h.clock.advance(SESSION);
    await settle();
    assert.equal(h.gc.group(G)!.pendingMembers.size, 0);
    assert.equal((await join(h, first.memberId)).errorCode, ErrorCode.UNKNOWN_MEMBER_ID);
  });

  test('the protocol is the one most members prefer among those all support; the first joiner leads', async () => {
    const h = await harness();
    const p = (names: string[]) => ({ protocols: names.map((name) => ({ name, metadata: Buffer.from(name) })) });
    const joins = [join(h, '', p(['range', 'roundrobin', 'sticky'])), join(h, '', p(['roundrobin', 'range'])), join(h, '', p(['roundrobin', 'range', 'sticky']))];
    await settle();
    h.clock.advance(0);
    const rs = await Promise.all(joins);
    for (const r of rs) {
      assert.equal(r.protocolName, 'roundrobin');
      assert.equal(r.leader, rs[0]!.memberId);
    }
    assert.deepEqual(rs.map((r) => r.members.length), [3, 0, 0]);
    assert.deepEqual(rs[0]!.members.map((m) => m.metadata.toString()), ['roundrobin', 'roundrobin', 'roundrobin']);
    const other = await join(h, '', { protocolType: 'connect' });
    assert.equal(other.errorCode, ErrorCode.INCONSISTENT_GROUP_PROTOCOL);
    const none = await join(h, '', p(['cooperative-sticky']));
    assert.equal(none.errorCode, ErrorCode.INCONSISTENT_GROUP_PROTOCOL);
  });

  test('session timeouts outside the configured bounds are refused', async () => {
    const h = await harness({ minSessionTimeoutMs: 6000, maxSessionTimeoutMs: 60_000 });
    assert.equal((await join(h, '', { sessionTimeoutMs: 5999 })).errorCode, ErrorCode.INVALID_SESSION_TIMEOUT);
    assert.equal((await join(h, '', { sessionTimeoutMs: 60_001 })).errorCode, ErrorCode.INVALID_SESSION_TIMEOUT);
    assert.equal(h.gc.group(G), undefined);
  });

  test('sync hands each member its assignment once the group record is persisted; heartbeats check generation and member', async () => {
    const h = await harness();
    const { a, b, generation } = await stableGroupOfTwo(h);
    assert.equal(h.gc.group(G)!.state, 'Stable');
    const groupRecords = h.log.decoded().filter((r) => r.type === 'group');
    assert.equal(groupRecords.length, 1);
    const value = groupRecords[0]!.type === 'group' ? groupRecords[0]!.value! : null;
    assert.equal(value!.generation, 1);
    assert.equal(value!.leader, a);
    assert.deepEqual(value!.members.map((m) => [m.memberId, m.assignment.toString()]), [[a, 'A'], [b, 'B']]);

    assert.equal(await heartbeat(h, b, generation), ErrorCode.NONE);
    assert.equal(await heartbeat(h, b, generation + 1), ErrorCode.ILLEGAL_GENERATION);
    assert.equal(await heartbeat(h, 'nobody', generation), ErrorCode.UNKNOWN_MEMBER_ID);
    // Sync again in Stable returns the current assignment at once.
    assert.deepEqual((await sync(h, b, generation)).assignment, Buffer.from('B'));
    assert.equal((await sync(h, b, 7)).errorCode, ErrorCode.ILLEGAL_GENERATION);
  });

  test('a member that stops heartbeating is expired after the session timeout; the others rebalance', async () => {
    const h = await harness();
    const { a, b, generation } = await stableGroupOfTwo(h);
    h.clock.advance(SESSION / 2);
    assert.equal(await heartbeat(h, a, generation), ErrorCode.NONE);
    h.clock.advance(SESSION / 2);
    await settle();
    const g = h.gc.group(G)!;
    assert.equal(g.members.has(b), false, 'b expired');
    assert.equal(g.state, 'PreparingRebalance');
    assert.equal(await heartbeat(h, a, generation), ErrorCode.REBALANCE_IN_PROGRESS);
    const r = await join(h, a);
    assert.equal(r.generationId, generation + 1, 'completes at once: every remaining member has joined');
    assert.deepEqual(r.members.map((m) => m.memberId), [a]);
  });

  test('a member that does not rejoin within the rebalance timeout is removed from the next generation', async () => {
    const h = await harness();
    const { a, b, generation } = await stableGroupOfTwo(h);
    const rejoin = join(h, a);
    await settle();
    assert.equal(await heartbeat(h, b, generation), ErrorCode.REBALANCE_IN_PROGRESS);
    h.clock.advance(REBALANCE);
    const r = await rejoin;
    assert.equal(r.errorCode, ErrorCode.NONE);
    assert.equal(r.generationId, generation + 1);
    assert.deepEqual(r.members.map((m) => m.memberId), [a]);
    assert.equal(await heartbeat(h, b, generation), ErrorCode.UNKNOWN_MEMBER_ID);
  });

  test('a new member waiting on a long rebalance is dropped after the new-member join timeout (5 min)', async () => {
    const h = await harness();
    const first = join(h, '', { rebalanceTimeoutMs: 600_000 });
    await settle();
    h.clock.advance(0);
    const a = await first;
    await sync(h, a.memberId, 1, []);
    const b = join(h, '');
    await settle();
    // a keeps heartbeating but never rejoins, so the join phase lasts up to its 10-minute rebalance timeout.
    for (let t = 5000; t < 300_000; t += 5000) {
      h.clock.advance(5000);
      assert.equal(await heartbeat(h, a.memberId, 1), ErrorCode.REBALANCE_IN_PROGRESS);
      if (t === SESSION) assert.equal(h.gc.group(G)!.members.size, 2, 'not dropped by its session timeout');
    }
    h.clock.advance(5000);
    assert.equal((await b).errorCode, ErrorCode.UNKNOWN_MEMBER_ID);
    assert.deepEqual([...h.gc.group(G)!.members.keys()], [a.memberId]);
  });

  test('a rebalance while members wait in sync answers them REBALANCE_IN_PROGRESS', async () => {
    const h = await harness();
    const ja = join(h, '');
    const jb = join(h, '');
    await settle();
    h.clock.advance(0);
    const [ra, rb] = await Promise.all([ja, jb]);
    const waiting = sync(h, rb.memberId, rb.generationId);
    await settle();
    const newcomer = join(h, '');
    assert.equal((await waiting).errorCode, ErrorCode.REBALANCE_IN_PROGRESS);
    assert.equal((await commit(h, ra.memberId, ra.generationId, 5))[0]!.errorCode, ErrorCode.NONE, 'commits are allowed while preparing');
    const again = [join(h, ra.memberId), join(h, rb.memberId)];
    const rs = await Promise.all([newcomer, ...again]);
    assert.deepEqual(rs.map((r) => r.generationId), [2, 2, 2]);
  });

  test('the leader never syncing: after the rebalance timeout the silent members go and the rest rejoin', async () => {
    const h = await harness();
    // A rebalance timeout shorter than the session timeout, so the sync deadline (not a session) decides.
    const ja = join(h, '', { rebalanceTimeoutMs: 5000 });
    const jb = join(h, '', { rebalanceTimeoutMs: 5000 });
    await settle();
    h.clock.advance(0);
    const [, rb] = await Promise.all([ja, jb]);
    const waiting = sync(h, rb.memberId, rb.generationId);
    await settle();
    h.clock.advance(4999);
    await settle();
    assert.equal(h.gc.group(G)!.state, 'CompletingRebalance');
    h.clock.advance(1);
    assert.equal((await waiting).errorCode, ErrorCode.REBALANCE_IN_PROGRESS);
    const g = h.gc.group(G)!;
    assert.deepEqual([...g.members.keys()], [rb.memberId]);
    assert.equal(g.leaderId, rb.memberId);
  });

  test('LeaveGroup: batched members, unknown ones reported; the last one out leaves an Empty group, persisted', async () => {
    const h = await harness();
    const { a, b, generation } = await stableGroupOfTwo(h);
    const left = await h.runtime.run(() => h.gc.leaveGroup(G, [{ memberId: b, groupInstanceId: null }, { memberId: 'ghost', groupInstanceId: null }]));
    assert.deepEqual(left.map((l) => l.errorCode), [ErrorCode.NONE, ErrorCode.UNKNOWN_MEMBER_ID]);
    assert.equal(h.gc.group(G)!.state, 'PreparingRebalance');
    const r = await join(h, a);
    assert.equal(r.generationId, generation + 1);
    await h.runtime.run(() => h.gc.leaveGroup(G, [{ memberId: a, groupInstanceId: null }]));
    const g = h.gc.group(G)!;
    assert.equal(g.state, 'Empty');
    assert.equal(g.generationId, generation + 2);
    const last = h.log.decoded().at(-1)!;
    assert.equal(last.type === 'group' && last.value!.members.length, 0);
    const missing = await h.runtime.run(() => h.gc.leaveGroup('nope', [{ memberId: a, groupInstanceId: null }]));
    assert.equal(missing[0]!.errorCode, ErrorCode.UNKNOWN_MEMBER_ID);
  });

  test('static membership: a restarted instance takes over without a rebalance and the old id is fenced', async () => {
    const h = await harness();
    const ja = join(h, '', { groupInstanceId: 'i-1' });
    const jb = join(h, '', { groupInstanceId: 'i-2' });
    await settle();
    h.clock.advance(0);
    const [ra, rb] = await Promise.all([ja, jb]);
    assert.match(rb.memberId, /^i-2-/);
    await Promise.all([
      sync(h, ra.memberId, 1, [{ memberId: ra.memberId, assignment: Buffer.from('A') }, { memberId: rb.memberId, assignment: Buffer.from('B') }]),
      sync(h, rb.memberId, 1),
    ]);
    const again = await join(h, '', { groupInstanceId: 'i-2' });
    assert.equal(again.errorCode, ErrorCode.NONE);
    assert.equal(again.generationId, 1, 'no rebalance');
    assert.notEqual(again.memberId, rb.memberId);
    assert.equal(h.gc.group(G)!.state, 'Stable');
    assert.deepEqual((await sync(h, again.memberId, 1)).assignment, Buffer.from('B'), 'keeps its assignment');
    assert.equal(await heartbeat(h, rb.memberId, 1, 'i-2'), ErrorCode.FENCED_INSTANCE_ID);
    assert.equal((await join(h, rb.memberId, { groupInstanceId: 'i-2' })).errorCode, ErrorCode.FENCED_INSTANCE_ID);
    // Leaving by instance id with a stale member id is fenced; with the current one it works.
    const fenced = await h.runtime.run(() => h.gc.leaveGroup(G, [{ memberId: rb.memberId, groupInstanceId: 'i-2' }]));
    assert.equal(fenced[0]!.errorCode, ErrorCode.FENCED_INSTANCE_ID);
    const ok = await h.runtime.run(() => h.gc.leaveGroup(G, [{ memberId: '', groupInstanceId: 'i-2' }]));
    assert.equal(ok[0]!.errorCode, ErrorCode.NONE);
    assert.equal(h.gc.group(G)!.state, 'PreparingRebalance');
  });

  test('a static leader rejoining keeps its assignment without a rebalance: v9 skips the assignment, before v9 it is answered as a follower', async () => {
    const h = await harness();
    const ja = join(h, '', { groupInstanceId: 'lead' });
    await settle();
    h.clock.advance(0);
    const ra = await ja;
    await sync(h, ra.memberId, 1, [{ memberId: ra.memberId, assignment: Buffer.from('A') }]);
    const v9 = await join(h, '', { groupInstanceId: 'lead', supportsSkipAssignment: true });
    assert.equal(v9.skipAssignment, true);
    assert.equal(v9.leader, v9.memberId);
    assert.equal(v9.generationId, 1);
    // Before v9 (librdkafka, kafka-python): as Kafka, no rebalance either; the answer names the replaced member
    // as leader and lists no members, so the client syncs as a follower and gets its stored assignment.
    const old = await join(h, '', { groupInstanceId: 'lead' });
    assert.deepEqual([old.generationId, old.leader, old.members.length, old.skipAssignment], [1, v9.memberId, 0, false]);
    assert.notEqual(old.memberId, v9.memberId);
    assert.equal(h.gc.group(G)!.state, 'Stable');
    const synced = await sync(h, old.memberId, 1);
    assert.deepEqual([synced.errorCode, synced.assignment.toString()], [ErrorCode.NONE, 'A']);
    // A changed subscription that the group's protocol still covers does not rebalance; one that changes the
    // selected protocol does.
    const other = await join(h, '', { groupInstanceId: 'lead', protocols: [{ name: 'roundrobin', metadata: Buffer.from('x') }, { name: 'range', metadata: subscription('t1') }] });
    assert.equal(other.generationId, 2, 'a new generation (the only member rejoined, so it completes at once)');
    assert.equal(h.gc.group(G)!.state, 'CompletingRebalance');
  });

  test('offset commits: simple consumers need no membership, members need the current generation', async () => {
    const h = await harness();
    const simple = await commit(h, '', -1, 42);
    assert.equal(simple[0]!.errorCode, ErrorCode.NONE);
    assert.deepEqual(h.gc.fetchOffsets(G, [{ name: 't1', partitions: [0, 1] }]), [
      { topic: 't1', partition: 0, offset: 42, leaderEpoch: 3, metadata: 'm' },
      { topic: 't1', partition: 1, offset: -1, leaderEpoch: -1, metadata: '' },
    ]);
    assert.equal((await h.runtime.run(() => h.gc.commitOffsets({ groupId: 'fresh', generationId: 1, memberId: 'x', groupInstanceId: null, retentionTimeMs: -1, topics: [{ name: 't', partitions: [{ partition: 0, offset: 1, leaderEpoch: -1, metadata: null }] }] })))[0]!.errorCode, ErrorCode.ILLEGAL_GENERATION);

    const { a, generation } = await stableGroupOfTwo(h);
    assert.equal((await commit(h, '', -1, 1))[0]!.errorCode, ErrorCode.UNKNOWN_MEMBER_ID, 'the group has members now');
    assert.equal((await commit(h, a, generation + 1, 1))[0]!.errorCode, ErrorCode.ILLEGAL_GENERATION);
    assert.equal((await commit(h, a, generation, 50))[0]!.errorCode, ErrorCode.NONE);
    assert.equal(h.gc.fetchOffsets(G, null)[0]!.offset, 50);
    const big = await h.runtime.run(() => h.gc.commitOffsets({ groupId: G, generationId: generation, memberId: a, groupInstanceId: null, retentionTimeMs: -1, topics: [{ name: 't1', partitions: [{ partition: 0, offset: 1, leaderEpoch: -1, metadata: 'x'.repeat(4097) }] }] }));
    assert.equal(big[0]!.errorCode, ErrorCode.OFFSET_METADATA_TOO_LARGE);
  });

  test('offset commits during a rebalance: member and generation are checked first, REBALANCE_IN_PROGRESS only for the current generation', async () => {
    const h = await harness();
    const { a, b, generation } = await stableGroupOfTwo(h);
    const rejoinA = join(h, a);
    await settle();
    assert.equal(h.gc.group(G)!.state, 'PreparingRebalance');
    // PreparingRebalance: a current member of the current generation still commits (librdkafka 0113 relies on it).
    assert.equal((await commit(h, b, generation, 7))[0]!.errorCode, ErrorCode.NONE);
    assert.equal((await commit(h, b, generation - 1, 7))[0]!.errorCode, ErrorCode.ILLEGAL_GENERATION);
    assert.equal((await commit(h, 'nobody', generation, 7))[0]!.errorCode, ErrorCode.UNKNOWN_MEMBER_ID);
    const rejoinB = join(h, b);
    const [ra] = await Promise.all([rejoinA, rejoinB]);
    assert.equal(h.gc.group(G)!.state, 'CompletingRebalance');
    // CompletingRebalance: the old generation is stale, an unknown member unknown; only the current one waits.
    assert.equal((await commit(h, b, generation, 8))[0]!.errorCode, ErrorCode.ILLEGAL_GENERATION);
    assert.equal((await commit(h, 'nobody', ra.generationId, 8))[0]!.errorCode, ErrorCode.UNKNOWN_MEMBER_ID);
    assert.equal((await commit(h, b, ra.generationId, 8))[0]!.errorCode, ErrorCode.REBALANCE_IN_PROGRESS);
    assert.equal(h.gc.fetchOffsets(G, null)[0]!.offset, 7, 'only the accepted commit was stored');
  });

  test('offset commits by static members: unknown instance id, then a fenced member id, before the generation', async () => {
    const h = await harness();
    const r = join(h, '', { groupInstanceId: 'i1' });
    await settle();
    h.clock.advance(3000);
    const joined = await r;
    const staticCommit = (memberId: string, instanceId: string, generationId: number) =>
      h.runtime.run(() => h.gc.commitOffsets({
        groupId: G, generationId, memberId, groupInstanceId: instanceId, retentionTimeMs: -1,
        topics: [{ name: 't1', partitions: [{ partition: 0, offset: 1, leaderEpoch: -1, metadata: null }] }],
      }));
    assert.equal((await staticCommit(joined.memberId, 'other', 99))[0]!.errorCode, ErrorCode.UNKNOWN_MEMBER_ID);
    assert.equal((await staticCommit('impostor', 'i1', 99))[0]!.errorCode, ErrorCode.FENCED_INSTANCE_ID);
    assert.equal((await staticCommit(joined.memberId, 'i1', 99))[0]!.errorCode, ErrorCode.ILLEGAL_GENERATION);
  });

  test('state survives a restart: a new coordinator replaying the log has the offsets, the group and its members', async () => {
    const log = new MemoryLog(4);
    const h = await harness({}, log);
    const { a, b, generation } = await stableGroupOfTwo(h);
    await commit(h, a, generation, 7);
    await commit(h, a, generation, 8);
    await h.runtime.run(() => h.gc.commitOffsets({ groupId: 'other', generationId: -1, memberId: '', groupInstanceId: null, retentionTimeMs: -1, topics: [{ name: 'x', partitions: [{ partition: 2, offset: 99, leaderEpoch: -1, metadata: null }] }] }));

    const h2 = await harness({}, log);
    assert.equal(h2.gc.fetchOffsets(G, null)[0]!.offset, 8);
    assert.equal(h2.gc.fetchOffsets('other', null)[0]!.offset, 99);
    const g = h2.gc.group(G)!;
    assert.equal(g.state, 'Stable');
    assert.equal(g.generationId, generation);
    assert.equal(g.leaderId, a);
    assert.deepEqual((await sync(h2, b, generation)).assignment, Buffer.from('B'));
    // Loaded members that never come back expire after a session timeout.
    h2.clock.advance(SESSION);
    await settle();
    assert.equal(h2.gc.group(G)!.state, 'Empty');
    assert.equal(h2.gc.group(G)!.generationId, generation + 1);
  });

  test('offsets retention: offsets of an Empty group expire after the retention, then the group goes', async () => {
    const h = await harness({ offsetsRetentionMs: 60_000, offsetsRetentionCheckIntervalMs: 10_000 });
    await commit(h, '', -1, 5);
    await h.runtime.run(() => h.gc.commitOffsets({ groupId: G, generationId: -1, memberId: '', groupInstanceId: null, retentionTimeMs: 15_000, topics: [{ name: 'short', partitions: [{ partition: 0, offset: 1, leaderEpoch: -1, metadata: null }] }] }));
    h.clock.advance(20_000);
    await settle();
    assert.deepEqual(h.gc.fetchOffsets(G, null).map((o) => o.topic), ['t1'], 'an explicit expire time wins');
    h.clock.advance(30_000);
    await settle();
    assert.equal(h.gc.fetchOffsets(G, null).length, 1);
    h.clock.advance(10_000);
    await settle();
    assert.equal(h.gc.group(G), undefined);
    const tail = h.log.decoded().slice(-2);
    assert.deepEqual(tail.map((r) => [r.type, r.value]), [['offset', null], ['group', null]]);
    const h2 = await harness({}, h.log);
    assert.equal(h2.gc.group(G), undefined, 'tombstones replay to nothing');
  });

  test('offsets of topics no member subscribes to expire in a live consumer group; subscribed ones stay', async () => {
    const h = await harness({ offsetsRetentionMs: 60_000, offsetsRetentionCheckIntervalMs: 10_000 });
    const { a, generation } = await stableGroupOfTwo(h);
    await commit(h, a, generation, 1, 't1');
    await commit(h, a, generation, 2, 'gone');
    for (let i = 0; i < 7; i++) {
      h.clock.advance(9_000);
      const { b } = { b: [...h.gc.group(G)!.members.keys()][1]! };
      await heartbeat(h, a, generation);
      await heartbeat(h, b, generation);
    }
    await settle();
    assert.deepEqual(h.gc.fetchOffsets(G, null).map((o) => o.topic), ['t1']);
  });

  test('DeleteGroups and OffsetDelete follow the group state', async () => {
    const h = await harness();
    const { a } = await stableGroupOfTwo(h);
    await commit(h, a, 1, 3, 't1');
    await commit(h, a, 1, 4, 'unsubscribed');
    const del = await h.runtime.run(() => h.gc.deleteOffsets(G, [{ name: 't1', partitions: [0] }, { name: 'unsubscribed', partitions: [0] }]));
    assert.deepEqual(del.partitions.map((p) => p.errorCode), [ErrorCode.GROUP_SUBSCRIBED_TO_TOPIC, ErrorCode.NONE]);
    assert.deepEqual(h.gc.fetchOffsets(G, null).map((o) => o.topic), ['t1']);
    assert.equal((await h.runtime.run(() => h.gc.deleteOffsets('nope', []))).errorCode, ErrorCode.GROUP_ID_NOT_FOUND);

    assert.deepEqual(await h.runtime.run(() => h.gc.deleteGroups([G, 'nope'])), [
      { groupId: G, errorCode: ErrorCode.NON_EMPTY_GROUP }, { groupId: 'nope', errorCode: ErrorCode.GROUP_ID_NOT_FOUND },
    ]);
    await commit(h, '', -1, 1);
    await h.runtime.run(() => h.gc.commitOffsets({ groupId: 'simple', generationId: -1, memberId: '', groupInstanceId: null, retentionTimeMs: -1, topics: [{ name: 't1', partitions: [{ partition: 0, offset: 1, leaderEpoch: -1, metadata: null }] }] }));
    assert.deepEqual(await h.runtime.run(() => h.gc.deleteGroups(['simple'])), [{ groupId: 'simple', errorCode: ErrorCode.NONE }]);
    assert.equal(h.gc.group('simple'), undefined);
    assert.deepEqual(h.gc.fetchOffsets('simple', [{ name: 't1', partitions: [0] }])[0]!.offset, -1);
    const h2 = await harness({}, h.log);
    assert.equal(h2.gc.group('simple'), undefined, 'deletion is persisted');
  });

  test('ListGroups filters by state; DescribeGroups shows metadata and assignments only when Stable', async () => {
    const h = await harness();
    const { a } = await stableGroupOfTwo(h);
    await h.runtime.run(() => h.gc.commitOffsets({ groupId: 'simple', generationId: -1, memberId: '', groupInstanceId: null, retentionTimeMs: -1, topics: [{ name: 't1', partitions: [{ partition: 0, offset: 1, leaderEpoch: -1, metadata: null }] }] }));
    assert.deepEqual(h.gc.listGroups().map((g) => [g.groupId, g.state, g.protocolType]), [[G, 'Stable', 'consumer'], ['simple', 'Empty', '']]);
    assert.deepEqual(h.gc.listGroups(['empty']).map((g) => g.groupId), ['simple']);
    const d = h.gc.describeGroup(G);
    assert.equal(d.protocol, 'range');
    assert.equal(d.members.find((m) => m.memberId === a)!.assignment.toString(), 'A');
    assert.deepEqual(d.members[0]!.metadata, subscription('t1'));
    assert.equal(h.gc.describeGroup('nope').state, 'Dead');
    void join(h, a);
    await settle();
    const preparing = h.gc.describeGroup(G);
    assert.equal(preparing.state, 'PreparingRebalance');
    assert.equal(preparing.protocol, '');
    assert.equal(preparing.members[0]!.assignment.length, 0);
  });

  test('a failed append answers COORDINATOR_NOT_AVAILABLE and leaves memory as the log: its change is rolled back', async () => {
    const h = await harness();
    assert.equal(await commit(h, '', -1, 1).then((r) => r[0]!.errorCode), ErrorCode.NONE);
    h.log.failNext = true;
    await assert.rejects(commit(h, '', -1, 2), (err: any) => err.kafkaError === 'COORDINATOR_NOT_AVAILABLE');
    assert.equal(h.gc.fetchOffsets(G, [{ name: 't1', partitions: [0] }])[0]!.offset, 1, 'the failed commit is not visible');
    // An operation started while the failed append was under way keeps its (successful) change.
    h.log.failNext = true;
    const failing = commit(h, '', -1, 4);
    const ok = commit(h, '', -1, 5, 't2');
    await assert.rejects(failing, (err: any) => err.kafkaError === 'COORDINATOR_NOT_AVAILABLE');
    assert.equal((await ok)[0]!.errorCode, ErrorCode.NONE);
    assert.equal(h.gc.fetchOffsets(G, [{ name: 't1', partitions: [0] }])[0]!.offset, 1);
    assert.equal(h.gc.fetchOffsets(G, [{ name: 't2', partitions: [0] }])[0]!.offset, 5);
    assert.equal(await commit(h, '', -1, 3).then((r) => r[0]!.errorCode), ErrorCode.NONE);
    assert.equal(h.gc.fetchOffsets(G, [{ name: 't1', partitions: [0] }])[0]!.offset, 3);
  });
});
