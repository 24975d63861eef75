// Per-partition ownership in the coordinator runtime (onElection / onResignation, epochs, loading,
// NOT_LEADER_OR_FOLLOWER appends) and the state machines' unload(partition).
import { test, describe } from 'node:test';
import assert from 'node:assert/strict';
import { KafkaError } from '../../../src/errors.js';
import { ErrorCode } from '../../../src/protocol/generated/error-codes.js';
import { CoordinatorRuntime, partitionFor, type CoordinatorRecord, type TxnProducer } from '../../../src/coordinator/runtime.js';
import { GroupCoordinator, DEFAULT_GROUP_CONFIG } from '../../../src/coordinator/group/group-coordinator.js';
import { groupRecordSerde } from '../../../src/coordinator/group/group-records.js';
import { ManualScheduler } from '../../../src/coordinator/scheduler.js';
import { ConsumerGroupCoordinator } from '../../../src/coordinator/consumer-group/consumer-group-coordinator.js';
import { TransactionCoordinator } from '../../../src/coordinator/transaction/transaction-coordinator.js';
import type { JoinGroupInput } from '../../../src/coordinator/group/group-coordinator.js';
import type { ConsumerGroupResult } from '../../../src/coordinator/consumer-group/consumer-group-coordinator.js';
import { harness, settle, MemoryLog, type Harness } from './support.js';

const PARTITIONS = 4;

/** Two group ids on different partitions. */
function twoGroups(): [string, string] {
  const a = 'group-a';
  for (let i = 0; ; i++) {
    const b = `group-b${i}`;
    if (partitionFor(b, PARTITIONS) !== partitionFor(a, PARTITIONS)) return [a, b];
  }
}

function joinInput(groupId: string, memberId: string): JoinGroupInput {
  return {
    groupId, memberId, groupInstanceId: null, clientId: 'c', clientHost: '/127.0.0.1', sessionTimeoutMs: 10_000, rebalanceTimeoutMs: 30_000,
    protocolType: 'consumer', protocols: [{ name: 'range', metadata: Buffer.alloc(0) }], requireKnownMemberId: false, supportsSkipAssignment: false,
  };
}

/** A commit without membership (records at once, no waiting). */
function commitInput(groupId: string) {
  return {
    groupId, generationId: -1, memberId: '', groupInstanceId: null, retentionTimeMs: -1,
    topics: [{ name: 't', partitions: [{ partition: 0, offset: 1, leaderEpoch: -1, metadata: '' }] }],
  };
}

/** A group with one Stable member (joined and synced, so its metadata is in the log); returns the member id. */
async function stableMember(h: Harness, groupId: string): Promise<string> {
  const joining = h.runtime.run(() => h.gc.joinGroup(joinInput(groupId, '')), groupId);
  await settle();
  h.clock.advance(0); // the initial rebalance delay
  const joined = await joining;
  assert.equal(joined.errorCode, ErrorCode.NONE);
  const synced = await h.runtime.run(() => h.gc.syncGroup({
    groupId, generationId: joined.generationId, memberId: joined.memberId, groupInstanceId: null, protocolType: null, protocolName: null,
    assignments: [{ memberId: joined.memberId, assignment: Buffer.from('A') }],
  }), groupId);
  assert.equal(synced.errorCode, ErrorCode.NONE);
  return joined.memberId;
}

