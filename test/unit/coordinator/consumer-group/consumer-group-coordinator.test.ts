import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  ConsumerGroupCoordinator, type ConsumerGroupResult, type ConsumerGroupTimers,
} from '../../../../src/coordinator/consumer-group/consumer-group-coordinator.js';
import { consumerGroupRecordSerde, type ConsumerGroupRecord } from '../../../../src/coordinator/consumer-group/consumer-group-records.js';
import { MemberState } from '../../../../src/coordinator/consumer-group/consumer-group-member.js';
import type { ConsumerGroupHeartbeatRequest } from '../../../../src/protocol/generated/consumer-group-heartbeat-request.js';
import type { ConsumerGroupHeartbeatResponse } from '../../../../src/protocol/generated/consumer-group-heartbeat-response.js';

const FOO = '00000000-0000-0000-0000-00000000f001';
const BAR = '00000000-0000-0000-0000-00000000ba02';
const CLIENT = { clientId: 'c', clientHost: '/127.0.0.1' };

/** Injected clock: timers fire only through advance(), their records land in `log`. */
class FakeTimers implements ConsumerGroupTimers {
  time = 0;
  readonly pending = new Map<string, { at: number; op: () => ConsumerGroupResult<unknown> }>();
  constructor(private readonly log: ConsumerGroupRecord[]) {}
  now(): number {
    return this.time;
  }
  schedule(key: string, delayMs: number, op: () => ConsumerGroupResult<unknown>): void {
    this.pending.set(key, { at: this.time + delayMs, op });
  }
  cancel(key: string): void {
    this.pending.delete(key);
  }
  advance(ms: number): void {
    const end = this.time + ms;
    for (;;) {
      const due = [...this.pending].filter(([, t]) => t.at <= end).sort((a, b) => a[1].at - b[1].at)[0];
      if (!due) break;
      this.pending.delete(due[0]);
      this.time = due[1].at;
      this.log.push(...due[1].op().records);
    }
    this.time = end;
  }
}

interface Harness {
  coord: ConsumerGroupCoordinator;
  timers: FakeTimers;
  log: ConsumerGroupRecord[];
  topics: Map<string, { topicId: string; numPartitions: number }>;
  /** Per-group overrides the coordinator reads (the GROUP config resource). */
  groupConfigs: Map<string, { sessionTimeoutMs?: number; heartbeatIntervalMs?: number }>;
  /** A heartbeat at `version` (0 by default: the member id may be left to the coordinator). */
  hb(req: Partial<ConsumerGroupHeartbeatRequest>, version?: number): ConsumerGroupHeartbeatResponse;
}

function harness(opts: { maxSize?: number; sessionTimeoutMs?: number; brokerRack?: string } = {}): Harness {
  const log: ConsumerGroupRecord[] = [];
  const timers = new FakeTimers(log);
  const topics = new Map([['foo', { topicId: FOO, numPartitions: 6 }], ['bar', { topicId: BAR, numPartitions: 3 }]]);
  const groupConfigs = new Map<string, { sessionTimeoutMs?: number; heartbeatIntervalMs?: number }>();
  let next = 0;
  // The names image moves with every change of the map (as the TopicManager's does on create/delete).
  let version = 0;
  const set = topics.set.bind(topics);
  const del = topics.delete.bind(topics);
  topics.set = (k, v) => (version++, set(k, v));
  topics.delete = (k) => (version++, del(k));
  const coord = new ConsumerGroupCoordinator(timers, (name) => topics.get(name), {
    generateMemberId: () => `member-${++next}`, maxSize: opts.maxSize, sessionTimeoutMs: opts.sessionTimeoutMs,
    topicNames: { version: () => version, names: () => topics.keys() },
    groupConfig: (groupId) => groupConfigs.get(groupId) ?? {},
    brokerRack: opts.brokerRack,
  });
  return {
    coord, timers, log, topics, groupConfigs,
    hb(req, apiVersion = 0) {
      const full: ConsumerGroupHeartbeatRequest = {
        groupId: 'g', memberId: '', memberEpoch: 0, instanceId: null, rackId: null, rebalanceTimeoutMs: -1,
        subscribedTopicNames: null, subscribedTopicRegex: null, serverAssignor: null, topicPartitions: null, ...req,
      };
      const r = coord.heartbeat(full, CLIENT, apiVersion);
      log.push(...r.records);
      return r.response;
    },
  };
}

