import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import {
  assignReplicas,
  initialPartitionState,
  validateCreatePartitionsAssignments,
  validateCreateTopicAssignments,
  validateManualReplicas,
  type PlacementBroker,
} from '../../../src/cluster/replica-assignment.js';
import { KafkaError } from '../../../src/errors.js';

const brokers = (ids: number[], rack: (id: number) => string | null = () => null): PlacementBroker[] => ids.map((nodeId) => ({ nodeId, rack: rack(nodeId) }));
const zero = (): number => 0;

function kafkaError(name: string, message?: string | RegExp): (err: unknown) => boolean {
  return (err) => {
    assert.ok(err instanceof KafkaError, `expected a KafkaError, got ${String(err)}`);
    assert.equal(err.kafkaError, name);
    if (typeof message === 'string') assert.equal(err.message, message);
    else if (message) assert.match(err.message, message);
    return true;
  };
}

test('rack-unaware placement walks the brokers from the start index with a follower shift that grows every round (Kafka AdminUtils)', () => {
  // Kafka's own expectation for 5 brokers, 10 partitions, RF 3, start index 0.
  assert.deepEqual(assignReplicas(brokers([0, 1, 2, 3, 4]), 10, 3, { random: zero }), [
    [0, 1, 2],
    [1, 2, 3],
    [2, 3, 4],
    [3, 4, 0],
    [4, 0, 1],
    [0, 2, 3],
    [1, 3, 4],
    [2, 4, 0],
    [3, 0, 1],
    [4, 1, 2],
  ]);
  // Broker ids are sorted first, whatever the order given.
  assert.deepEqual(assignReplicas(brokers([4, 2, 0, 3, 1]), 10, 3, { random: zero }), assignReplicas(brokers([0, 1, 2, 3, 4]), 10, 3, { random: zero }));
});

test('replication factor and partition count errors carry Kafka\'s codes and messages', () => {
  assert.throws(
    () => assignReplicas(brokers([1, 2]), 3, 3),
    kafkaError('INVALID_REPLICATION_FACTOR', 'Unable to replicate the partition 3 time(s): The target replication factor of 3 cannot be reached because only 2 broker(s) are registered.'),
  );
  assert.throws(() => assignReplicas([], 1, 1), kafkaError('INVALID_REPLICATION_FACTOR', /only 0 broker\(s\) are registered/));
  assert.throws(() => assignReplicas(brokers([1, 2]), 3, 0), kafkaError('INVALID_REPLICATION_FACTOR', 'Replication factor was set to an invalid non-positive value.'));
  assert.throws(() => assignReplicas(brokers([1, 2]), 0, 1), kafkaError('INVALID_PARTITIONS', 'Number of partitions was set to an invalid non-positive value.'));
  assert.throws(() => assignReplicas(brokers([1, 2]), -5, 1), kafkaError('INVALID_PARTITIONS'));
});

test('leadership and replicas spread evenly: with 6 brokers and 60 partitions each broker leads 10 and holds 30 replicas', () => {
  for (const seed of [0.1, 0.5, 0.93]) {
    const out = assignReplicas(brokers([1, 2, 3, 4, 5, 6]), 60, 3, { random: () => seed });
    const leads = new Map<number, number>();
    const holds = new Map<number, number>();
    for (const r of out) {
      leads.set(r[0]!, (leads.get(r[0]!) ?? 0) + 1);
      for (const id of r) holds.set(id, (holds.get(id) ?? 0) + 1);
    }
    assert.deepEqual([...leads.values()], [10, 10, 10, 10, 10, 10]);
    assert.deepEqual([...holds.values()], [30, 30, 30, 30, 30, 30]);
  }
});