describe('CoordinatorRuntime ownership', () => {
  test('load elects every partition; a resignation unloads one partition only, with its timers; re-election replays it', async () => {
    const h = await harness({}, new MemoryLog(PARTITIONS));
    const [a, b] = twoGroups();
    const pa = partitionFor(a, PARTITIONS);
    assert.deepEqual(h.runtime.ownedPartitions(), [0, 1, 2, 3]);
    const ma = await stableMember(h, a);
    const mb = await stableMember(h, b);
    assert.ok(h.clock.has(`heartbeat:${a}:${ma}`) && h.clock.has(`heartbeat:${b}:${mb}`));

    h.runtime.onResignation(pa, 1);
    assert.equal(h.runtime.isOwned(pa), false);
    assert.equal(h.gc.group(a), undefined);
    assert.ok(h.gc.group(b), 'groups of other partitions stay');
    assert.equal(h.clock.has(`heartbeat:${a}:${ma}`), false, 'the unloaded group timers are cancelled');
    assert.ok(h.clock.has(`heartbeat:${b}:${mb}`));
    await assert.rejects(h.runtime.run(() => h.gc.heartbeat(a, 1, ma, null), a), { kafkaError: 'NOT_COORDINATOR' });
    await assert.rejects(h.runtime.query(() => h.gc.describeGroup(a), a), { kafkaError: 'NOT_COORDINATOR' });
    assert.equal(await h.runtime.run(() => h.gc.heartbeat(b, 1, mb, null), b), ErrorCode.NONE);

    await h.runtime.onElection(pa, 0); // stale: older than the resignation
    assert.equal(h.runtime.isOwned(pa), false);
    const loading = h.runtime.onElection(pa, 2);
    assert.equal(h.runtime.isLoading(pa), true);
    await assert.rejects(h.runtime.run(() => h.gc.heartbeat(a, 1, ma, null), a), { kafkaError: 'COORDINATOR_LOAD_IN_PROGRESS' });
    await loading;
    assert.equal(h.runtime.epochOf(pa), 2);
    assert.equal(h.gc.group(a)?.members.has(ma), true, 'the group is replayed from the log');
    assert.ok(h.clock.has(`heartbeat:${a}:${ma}`), 'loaded members get a session again');
    assert.equal(await h.runtime.run(() => h.gc.heartbeat(a, 1, ma, null), a), ErrorCode.NONE);

    h.runtime.onResignation(pa, 2); // stale: not newer than the epoch elected
    assert.equal(h.runtime.isOwned(pa), true);
    await h.runtime.onElection(pa, 3); // already owned: only the epoch moves
    assert.equal(h.runtime.epochOf(pa), 3);
  });

  test('elected from outside (a cluster): a request before any election claims nothing; only elected partitions serve', async () => {
    const log = new MemoryLog(PARTITIONS);
    const runtime = new CoordinatorRuntime(log, groupRecordSerde, new ManualScheduler());
    const gc = new GroupCoordinator(runtime.timers, { ...DEFAULT_GROUP_CONFIG, initialRebalanceDelayMs: 0 }, { partitionOf: (g) => runtime.partitionOf(g) });
    runtime.bind(gc);
    runtime.electedFromOutside();
    const [a, b] = twoGroups();
    // A request that reaches the broker first must not make it coordinator of every partition (as load() does
    // for a single node): another broker leads them.
    await assert.rejects(runtime.query(() => gc.describeGroup(a), a), { kafkaError: 'NOT_COORDINATOR' });
    await runtime.ensureTopic();
    assert.deepEqual(runtime.ownedPartitions(), []);
    assert.equal(runtime.serves(a), false);
    await runtime.onElection(partitionFor(a, PARTITIONS), 3);
    assert.deepEqual(runtime.ownedPartitions(), [partitionFor(a, PARTITIONS)]);
    assert.equal(runtime.serves(a), true);
    assert.equal(runtime.serves(b), false);
    await assert.rejects(runtime.run(() => gc.commitOffsets(commitInput(b)), b), { kafkaError: 'NOT_COORDINATOR' });
  });

  test('members waiting in JoinGroup are answered NOT_COORDINATOR when their partition is resigned', async () => {
    const h = await harness({ initialRebalanceDelayMs: 3000 }, new MemoryLog(PARTITIONS));
    const [a] = twoGroups();
    const waiting = h.runtime.run(() => h.gc.joinGroup(joinInput(a, '')), a);
    await settle();
    assert.ok(h.clock.has(`join:${a}`));
    h.runtime.onResignation(partitionFor(a, PARTITIONS));
    assert.equal((await waiting).errorCode, ErrorCode.NOT_COORDINATOR);
    assert.equal(h.clock.has(`join:${a}`), false);
  });

  test('an append refused with NOT_LEADER_OR_FOLLOWER answers NOT_COORDINATOR and resigns the partition, without a reload', async () => {
    class NotLeaderLog extends MemoryLog {
      refuse = -1;
      override async append(partition: number, records: CoordinatorRecord[], producer?: TxnProducer): Promise<void> {
        if (partition === this.refuse) throw new KafkaError('NOT_LEADER_OR_FOLLOWER', `not the leader of ${partition}`);
        return super.append(partition, records, producer);
      }
    }
    const log = new NotLeaderLog(PARTITIONS);
    const h = await harness({}, log);
    const [a, b] = twoGroups();
    const mb = await stableMember(h, b);
    let resets = 0;
    const reset = h.gc.reset.bind(h.gc);
    h.gc.reset = () => {
      resets++;
      reset();
    };
    log.refuse = partitionFor(a, PARTITIONS);
    await assert.rejects(h.runtime.run(() => h.gc.commitOffsets(commitInput(a)), a), { kafkaError: 'NOT_COORDINATOR' });
    assert.equal(h.runtime.isOwned(log.refuse), false);
    assert.equal(resets, 0, 'no reload from a log this broker no longer leads');
    assert.equal(h.gc.group(a), undefined);
    assert.ok(h.gc.group(b));
    await h.runtime.onElection(log.refuse, 0);
    assert.equal(h.runtime.isOwned(log.refuse), false, 'the epoch it lost is stale');
    // Any other failure still reloads the machine (COORDINATOR_NOT_AVAILABLE).
    log.failNext = true;
    await assert.rejects(h.runtime.run(() => h.gc.commitOffsets({ ...commitInput(b), generationId: 1, memberId: mb }), b), { kafkaError: 'COORDINATOR_NOT_AVAILABLE' });
    assert.equal(resets, 1);
  });

  test('an operation whose partition is resigned while its records are appended answers NOT_COORDINATOR', async () => {
    const h = await harness({}, new MemoryLog(PARTITIONS));
    const [a] = twoGroups();
    const committed = h.runtime.run(() => h.gc.commitOffsets(commitInput(a)), a);
    await Promise.resolve();
    await Promise.resolve();
    h.runtime.onResignation(partitionFor(a, PARTITIONS));
    await assert.rejects(committed, { kafkaError: 'NOT_COORDINATOR' });
  });
});