function join(h: Harness, topics: string[], extra: Partial<ConsumerGroupHeartbeatRequest> = {}): ConsumerGroupHeartbeatResponse {
  return h.hb({ memberEpoch: 0, rebalanceTimeoutMs: 30_000, subscribedTopicNames: topics, topicPartitions: [], ...extra });
}

function errorOf(fn: () => unknown): string | undefined {
  try {
    fn();
  } catch (err) {
    return (err as { kafkaError?: string }).kafkaError;
  }
  return undefined;
}

/** No partition is owned (assigned or pending revocation) by two members at once. */
function assertNoDoubleOwnership(h: Harness): void {
  const seen = new Map<string, string>();
  for (const m of h.coord.group('g')?.members.values() ?? []) {
    for (const a of [m.assignedPartitions, m.partitionsPendingRevocation]) {
      for (const [t, ps] of a) {
        for (const p of ps) {
          const k = `${t}-${p}`;
          assert.equal(seen.get(k), undefined, `${k} owned by ${seen.get(k)} and ${m.memberId}`);
          seen.set(k, m.memberId);
        }
      }
    }
  }
}

/** Client model: each member heartbeats with what it was last told it owns, until nothing changes. */
function converge(h: Harness, members: Map<string, { epoch: number; owned: Array<{ topicId: string; partitions: number[] }> }>): void {
  for (let round = 0; round < 20; round++) {
    let changed = false;
    for (const [memberId, s] of members) {
      const r = h.hb({ memberId, memberEpoch: s.epoch, topicPartitions: s.owned });
      assertNoDoubleOwnership(h);
      if (r.memberEpoch !== s.epoch || (r.assignment && JSON.stringify(r.assignment.topicPartitions) !== JSON.stringify(s.owned))) changed = true;
      s.epoch = r.memberEpoch;
      if (r.assignment) s.owned = r.assignment.topicPartitions;
    }
    if (!changed && h.coord.groupState('g') === 'Stable') return;
  }
  assert.fail(`group did not converge: ${h.coord.groupState('g')}`);
}

function snapshot(coord: ConsumerGroupCoordinator): unknown {
  const plain = (m: ReadonlyMap<string, readonly number[]>): unknown => [...m].sort();
  return coord.groupIds().sort().map((id) => {
    const g = coord.group(id)!;
    return {
      id, groupEpoch: g.groupEpoch, assignmentEpoch: g.assignmentEpoch,
      members: [...g.members.values()].sort((a, b) => a.memberId.localeCompare(b.memberId)).map((m) => ({
        ...m, assignedPartitions: plain(m.assignedPartitions), partitionsPendingRevocation: plain(m.partitionsPendingRevocation),
      })),
      staticMembers: [...g.staticMembers].sort(),
      target: [...g.targetAssignment].sort().map(([k, v]) => [k, plain(v)]),
      subscription: [...g.subscriptionMetadata].sort(),
      owners: [...g.owners].sort().map(([t, o]) => [t, [...o].sort((a, b) => a[0] - b[0])]),
    };
  });
}

test('a first member joins: epoch 1, everything it subscribes to, and every record type', () => {
  const h = harness();
  const r = join(h, ['foo', 'bar']);
  assert.equal(r.memberId, 'member-1');
  assert.equal(r.memberEpoch, 1);
  assert.equal(r.heartbeatIntervalMs, 5000);
  assert.deepEqual(r.assignment?.topicPartitions, [
    { topicId: FOO, partitions: [0, 1, 2, 3, 4, 5] },
    { topicId: BAR, partitions: [0, 1, 2] },
  ].sort((a, b) => a.topicId.localeCompare(b.topicId)));
  assert.deepEqual(h.log.map((x) => x.type), [
    'ConsumerGroupMemberMetadata', 'ConsumerGroupPartitionMetadata', 'ConsumerGroupMetadata',
    'ConsumerGroupTargetAssignmentMember', 'ConsumerGroupTargetAssignmentMetadata', 'ConsumerGroupCurrentMemberAssignment',
  ]);
  assert.equal(h.coord.groupState('g'), 'Stable');
  // A plain heartbeat changes nothing and carries no assignment.
  const before = h.log.length;
  const again = h.hb({ memberId: 'member-1', memberEpoch: 1 });
  assert.equal(again.assignment, null);
  assert.equal(again.memberEpoch, 1);
  assert.equal(h.log.length, before);
});