test('rack-aware placement puts each partition on min(rf, racks) racks and alternates racks in the walk', () => {
  const rackOf = (id: number): string => ['a', 'b', 'c'][id % 3]!;
  const six = brokers([0, 1, 2, 3, 4, 5], rackOf);
  const out = assignReplicas(six, 12, 3, { random: zero });
  for (const r of out) assert.equal(new Set(r.map(rackOf)).size, 3, `replicas ${r} span 3 racks`);
  // Leaders follow the rack-alternated list: a0, b1, c2, a3, b4, c5.
  assert.deepEqual(out.slice(0, 6).map((r) => r[0]), [0, 1, 2, 3, 4, 5]);
  // Uneven racks: rack x has 3 brokers, rack y one; RF 2 still spans both racks.
  const uneven = brokers([1, 2, 3, 4], (id) => (id === 4 ? 'y' : 'x'));
  for (const r of assignReplicas(uneven, 8, 2, { random: () => 0.7 })) {
    assert.equal(new Set(r.map((id) => (id === 4 ? 'y' : 'x'))).size, 2, `replicas ${r}`);
  }
  // RF above the rack count: every rack used, no broker twice.
  for (const r of assignReplicas(brokers([1, 2, 3, 4], (id) => (id <= 2 ? 'x' : 'y')), 8, 3, { random: () => 0.3 })) {
    assert.equal(new Set(r).size, 3);
    assert.equal(new Set(r.map((id) => (id <= 2 ? 'x' : 'y'))).size, 2);
  }
});

test('mixed racks: brokers without a rack count as one more rack, as Kafka\'s KRaft placer does', () => {
  const rackOf = (id: number): string | null => (id <= 2 ? 'a' : null);
  const out = assignReplicas(brokers([1, 2, 3], rackOf), 6, 2, { random: zero });
  for (const r of out) assert.equal(new Set(r.map(rackOf)).size, 2, `replicas ${r} span rack a and the rack-less broker`);
});

test('new partitions of an existing topic continue its walk from partition 0\'s first replica', () => {
  const b = brokers([1, 2, 3, 4, 5]);
  // random() 0.45 gives start index 2 and shift 2 (broker 3 leads partition 0); Kafka's addPartitions uses
  // partition 0's first replica's position for both, so the new partitions are the ones a bigger topic had got.
  const all = assignReplicas(b, 10, 2, { random: () => 0.45 });
  assert.equal(all[0]![0], 3);
  const more = assignReplicas(b, 6, 2, { existing: all.slice(0, 4), random: () => 0.99 });
  assert.deepEqual(more, all.slice(4));
  // The first replica left the cluster: the next id up takes its place in the walk.
  const without3 = brokers([1, 2, 4, 5]);
  assert.deepEqual(assignReplicas(without3, 1, 1, { existing: [[3, 1]] }), assignReplicas(without3, 1, 1, { startPartitionId: 1, random: () => 0.5 }));
});

test('property: replicas are distinct registered brokers, RF long; leaders differ by at most one; with racks every partition spans min(rf, racks)', () => {
  fc.assert(
    fc.property(
      fc.integer({ min: 1, max: 12 }),
      fc.integer({ min: 1, max: 60 }),
      fc.integer({ min: 1, max: 12 }),
      fc.integer({ min: 0, max: 4 }),
      fc.double({ min: 0, max: 0.999, noNaN: true }),
      (n, partitions, rfWanted, numRacks, seed) => {
        const rf = Math.min(rfWanted, n);
        const rackOf = (id: number): string | null => (numRacks === 0 ? null : `r${id % numRacks}`);
        const ids = Array.from({ length: n }, (_, i) => 100 + i * 7);
        const out = assignReplicas(brokers(ids, rackOf), partitions, rf, { random: () => seed });
        assert.equal(out.length, partitions);
        const leads = new Map<number, number>(ids.map((id) => [id, 0]));
        const racks = new Set(ids.map(rackOf)).size;
        for (const r of out) {
          assert.equal(r.length, rf);
          assert.equal(new Set(r).size, rf);
          for (const id of r) assert.ok(ids.includes(id));
          leads.set(r[0]!, leads.get(r[0]!)! + 1);
          assert.equal(new Set(r.map(rackOf)).size, Math.min(rf, racks));
        }
        const counts = [...leads.values()];
        assert.ok(Math.max(...counts) - Math.min(...counts) <= 1, `leaders ${counts}`);
        if (numRacks === 0 && partitions % n === 0) {
          // Whole rounds without racks: every broker holds exactly partitions * rf / n replicas.
          const holds = new Map<number, number>();
          for (const r of out) for (const id of r) holds.set(id, (holds.get(id) ?? 0) + 1);
          for (const id of ids) assert.equal(holds.get(id) ?? 0, (partitions * rf) / n);
        }
      },
    ),
    { numRuns: 300 },
  );
});