describe('state machines unload a partition', () => {
  test('ConsumerGroupCoordinator.unload drops the selected groups and their members timers', () => {
    const pending = new Map<string, () => ConsumerGroupResult<unknown>>();
    const timers = {
      now: () => 1000,
      schedule: (key: string, _ms: number, op: () => ConsumerGroupResult<unknown>) => void pending.set(key, op),
      cancel: (key: string) => void pending.delete(key),
    };
    const coord = new ConsumerGroupCoordinator(timers, (name) => (name === 'foo' ? { topicId: '00000000-0000-0000-0000-00000000f001', numPartitions: 2 } : undefined));
    const hb = (groupId: string, memberId: string) => coord.heartbeat({
      groupId, memberId, memberEpoch: 0, instanceId: null, rackId: null, rebalanceTimeoutMs: 30_000,
      subscribedTopicNames: ['foo'], subscribedTopicRegex: null, serverAssignor: null, topicPartitions: [],
    }, { clientId: 'c', clientHost: '/h' }, 1);
    hb('g1', 'm1');
    hb('g2', 'm2');
    assert.ok([...pending.keys()].some((k) => k.includes('g1')));
    coord.unload((groupId) => groupId === 'g1');
    assert.equal(coord.group('g1'), undefined);
    assert.ok(coord.group('g2'));
    assert.equal([...pending.keys()].some((k) => k.includes('g1')), false, 'no timer left for the unloaded group');
    assert.ok([...pending.keys()].some((k) => k.includes('g2')));
  });

  test('TransactionCoordinator.unload forgets the selected ids; markers carry the epoch of their partition', () => {
    let pid = 100n;
    const epochs: Record<string, number> = { t1: 4, t2: 9 };
    const coord = new TransactionCoordinator({
      now: () => 1000, allocateProducerId: () => pid++, partitionForGroup: () => 0, coordinatorEpoch: (id) => epochs[id]!,
    });
    for (const id of ['t1', 't2']) {
      coord.initProducerId({ transactionalId: id, transactionTimeoutMs: 60_000, producerId: -1n, producerEpoch: -1 }, 4);
      const m = coord.get(id)!;
      coord.addPartitionsToTxn({
        v3AndBelowTransactionalId: id, v3AndBelowProducerId: m.producerId, v3AndBelowProducerEpoch: m.producerEpoch,
        v3AndBelowTopics: [{ name: 'x', partitions: [0] }], transactions: [],
      }, 3);
      const ended = coord.endTxn({ transactionalId: id, producerId: m.producerId, producerEpoch: m.producerEpoch, committed: true }, 3);
      assert.equal(ended.markers?.coordinatorEpoch, epochs[id]);
    }
    assert.deepEqual(coord.pendingMarkers((id) => id === 't2').map((m) => [m.transactionalId, m.coordinatorEpoch]), [['t2', 9]]);
    coord.unload((id) => id === 't1');
    assert.equal(coord.get('t1'), undefined);
    assert.equal(coord.get('t2')?.state, 'PrepareCommit');
  });
});