test('a second member waits for the first to revoke: revoke first, then assign (UNRELEASED meanwhile)', () => {
  const h = harness();
  const a = join(h, ['foo']);
  const b = join(h, ['foo']);
  assert.equal(b.memberEpoch, 2);
  assert.deepEqual(b.assignment?.topicPartitions, [], 'B may not get partitions A still owns');
  assert.equal(h.coord.group('g')!.members.get('member-2')!.state, MemberState.UNRELEASED_PARTITIONS);
  assertNoDoubleOwnership(h);

  // A learns what to revoke, keeping epoch 1.
  const a1 = h.hb({ memberId: a.memberId!, memberEpoch: 1 });
  assert.equal(a1.memberEpoch, 1);
  const kept = a1.assignment!.topicPartitions;
  assert.equal(kept[0]!.partitions.length, 3);
  assert.equal(h.coord.group('g')!.members.get('member-1')!.state, MemberState.UNREVOKED_PARTITIONS);
  // Still reporting the revoked partitions: no progress, B still waits.
  h.hb({ memberId: a.memberId!, memberEpoch: 1, topicPartitions: [{ topicId: FOO, partitions: [0, 1, 2, 3, 4, 5] }] });
  assert.equal(h.coord.group('g')!.members.get('member-1')!.memberEpoch, 1);
  assert.deepEqual(h.hb({ memberId: b.memberId!, memberEpoch: 2 }).assignment, null);
  // A confirms: it moves to epoch 2; then B gets the released partitions.
  const a2 = h.hb({ memberId: a.memberId!, memberEpoch: 1, topicPartitions: kept });
  assert.equal(a2.memberEpoch, 2);
  const b2 = h.hb({ memberId: b.memberId!, memberEpoch: 2 });
  assert.equal(b2.assignment!.topicPartitions[0]!.partitions.length, 3);
  assert.deepEqual([...kept[0]!.partitions, ...b2.assignment!.topicPartitions[0]!.partitions].sort(), [0, 1, 2, 3, 4, 5]);
  assertNoDoubleOwnership(h);
  assert.equal(h.coord.groupState('g'), 'Stable');
});

test('three members over two topics converge to a balanced, disjoint, complete assignment; a leaver is covered', () => {
  const h = harness();
  const state = new Map<string, { epoch: number; owned: Array<{ topicId: string; partitions: number[] }> }>();
  for (let i = 0; i < 3; i++) {
    const r = join(h, ['foo', 'bar']);
    state.set(r.memberId!, { epoch: r.memberEpoch, owned: r.assignment!.topicPartitions });
  }
  converge(h, state);
  const counts = [...state.values()].map((s) => s.owned.reduce((n, t) => n + t.partitions.length, 0));
  assert.deepEqual(counts, [3, 3, 3]);

  const leaving = [...state.keys()][0]!;
  const epochBefore = h.coord.group('g')!.groupEpoch;
  const left = h.hb({ memberId: leaving, memberEpoch: -1 });
  assert.equal(left.memberEpoch, -1);
  assert.equal(h.coord.group('g')!.groupEpoch, epochBefore + 1);
  assert.equal(errorOf(() => h.hb({ memberId: leaving, memberEpoch: state.get(leaving)!.epoch })), 'UNKNOWN_MEMBER_ID');
  state.delete(leaving);
  converge(h, state);
  const all = [...state.values()].flatMap((s) => s.owned.flatMap((t) => t.partitions.map((p) => `${t.topicId}-${p}`))).sort();
  assert.equal(all.length, 9);
  assert.equal(new Set(all).size, 9);
});

test('session timeout fences a silent member; its next heartbeat is UNKNOWN_MEMBER_ID and the survivor takes over', () => {
  const h = harness();
  const state = new Map<string, { epoch: number; owned: Array<{ topicId: string; partitions: number[] }> }>();
  for (let i = 0; i < 2; i++) {
    const r = join(h, ['foo']);
    state.set(r.memberId!, { epoch: r.memberEpoch, owned: r.assignment!.topicPartitions });
  }
  converge(h, state);
  const [alive, silent] = [...state.keys()] as [string, string];
  for (let t = 0; t < 8; t++) {
    h.timers.advance(5_000);
    h.hb({ memberId: alive, memberEpoch: state.get(alive)!.epoch });
  }
  h.timers.advance(4_999);
  assert.ok(h.coord.group('g')!.members.has(silent), 'not fenced before 45 s');
  h.timers.advance(1);
  assert.ok(!h.coord.group('g')!.members.has(silent));
  const tombstones = h.log.slice(-4).map((r) => `${r.type}:${r.value === null ? 'null' : 'value'}`);
  assert.deepEqual(tombstones, [
    'ConsumerGroupCurrentMemberAssignment:null', 'ConsumerGroupTargetAssignmentMember:null',
    'ConsumerGroupMemberMetadata:null', 'ConsumerGroupMetadata:value',
  ]);
  assert.equal(errorOf(() => h.hb({ memberId: silent, memberEpoch: state.get(silent)!.epoch })), 'UNKNOWN_MEMBER_ID');
  state.delete(silent);
  converge(h, state);
  assert.equal(state.get(alive)!.owned[0]!.partitions.length, 6);
});