test('manual assignments are checked with Kafka\'s INVALID_REPLICA_ASSIGNMENT messages', () => {
  const registered = new Set([1, 2, 3]);
  assert.throws(() => validateManualReplicas([], registered), kafkaError('INVALID_REPLICA_ASSIGNMENT', 'The manual partition assignment includes an empty replica list.'));
  assert.throws(() => validateManualReplicas([1, 9], registered), kafkaError('INVALID_REPLICA_ASSIGNMENT', 'The manual partition assignment includes broker 9, but no such broker is registered.'));
  assert.throws(() => validateManualReplicas([2, 1, 2], registered), kafkaError('INVALID_REPLICA_ASSIGNMENT', 'The manual partition assignment includes the broker 2 more than once.'));
  assert.throws(
    () => validateManualReplicas([1, 2], registered, 3),
    kafkaError('INVALID_REPLICA_ASSIGNMENT', 'The manual partition assignment includes a partition with 2 replica(s), but this is not consistent with previous partitions, which have 3 replica(s).'),
  );
  validateManualReplicas([3, 1], registered, 2);

  const live = new Set([1, 2]);
  assert.deepEqual(validateCreateTopicAssignments([{ partitionIndex: 1, brokerIds: [2, 1] }, { partitionIndex: 0, brokerIds: [1, 3] }], registered, live), [[1, 3], [2, 1]]);
  assert.throws(() => validateCreateTopicAssignments([{ partitionIndex: 0, brokerIds: [1] }, { partitionIndex: 0, brokerIds: [2] }], registered, live), kafkaError('INVALID_REPLICA_ASSIGNMENT', 'Found multiple manual partition assignments for partition 0'));
  assert.throws(() => validateCreateTopicAssignments([{ partitionIndex: 0, brokerIds: [1] }, { partitionIndex: 2, brokerIds: [2] }], registered, live), kafkaError('INVALID_REPLICA_ASSIGNMENT', 'partitions should be a consecutive 0-based integer sequence'));
  assert.throws(() => validateCreateTopicAssignments([{ partitionIndex: 0, brokerIds: [1, 2] }, { partitionIndex: 1, brokerIds: [2] }], registered, live), kafkaError('INVALID_REPLICA_ASSIGNMENT', /not consistent with previous partitions, which have 2 replica/));
  assert.throws(
    () => validateCreateTopicAssignments([{ partitionIndex: 0, brokerIds: [3] }], registered, live),
    kafkaError('INVALID_REPLICA_ASSIGNMENT', 'All brokers specified in the manual partition assignment for partition 0 are fenced or in controlled shutdown.'),
  );

  assert.deepEqual(validateCreatePartitionsAssignments([[2, 1], [1, 3]], 2, 4, 2, registered, live), [[2, 1], [1, 3]]);
  assert.throws(() => validateCreatePartitionsAssignments([[2, 1]], 2, 4, 2, registered, live), kafkaError('INVALID_REPLICA_ASSIGNMENT', 'Attempted to add 2 additional partition(s), but only 1 assignment(s) were specified.'));
  assert.throws(() => validateCreatePartitionsAssignments([[2, 1], [3]], 2, 4, 2, registered, live), kafkaError('INVALID_REPLICA_ASSIGNMENT', /with 1 replica\(s\)/));
  assert.throws(() => validateCreatePartitionsAssignments([[2, 1], [3, 3]], 2, 4, 2, registered, live), kafkaError('INVALID_REPLICA_ASSIGNMENT', /broker 3 more than once/));
  assert.throws(() => validateCreatePartitionsAssignments([[2, 1], [3]], 2, 4, 1, new Set([1, 2, 3]), live), kafkaError('INVALID_REPLICA_ASSIGNMENT', /with 2 replica/));
});

test('a new partition is led by its first live replica with every live replica in sync, epochs 0', () => {
  assert.deepEqual(initialPartitionState([3, 1, 2], new Set([1, 2, 3])), { replicas: [3, 1, 2], isr: [3, 1, 2], leader: 3, leaderEpoch: 0, partitionEpoch: 0, addingReplicas: [], removingReplicas: [] });
  const partial = initialPartitionState([3, 1, 2], new Set([1, 2]));
  assert.equal(partial.leader, 1);
  assert.deepEqual(partial.isr, [1, 2]);
  const none = initialPartitionState([3, 1], new Set());
  assert.equal(none.leader, -1);
  assert.deepEqual(none.isr, [3], 'the ISR is never empty');
});