test('rebalance timeout fences a member that never revokes', () => {
  const h = harness();
  const a = join(h, ['foo'], { rebalanceTimeoutMs: 10_000 });
  join(h, ['foo']);
  h.hb({ memberId: a.memberId!, memberEpoch: 1 }); // told to revoke
  assert.equal(h.coord.group('g')!.members.get(a.memberId!)!.state, MemberState.UNREVOKED_PARTITIONS);
  for (let t = 0; t < 2; t++) {
    h.timers.advance(4_000);
    h.hb({ memberId: a.memberId!, memberEpoch: 1, topicPartitions: [{ topicId: FOO, partitions: [0, 1, 2, 3, 4, 5] }] });
  }
  assert.ok(h.coord.group('g')!.members.has(a.memberId!));
  h.timers.advance(2_001);
  assert.ok(!h.coord.group('g')!.members.has(a.memberId!));
  assert.equal(errorOf(() => h.hb({ memberId: a.memberId!, memberEpoch: 1 })), 'UNKNOWN_MEMBER_ID');
});

test('epoch checks: larger or unrelated epochs are fenced; the previous epoch is accepted with a subset of the assignment', () => {
  const h = harness();
  const a = join(h, ['foo']);
  assert.equal(errorOf(() => h.hb({ memberId: a.memberId!, memberEpoch: 2 })), 'FENCED_MEMBER_EPOCH');
  join(h, ['bar']); // epoch 2; A's target is unchanged, so A moves to epoch 2 on its next heartbeat
  const a2 = h.hb({ memberId: a.memberId!, memberEpoch: 1 });
  assert.equal(a2.memberEpoch, 2);
  // The response was "lost": A retries with epoch 1 and what it owns.
  const retry = h.hb({ memberId: a.memberId!, memberEpoch: 1, topicPartitions: [{ topicId: FOO, partitions: [0, 1] }] });
  assert.equal(retry.memberEpoch, 2);
  assert.equal(errorOf(() => h.hb({ memberId: a.memberId!, memberEpoch: 1 })), 'FENCED_MEMBER_EPOCH', 'previous epoch without owned partitions');
  assert.equal(errorOf(() => h.hb({ memberId: a.memberId!, memberEpoch: 1, topicPartitions: [{ topicId: BAR, partitions: [0] }] })), 'FENCED_MEMBER_EPOCH');
});

test('static membership: leave with -2 keeps the partitions, a new member id with the same instance takes them back', () => {
  const h = harness();
  const s = join(h, ['foo', 'bar'], { instanceId: 'i-1' });
  const other = join(h, ['foo', 'bar']);
  const state = new Map([
    [s.memberId!, { epoch: s.memberEpoch, owned: s.assignment!.topicPartitions }],
    [other.memberId!, { epoch: other.memberEpoch, owned: other.assignment!.topicPartitions }],
  ]);
  converge(h, state);
  const owned = state.get(s.memberId!)!;
  const epoch = h.coord.group('g')!.groupEpoch;

  assert.equal(errorOf(() => join(h, ['foo'], { instanceId: 'i-1' })), 'UNRELEASED_INSTANCE_ID');
  const left = h.hb({ memberId: s.memberId!, memberEpoch: -2, instanceId: 'i-1' });
  assert.equal(left.memberEpoch, -2);
  assert.equal(h.coord.group('g')!.groupEpoch, epoch, 'a static leave does not rebalance');

  const back = join(h, ['foo', 'bar'], { instanceId: 'i-1' });
  assert.notEqual(back.memberId, s.memberId);
  assert.equal(back.memberEpoch, owned.epoch);
  assert.deepEqual(back.assignment!.topicPartitions, owned.owned);
  assert.equal(h.coord.group('g')!.groupEpoch, epoch);
  assert.ok(!h.coord.group('g')!.members.has(s.memberId!));
  assert.equal(h.coord.group('g')!.staticMembers.get('i-1'), back.memberId);
  assertNoDoubleOwnership(h);
  assert.equal(errorOf(() => h.hb({ memberId: back.memberId!, memberEpoch: back.memberEpoch, instanceId: 'i-2' })), 'FENCED_INSTANCE_ID');

  // Gone for good: after -2 the session runs out and the member is removed.
  h.hb({ memberId: back.memberId!, memberEpoch: -2, instanceId: 'i-1' });
  h.timers.cancel(`consumer-group-session:g:${other.memberId}`);
  h.timers.advance(45_000);
  assert.equal(h.coord.group('g')!.staticMembers.get('i-1'), undefined);
});

test('replaying the emitted records (through the serde) rebuilds the same state', () => {
  const h = harness();
  const state = new Map<string, { epoch: number; owned: Array<{ topicId: string; partitions: number[] }> }>();
  for (let i = 0; i < 3; i++) {
    const r = join(h, i === 2 ? ['bar'] : ['foo', 'bar'], { instanceId: i === 0 ? 'static' : null });
    state.set(r.memberId!, { epoch: r.memberEpoch, owned: r.assignment!.topicPartitions });
  }
  const ids = [...state.keys()];
  // Mid-reconciliation snapshot is also reproduced.
  h.hb({ memberId: ids[0]!, memberEpoch: state.get(ids[0]!)!.epoch });
  converge(h, state);
  h.hb({ memberId: ids[1]!, memberEpoch: -1 });
  h.hb({ memberId: ids[0]!, memberEpoch: -2, instanceId: 'static' });
  join(h, ['foo']);

  const fresh = new ConsumerGroupCoordinator(new FakeTimers([]), (n) => h.topics.get(n));
  for (const rec of h.log) {
    const raw = consumerGroupRecordSerde.encode(rec);
    fresh.replay(consumerGroupRecordSerde.decode(raw)!);
  }
  assert.deepEqual(snapshot(fresh), snapshot(h.coord));
  assert.deepEqual(fresh.describe('g'), h.coord.describe('g'));
});

test('onLoaded gives loaded members a session, so a dead member is fenced after a restart', () => {
  const h = harness();
  const a = join(h, ['foo']);
  const timers = new FakeTimers([]);
  const fresh = new ConsumerGroupCoordinator(timers, (n) => h.topics.get(n));
  for (const rec of h.log) fresh.replay(rec);
  fresh.onLoaded();
  timers.advance(44_999);
  assert.ok(fresh.group('g')!.members.has(a.memberId!));
  timers.advance(1);
  assert.ok(!fresh.group('g')!.members.has(a.memberId!));
});

test('a topic growing bumps the group epoch and hands out the new partitions', () => {
  const h = harness();
  const a = join(h, ['foo']);
  h.topics.set('foo', { topicId: FOO, numPartitions: 8 });
  const r = h.hb({ memberId: a.memberId!, memberEpoch: 1 });
  assert.equal(r.memberEpoch, 2);
  assert.deepEqual(r.assignment!.topicPartitions, [{ topicId: FOO, partitions: [0, 1, 2, 3, 4, 5, 6, 7] }]);
  // Subscribing to a topic that does not exist yet assigns nothing until it does.
  const b = h.hb({ memberId: a.memberId!, memberEpoch: 2, subscribedTopicNames: ['foo', 'later'] });
  assert.equal(b.memberEpoch, 3);
  h.topics.set('later', { topicId: '00000000-0000-0000-0000-0000000000aa', numPartitions: 1 });
  const c = h.hb({ memberId: a.memberId!, memberEpoch: 3 });
  assert.equal(c.memberEpoch, 4);
  assert.equal(c.assignment!.topicPartitions.length, 2);
});

test('request validation and errors', () => {
  const h = harness({ maxSize: 1 });
  assert.equal(errorOf(() => h.hb({ groupId: '', memberEpoch: 0 })), 'INVALID_REQUEST');
  assert.equal(errorOf(() => h.hb({ memberEpoch: 0, subscribedTopicNames: ['foo'], topicPartitions: [] })), 'INVALID_REQUEST', 'no rebalance timeout');
  assert.equal(errorOf(() => join(h, ['foo'], { topicPartitions: null })), 'INVALID_REQUEST');
  assert.equal(errorOf(() => join(h, ['foo'], { subscribedTopicRegex: 'f(' })), 'INVALID_REGULAR_EXPRESSION');
  assert.equal(errorOf(() => join(h, ['foo'], { instanceId: '' })), 'INVALID_REQUEST');
  assert.equal(errorOf(() => h.hb({ memberId: 'x', memberEpoch: -3 })), 'INVALID_REQUEST');
  assert.equal(errorOf(() => h.hb({ memberId: '', memberEpoch: 3 })), 'INVALID_REQUEST');
  assert.equal(errorOf(() => h.hb({ memberId: 'x', memberEpoch: -2 })), 'INVALID_REQUEST', '-2 needs an instance id');
  assert.equal(errorOf(() => join(h, ['foo'], { serverAssignor: 'sticky' })), 'UNSUPPORTED_ASSIGNOR');
  assert.equal(errorOf(() => h.hb({ memberId: 'x', memberEpoch: 3 })), 'UNKNOWN_MEMBER_ID', 'unknown group');
  assert.equal(h.coord.group('g'), undefined, 'failed requests change nothing');
  assert.equal(h.log.length, 0);
  join(h, ['foo']);
  assert.equal(errorOf(() => join(h, ['foo'])), 'GROUP_MAX_SIZE_REACHED');
  assert.equal(errorOf(() => h.hb({ memberId: 'nobody', memberEpoch: 1 })), 'UNKNOWN_MEMBER_ID');
});

test('describe, the range assignor by request, and delete only when empty', () => {
  const h = harness();
  const a = join(h, ['foo', 'bar'], { serverAssignor: 'range', rackId: 'r1' });
  const d = h.coord.describe('g');
  assert.equal(d.groupState, 'Stable');
  assert.equal(d.assignorName, 'range');
  assert.equal(d.groupEpoch, 1);
  assert.equal(d.assignmentEpoch, 1);
  assert.equal(d.members.length, 1);
  const m = d.members[0]!;
  assert.equal(m.memberId, a.memberId);
  assert.equal(m.rackId, 'r1');
  assert.equal(m.clientId, 'c');
  assert.deepEqual(m.subscribedTopicNames, ['bar', 'foo']);
  assert.deepEqual(m.assignment.topicPartitions.map((t) => [t.topicName, t.partitions.length]).sort(), [['bar', 3], ['foo', 6]]);
  assert.deepEqual(m.targetAssignment, m.assignment);

  const b = join(h, ['foo', 'bar'], { serverAssignor: 'range' });
  assert.equal(h.coord.groupState('g'), 'Reconciling');
  const target = h.coord.describe('g').members.find((x) => x.memberId === b.memberId)!.targetAssignment.topicPartitions;
  assert.deepEqual(target.map((t) => [t.topicName, t.partitions]).sort(), [['bar', [2]], ['foo', [3, 4, 5]]]);

  assert.equal(errorOf(() => h.coord.describe('nope')), 'GROUP_ID_NOT_FOUND');
  assert.equal(errorOf(() => h.coord.deleteGroup('g')), 'NON_EMPTY_GROUP');
  h.hb({ memberId: a.memberId!, memberEpoch: -1 });
  h.hb({ memberId: b.memberId!, memberEpoch: -1 });
  assert.equal(h.coord.groupState('g'), 'Empty');
  const del = h.coord.deleteGroup('g');
  assert.equal(del.records.at(-1)!.type, 'ConsumerGroupMetadata');
  assert.equal(del.records.at(-1)!.value, null);
  assert.equal(h.coord.group('g'), undefined);
  assert.equal(errorOf(() => h.coord.deleteGroup('g')), 'GROUP_ID_NOT_FOUND');
});

/** The topic names of a member's current assignment, sorted. */
function assignedNames(h: Harness, memberId: string): string[] {
  const byId = new Map([...h.topics].map(([name, t]) => [t.topicId, name]));
  const m = h.coord.group('g')!.members.get(memberId)!;
  return [...m.assignedPartitions.keys()].map((id) => byId.get(id) ?? id).sort();
}

test('v1 (KIP-1082): the client chooses its member id; an empty one is refused; an empty regex means none', () => {
  const h = harness();
  const v1 = (req: Partial<ConsumerGroupHeartbeatRequest>) => h.hb(req, 1);
  const base = { memberEpoch: 0, rebalanceTimeoutMs: 30_000, topicPartitions: [] };
  assert.equal(errorOf(() => v1({ ...base, memberId: '', subscribedTopicNames: ['foo'] })), 'INVALID_REQUEST');
  assert.equal(errorOf(() => v1({ ...base, memberId: 'c-1', subscribedTopicNames: null, subscribedTopicRegex: null })), 'INVALID_REQUEST');
  // librdkafka 2.15 joins by names with SubscribedTopicRegex "".
  const a = v1({ ...base, memberId: 'c-1', subscribedTopicNames: ['foo'], subscribedTopicRegex: '' });
  assert.equal(a.memberId, 'c-1');
  assert.equal(a.memberEpoch, 1);
  assert.deepEqual(assignedNames(h, 'c-1'), ['foo']);
  assert.equal(h.coord.describe('g').members[0]!.subscribedTopicRegex, null);
  // Joining with an empty name list is accepted: a member without topics.
  const b = v1({ ...base, memberId: 'c-2', subscribedTopicNames: [] });
  assert.equal(b.errorCode, 0);
  assert.deepEqual(assignedNames(h, 'c-2'), []);
  // Rejoining (epoch 0) with the same id keeps the member: no new member, same id.
  const again = v1({ ...base, memberId: 'c-1', subscribedTopicNames: ['foo'], subscribedTopicRegex: '' });
  assert.equal(again.memberId, 'c-1');
  assert.equal(h.coord.group('g')!.members.size, 2);
  // v0 leaves need a member id too (-1), a static leave (-2) may name only its instance.
  assert.equal(errorOf(() => h.hb({ memberId: '', memberEpoch: -1 })), 'INVALID_REQUEST');
});

test('SubscribedTopicRegex: RE2/J syntax, whole-name matches, re-resolved when topics are created or deleted', () => {
  const h = harness();
  const v1 = (req: Partial<ConsumerGroupHeartbeatRequest>) => h.hb(req, 1);
  h.topics.set('__consumer_offsets', { topicId: '00000000-0000-0000-0000-0000000000c0', numPartitions: 3 });
  h.topics.set('food', { topicId: '00000000-0000-0000-0000-0000000000fd', numPartitions: 2 });
  // Backreferences are not RE2: refused as Kafka refuses them.
  assert.equal(errorOf(() => v1({ memberId: 'r', memberEpoch: 0, rebalanceTimeoutMs: 30_000, topicPartitions: [], subscribedTopicRegex: '(fo)\\1' })), 'INVALID_REGULAR_EXPRESSION');
  const joined = v1({ memberId: 'r', memberEpoch: 0, rebalanceTimeoutMs: 30_000, topicPartitions: [], subscribedTopicRegex: 'fo.*' });
  assert.equal(joined.memberEpoch, 1);
  // As Kafka 4.0, a regex new to the group is resolved after the heartbeat that brought it: the matches come with
  // the next heartbeat, in a new group epoch.
  assert.deepEqual(assignedNames(h, 'r'), []);
  const resolved = v1({ memberId: 'r', memberEpoch: 1, topicPartitions: [] });
  assert.equal(resolved.memberEpoch, 2);
  assert.deepEqual(assignedNames(h, 'r'), ['foo', 'food'], "'bar' and the internal topic do not match; 'fo.*' must match whole names");
  assert.equal(h.coord.describe('g').members[0]!.subscribedTopicRegex, 'fo.*');
  assert.deepEqual([...h.coord.subscribedTopics('g')!].sort(), ['foo', 'food']);
  // A partial match is no match: 'oo' alone matches nothing.
  const other = harness();
  other.hb({ memberId: 'p', memberEpoch: 0, rebalanceTimeoutMs: 30_000, topicPartitions: [], subscribedTopicRegex: 'oo' }, 1);
  other.hb({ memberId: 'p', memberEpoch: 1, topicPartitions: [] }, 1);
  assert.deepEqual(assignedNames(other, 'p'), []);
  // A second member with a regex the group already resolved gets its share at once.
  const second = harness();
  second.topics.set('food', { topicId: '00000000-0000-0000-0000-0000000000fd', numPartitions: 2 });
  second.hb({ memberId: 'a', memberEpoch: 0, rebalanceTimeoutMs: 30_000, topicPartitions: [], subscribedTopicRegex: 'fo.*' }, 1);
  second.hb({ memberId: 'a', memberEpoch: 1, topicPartitions: [] }, 1);
  second.hb({ memberId: 'b', memberEpoch: 0, rebalanceTimeoutMs: 30_000, topicPartitions: [], subscribedTopicRegex: 'fo.*' }, 1);
  assert.ok((second.coord.group('g')!.targetAssignment.get('b')?.size ?? 0) > 0, 'b has a target share in its first heartbeat');
  assert.deepEqual([...second.coord.subscribedTopics('g')!].sort(), ['foo', 'food']);

  // A topic created later joins the subscription at the next heartbeat (group epoch bumps).
  h.topics.set('fob', { topicId: '00000000-0000-0000-0000-0000000000fb', numPartitions: 1 });
  const next = v1({ memberId: 'r', memberEpoch: 2, topicPartitions: resolved.assignment!.topicPartitions });
  assert.equal(next.memberEpoch, 3);
  assert.deepEqual(assignedNames(h, 'r'), ['fob', 'foo', 'food']);
  // Deleted: it leaves the subscription.
  h.topics.delete('food');
  const after = v1({ memberId: 'r', memberEpoch: 3, topicPartitions: next.assignment!.topicPartitions });
  assert.ok(after.memberEpoch >= 3);
  const settled = v1({ memberId: 'r', memberEpoch: after.memberEpoch, topicPartitions: [] });
  assert.equal(settled.memberEpoch, 4);
  assert.deepEqual(assignedNames(h, 'r'), ['fob', 'foo']);

  // Switching to names with an empty regex drops the regex.
  const names = v1({ memberId: 'r', memberEpoch: 4, subscribedTopicNames: ['bar'], subscribedTopicRegex: '', topicPartitions: [] });
  assert.equal(names.errorCode, 0);
  assert.equal(h.coord.describe('g').members[0]!.subscribedTopicRegex, null);

  // The regex is persisted in the member record: replay rebuilds it.
  const r2 = harness();
  r2.hb({ memberId: 'x', memberEpoch: 0, rebalanceTimeoutMs: 30_000, topicPartitions: [], subscribedTopicRegex: 'ba.' }, 1);
  const copy = harness();
  for (const rec of r2.log) copy.coord.replay(consumerGroupRecordSerde.decode(consumerGroupRecordSerde.encode(rec))!);
  assert.equal(copy.coord.describe('g').members[0]!.subscribedTopicRegex, 'ba.');
  assert.deepEqual([...copy.coord.subscribedTopics('g')!], ['bar']);
});

test('group configs: consumer.heartbeat.interval.ms and consumer.session.timeout.ms of the group are used', () => {
  const h = harness({ sessionTimeoutMs: 45_000 });
  h.groupConfigs.set('g', { heartbeatIntervalMs: 7_000, sessionTimeoutMs: 50_000 });
  const a = join(h, ['foo']);
  assert.equal(a.heartbeatIntervalMs, 7_000);
  h.timers.advance(49_000);
  assert.ok(h.coord.group('g')!.members.has(a.memberId!), 'alive before its group session timeout');
  h.timers.advance(2_000);
  assert.equal(h.coord.group('g')!.members.size, 0, 'fenced after its group session timeout (50 s), not the broker default (45 s)');
  h.groupConfigs.delete('g');
  const b = join(h, ['foo']);
  assert.equal(b.heartbeatIntervalMs, 5_000, 'back to the broker default');
});

test('rack-aware assignment: broker.rack is every partition\'s rack; a member in it gets the extra partition', () => {
  const h = harness({ brokerRack: 'r1' });
  join(h, ['bar'], { memberId: 'a-remote', rackId: 'r2', serverAssignor: 'range' });
  join(h, ['bar'], { memberId: 'b-local', rackId: 'r1', serverAssignor: 'range' });
  const target = (id: string) => [...(h.coord.group('g')!.targetAssignment.get(id)?.values() ?? [])].flat().length;
  assert.equal(target('b-local'), 2, 'bar has 3 partitions: the member in rack r1 gets two');
  assert.equal(target('a-remote'), 1);
  const plain = harness();
  join(plain, ['bar'], { memberId: 'a-remote', rackId: 'r2', serverAssignor: 'range' });
  join(plain, ['bar'], { memberId: 'b-local', rackId: 'r1', serverAssignor: 'range' });
  assert.equal([...(plain.coord.group('g')!.targetAssignment.get('a-remote')?.values() ?? [])].flat().length, 2, "no broker.rack: member order decides ('a-remote' first)");
});
