import { test } from 'node:test';
import assert from 'node:assert/strict';
import { CAS_BATCH_SIZE, Controller, DEFAULT_CONTROLLER_CONFIG, type ControllerConfig } from '../../../src/cluster/controller.js';
import type { MetadataImage, PartitionState } from '../../../src/cluster/metadata.js';
import { initialPartitionState } from '../../../src/cluster/replica-assignment.js';
import { createLogger } from '../../../src/logger.js';
import { ErrorCode } from '../../../src/protocol/generated/error-codes.js';
import { MemoryClusterStore } from '../../helpers/memory-cluster-store.js';

// The store is the in-memory one with etcd's compare-and-swap and fencing semantics (test/helpers); these tests
// only use what EtcdClusterStore offers plus broker registration, lease expiry and direct partition writes.

const logger = createLogger('silent');
const CONFIG: ControllerConfig = { ...DEFAULT_CONTROLLER_CONFIG, autoLeaderRebalance: false };

function cluster(brokerIds: number[], controller = { nodeId: brokerIds[0]!, epoch: 3 }): MemoryClusterStore {
  const store = new MemoryClusterStore();
  for (const id of brokerIds) store.registerBroker(id);
  store.setController(controller.nodeId, controller.epoch);
  return store;
}

function startController(store: MemoryClusterStore, config: Partial<ControllerConfig> = {}, epoch = 3, nodeId = 1): Controller {
  const c = new Controller({ store, nodeId, epoch, config: { ...CONFIG, ...config }, logger });
  c.start();
  return c;
}

const live = (...ids: number[]): Set<number> => new Set(ids);
const part = (image: MetadataImage, topic: string, p: number): PartitionState => image.topics.get(topic)!.partitions[p]!;

test('a broker whose lease expires leaves every ISR and its partitions get the next in-sync replica as leader, fenced by the controller epoch', async () => {
  const store = cluster([1, 2, 3]);
  store.putTopic('t', [initialPartitionState([1, 2, 3], live(1, 2, 3)), initialPartitionState([2, 3, 1], live(1, 2, 3)), initialPartitionState([3, 1], live(1, 2, 3))]);
  const c = startController(store);
  try {
    await c.idle();
    assert.equal(store.writes.length, 0, 'nothing to repair while every broker is live');
    store.expireBroker(1);
    const image = await store.waitFor((img) => part(img, 't', 0).leader === 2);
    assert.deepEqual(part(image, 't', 0), { replicas: [1, 2, 3], isr: [2, 3], leader: 2, leaderEpoch: 1, partitionEpoch: 1, addingReplicas: [], removingReplicas: [] });
    await c.idle();
    const after = store.image();
    assert.deepEqual([part(after, 't', 1).isr, part(after, 't', 1).leader, part(after, 't', 1).leaderEpoch], [[2, 3], 2, 0], 'a follower only leaves the ISR');
    assert.deepEqual([part(after, 't', 2).isr, part(after, 't', 2).leader], [[3], 3]);
    assert.ok(store.writes.every((w) => w.controllerEpoch === 3 && w.ok));
    assert.equal(store.writes.length, 1, 'one transaction for the three partitions');
  } finally {
    c.stop();
  }
});

test('controlled shutdown moves leadership away; the last in-sync replica stays in the ISR with leader -1, and leads again when it is back', async () => {
  const store = cluster([1, 2]);
  store.putTopic('t', [initialPartitionState([1, 2], live(1, 2)), initialPartitionState([2], live(2))]);
  const c = startController(store);
  try {
    store.setShuttingDown(2);
    await store.waitFor((img) => part(img, 't', 1).leader === -1 && part(img, 't', 0).isr.length === 1);
    await c.idle();
    const image = store.image();
    assert.deepEqual([part(image, 't', 0).leader, part(image, 't', 0).isr], [1, [1]]);
    assert.deepEqual([part(image, 't', 1).leader, part(image, 't', 1).isr, part(image, 't', 1).leaderEpoch], [-1, [2], 1]);
    // The broker restarts: a new registration without shuttingDown.
    store.expireBroker(2);
    store.registerBroker(2);
    const back = await store.waitFor((img) => part(img, 't', 1).leader === 2);
    assert.equal(part(back, 't', 1).leaderEpoch, 2);
    assert.deepEqual(part(back, 't', 0).isr, [1], 'rejoining an ISR is the leader\'s decision, not the controller\'s');
  } finally {
    c.stop();
  }
});

test('a broker that restarted between two images is fenced like a lost one: out of the ISRs, its leadership re-elected', async () => {
  const store = cluster([1, 2]);
  store.putTopic('t', [initialPartitionState([2, 1], live(1, 2)), initialPartitionState([2], live(2)), initialPartitionState([1, 2], live(1, 2))]);
  const c = startController(store);
  try {
    await c.idle();
    store.restartBroker(2);
    const image = await store.waitFor((img) => part(img, 't', 0).leader === 1);
    assert.deepEqual(part(image, 't', 0).isr, [1]);
    await c.idle();
    const alone = part(store.image(), 't', 1);
    assert.deepEqual([alone.leader, alone.isr, alone.leaderEpoch, alone.partitionEpoch], [2, [2], 1, 1], 'the last replica leads again, in a new leader epoch');
    const followed = part(store.image(), 't', 2);
    assert.deepEqual([followed.leader, followed.isr, followed.leaderEpoch], [1, [1], 0], 'a restarted follower leaves the ISR');
    store.registerBroker(3);
    await store.waitFor((img) => img.brokers.has(3));
    await c.idle();
    assert.equal(store.writes.length, 1, 'a broker new to the cluster changes nothing');
  } finally {
    c.stop();
  }
});

test('a newly elected controller fences an ISR member that restarted while no controller ran, not one that only registered again in the same life', async () => {
  const store = cluster([1, 2, 3]);
  store.putTopic('t', [initialPartitionState([2, 1, 3], live(1, 2, 3)), initialPartitionState([1, 2, 3], live(1, 2, 3)), initialPartitionState([3, 1], live(1, 3))]);
  const first = startController(store);
  await first.idle();
  assert.equal(store.writes.length, 0);
  assert.deepEqual([...store.incarnations.keys()].sort(), [1, 2, 3], 'the lives accounted for are stored for the next controller');
  first.stop();
  // No controller (etcd was down, say): broker 2 restarts (a new life, which may have lost what it had not
  // flushed), broker 3 only registers again after losing its lease (same process, same log).
  store.restartBroker(2);
  store.reregisterBroker(3);
  store.setController(1, 4);
  await store.waitFor((img) => img.controller?.epoch === 4);
  const second = startController(store, {}, 4);
  try {
    const image = await store.waitFor((img) => part(img, 't', 0).leader === 1);
    assert.deepEqual([part(image, 't', 0).isr, part(image, 't', 0).leaderEpoch], [[1, 3], 1], 'the restarted leader is replaced by an in-sync replica');
    await second.idle();
    const after = store.image();
    assert.deepEqual(part(after, 't', 1).isr, [1, 3], 'a restarted follower leaves the ISR');
    const same = part(after, 't', 2);
    assert.deepEqual([same.leader, same.isr, same.leaderEpoch, same.partitionEpoch], [3, [3, 1], 0, 0], 'a broker that only registered again keeps its place');
    assert.equal(store.incarnations.get(2), after.brokers.get(2)!.incarnationId, 'the new life is accounted for');
    assert.ok(store.writes.every((w) => w.controllerEpoch === 4));
  } finally {
    second.stop();
  }
});

test('on start, partitions led by a broker missing from the image are repaired even though no image ever had it', async () => {
  const store = cluster([1, 2]);
  store.putTopic('t', [{ ...initialPartitionState([9, 1, 2], live(9, 1, 2)) }, initialPartitionState([9], live(9))]);
  const c = startController(store);
  try {
    const image = await store.waitFor((img) => part(img, 't', 0).leader === 1);
    assert.deepEqual(part(image, 't', 0).isr, [1, 2]);
    await c.idle();
    assert.deepEqual([part(store.image(), 't', 1).leader, part(store.image(), 't', 1).isr], [-1, [9]]);
  } finally {
    c.stop();
  }
});

test('unclean leader election: the broker-wide setting, overridden by the topic\'s unclean.leader.election.enable', async () => {
  const store = cluster([1, 2]);
  store.putTopic('dirty', [initialPartitionState([3, 1], live(3))], { 'unclean.leader.election.enable': 'true' });
  store.putTopic('clean', [initialPartitionState([3, 1], live(3))]);
  const c = startController(store);
  try {
    const image = await store.waitFor((img) => part(img, 'dirty', 0).leader === 1);
    assert.deepEqual(part(image, 'dirty', 0).isr, [1]);
    await c.idle();
    assert.deepEqual([part(store.image(), 'clean', 0).leader, part(store.image(), 'clean', 0).isr], [-1, [3]]);
  } finally {
    c.stop();
  }
});

test('a refused compare-and-swap (a leader changed the ISR meanwhile) is re-planned on the newer image', async () => {
  const store = cluster([1, 2, 3]);
  store.putTopic('t', [initialPartitionState([2, 3, 1], live(1, 2, 3))]);
  const c = startController(store);
  try {
    await c.idle();
    let raced = false;
    store.beforeCas = () => {
      if (raced) return;
      raced = true;
      // The leader (2) shrinks the ISR to [2, 1] just before the controller's write lands.
      const s = store.partition('t', 0);
      store.setPartition('t', 0, { ...s, isr: [2, 1], partitionEpoch: s.partitionEpoch + 1 });
    };
    store.expireBroker(2);
    const image = await store.waitFor((img) => part(img, 't', 0).leader === 1);
    assert.deepEqual(part(image, 't', 0).isr, [1], 'planned from the ISR the leader wrote');
    assert.equal(part(image, 't', 0).partitionEpoch, 2);
    assert.deepEqual(store.writes.map((w) => w.ok), [false, true]);
  } finally {
    c.stop();
  }
});

test('a deposed controller stops and its stale epoch cannot write', async () => {
  const store = cluster([1, 2]);
  store.putTopic('t', [initialPartitionState([2, 1], live(1, 2))]);
  const c = startController(store);
  await c.idle();
  store.setController(2, 4);
  await store.waitFor((img) => img.controller?.epoch === 4);
  await new Promise((r) => setImmediate(r));
  assert.equal(c.isActive, false);
  store.expireBroker(2);
  await store.waitFor((img) => !img.brokers.has(2));
  await c.idle();
  assert.equal(part(store.image(), 't', 0).leader, 2, 'nobody moved the leadership');
  assert.equal(store.writes.length, 0);
  // A write with the old epoch is refused by the store itself.
  assert.equal(await store.casPartitions([{ topic: 't', partition: 0, expectedPartitionEpoch: 0, next: { ...part(store.image(), 't', 0), leader: 1, partitionEpoch: 1 } }], 3), false);
  const results = await c.electLeaders([{ topic: 't', partition: 0 }], 'PREFERRED');
  assert.equal(results[0]!.partitionResult[0]!.errorCode, ErrorCode.NOT_CONTROLLER);
});

test('more changes than one transaction holds are written in batches', async () => {
  const store = cluster([1, 2]);
  const n = CAS_BATCH_SIZE * 2 + 7;
  store.putTopic('big', Array.from({ length: n }, () => initialPartitionState([1, 2], live(1, 2))));
  const c = startController(store);
  try {
    await c.idle();
    store.expireBroker(1);
    await store.waitFor((img) => img.topics.get('big')!.partitions.every((p) => p.leader === 2));
    await c.idle();
    assert.deepEqual(store.writes.map((w) => w.changes.length), [CAS_BATCH_SIZE, CAS_BATCH_SIZE, 7]);
  } finally {
    c.stop();
  }
});

test('ElectLeaders PREFERRED and UNCLEAN answer with Kafka\'s error codes', async () => {
  const store = cluster([1, 2, 3]);
  store.putTopic('t', [
    { ...initialPartitionState([1, 2], live(1, 2)), leader: 2 }, // 0: preferred 1 can lead
    initialPartitionState([1, 2], live(1, 2)), // 1: already the preferred leader
    { ...initialPartitionState([3, 2], live(2)), isr: [2], leader: 2 }, // 2: preferred 3 out of the ISR
  ]);
  store.putTopic('offline', [
    { ...initialPartitionState([4, 2], live(4)), isr: [4], leader: -1 }, // replica 2 live, out of the ISR
    { ...initialPartitionState([4, 5], live(4)), isr: [4], leader: -1 }, // no live replica
  ]);
  const c = startController(store);
  try {
    await c.idle();
    const codes = (rs: Awaited<ReturnType<Controller['electLeaders']>>): Record<string, number> =>
      Object.fromEntries(rs.flatMap((r) => r.partitionResult.map((p) => [`${r.topic}-${p.partitionId}`, p.errorCode])));
    const preferred = await c.electLeaders(
      [{ topic: 't', partition: 0 }, { topic: 't', partition: 1 }, { topic: 't', partition: 2 }, { topic: 't', partition: 9 }, { topic: 'nope', partition: 0 }],
      'PREFERRED',
    );
    assert.deepEqual(codes(preferred), {
      't-0': ErrorCode.NONE,
      't-1': ErrorCode.ELECTION_NOT_NEEDED,
      't-2': ErrorCode.PREFERRED_LEADER_NOT_AVAILABLE,
      't-9': ErrorCode.UNKNOWN_TOPIC_OR_PARTITION,
      'nope-0': ErrorCode.UNKNOWN_TOPIC_OR_PARTITION,
    });
    assert.equal(part(store.image(), 't', 0).leader, 1);
    assert.equal(part(store.image(), 't', 0).leaderEpoch, 1);
    // All partitions: the ones needing no election are left out.
    const all = await c.electLeaders(null, 'PREFERRED');
    assert.deepEqual(codes(all), { 't-2': ErrorCode.PREFERRED_LEADER_NOT_AVAILABLE, 'offline-0': ErrorCode.PREFERRED_LEADER_NOT_AVAILABLE, 'offline-1': ErrorCode.PREFERRED_LEADER_NOT_AVAILABLE });

    const unclean = await c.electLeaders([{ topic: 'offline', partition: 0 }, { topic: 'offline', partition: 1 }, { topic: 't', partition: 1 }], 'UNCLEAN');
    assert.deepEqual(codes(unclean), { 'offline-0': ErrorCode.NONE, 'offline-1': ErrorCode.ELIGIBLE_LEADERS_NOT_AVAILABLE, 't-1': ErrorCode.ELECTION_NOT_NEEDED });
    assert.deepEqual([part(store.image(), 'offline', 0).leader, part(store.image(), 'offline', 0).isr], [2, [2]]);
  } finally {
    c.stop();
  }
});

test('reassignments: started, listed, completed when the new replicas join the ISR, cancelled, with Kafka\'s errors', async () => {
  const store = cluster([1, 2, 3, 4]);
  store.putTopic('t', [initialPartitionState([1, 2], live(1, 2)), initialPartitionState([1, 2, 3], live(1, 2, 3)), initialPartitionState([2, 3], live(2, 3))]);
  const c = startController(store);
  try {
    await c.idle();
    const res = await c.alterReassignments([
      { name: 't', partitions: [{ partitionIndex: 0, replicas: [3, 4] }, { partitionIndex: 1, replicas: [1, 3] }, { partitionIndex: 2, replicas: null }, { partitionIndex: 7, replicas: [1] }] },
      { name: 'bad', partitions: [{ partitionIndex: 0, replicas: [1] }] },
    ]);
    const byPartition = Object.fromEntries(res.flatMap((t) => t.partitions.map((p) => [`${t.name}-${p.partitionIndex}`, p.errorCode])));
    assert.deepEqual(byPartition, {
      't-0': ErrorCode.NONE,
      't-1': ErrorCode.NONE,
      't-2': ErrorCode.NO_REASSIGNMENT_IN_PROGRESS,
      't-7': ErrorCode.UNKNOWN_TOPIC_OR_PARTITION,
      'bad-0': ErrorCode.UNKNOWN_TOPIC_OR_PARTITION,
    });
    const invalid = await c.alterReassignments([{ name: 't', partitions: [{ partitionIndex: 2, replicas: [2, 9] }, { partitionIndex: 1, replicas: [] }] }]);
    assert.deepEqual(invalid[0]!.partitions.map((p) => [p.errorCode, p.errorMessage]), [
      [ErrorCode.INVALID_REPLICA_ASSIGNMENT, 'The manual partition assignment includes broker 9, but no such broker is registered.'],
      [ErrorCode.INVALID_REPLICA_ASSIGNMENT, 'The manual partition assignment includes an empty replica list.'],
    ]);

    // Partition 1 only drops replica 2: done at once. Partition 0 adds 3 and 4: in progress.
    assert.deepEqual(part(store.image(), 't', 1).replicas, [1, 3]);
    assert.deepEqual(c.listReassignments(null), [{ name: 't', partitions: [{ partitionIndex: 0, replicas: [3, 4, 1, 2], addingReplicas: [3, 4], removingReplicas: [1, 2] }] }]);
    assert.deepEqual(c.listReassignments([{ name: 't', partitionIndexes: [1, 2, 99] }, { name: 'nope', partitionIndexes: [0] }]), []);

    // The leader (1) lets 3 into the ISR: not complete; then 4: complete, and 1 hands leadership to 3.
    const s = store.partition('t', 0);
    store.setPartition('t', 0, { ...s, isr: [1, 2, 3], partitionEpoch: s.partitionEpoch + 1 });
    await store.waitFor((img) => part(img, 't', 0).isr.length === 3);
    await c.idle();
    assert.deepEqual(part(store.image(), 't', 0).addingReplicas, [3, 4]);
    const s2 = store.partition('t', 0);
    store.setPartition('t', 0, { ...s2, isr: [1, 2, 3, 4], partitionEpoch: s2.partitionEpoch + 1 });
    const done = await store.waitFor((img) => part(img, 't', 0).addingReplicas.length === 0);
    assert.deepEqual([part(done, 't', 0).replicas, part(done, 't', 0).isr, part(done, 't', 0).leader], [[3, 4], [3, 4], 3]);
    assert.deepEqual(c.listReassignments(null), []);

    // Cancel: back to the original replicas.
    await c.alterReassignments([{ name: 't', partitions: [{ partitionIndex: 2, replicas: [1, 4] }] }]);
    assert.deepEqual(c.listReassignments([{ name: 't', partitionIndexes: [2] }])[0]!.partitions[0]!.addingReplicas, [1, 4]);
    const cancelled = await c.alterReassignments([{ name: 't', partitions: [{ partitionIndex: 2, replicas: null }] }]);
    assert.equal(cancelled[0]!.partitions[0]!.errorCode, ErrorCode.NONE);
    assert.deepEqual([part(store.image(), 't', 2).replicas, part(store.image(), 't', 2).leader], [[2, 3], 2]);
  } finally {
    c.stop();
  }
});

test('auto leader rebalance moves leadership back to preferred replicas above leader.imbalance.per.broker.percentage', async () => {
  const store = cluster([1, 2]);
  // Broker 1 is preferred for 10 partitions and leads 9: 10 % imbalance, not above the threshold.
  store.putTopic('t', Array.from({ length: 10 }, (_, i) => ({ ...initialPartitionState([1, 2], live(1, 2)), leader: i === 0 ? 2 : 1 })));
  const c = startController(store, { autoLeaderRebalance: true, leaderImbalanceCheckIntervalMs: 60_000 });
  try {
    await c.idle();
    assert.equal(await c.checkLeaderImbalance(), 0);
    const s = store.partition('t', 1);
    store.setPartition('t', 1, { ...s, leader: 2, leaderEpoch: 1, partitionEpoch: 1 });
    await store.waitFor((img) => part(img, 't', 1).leader === 2);
    assert.equal(await c.checkLeaderImbalance(), 2, '20 % > 10 %: both partitions move');
    assert.ok(store.image().topics.get('t')!.partitions.every((p) => p.leader === 1));
  } finally {
    c.stop();
  }
  // The timer runs the same check.
  const s = store.partition('t', 3);
  store.setPartition('t', 3, { ...s, leader: 2, leaderEpoch: s.leaderEpoch + 1, partitionEpoch: s.partitionEpoch + 1 });
  store.setPartition('t', 4, { ...store.partition('t', 4), leader: 2, partitionEpoch: store.partition('t', 4).partitionEpoch + 1 });
  const timed = startController(store, { autoLeaderRebalance: true, leaderImbalanceCheckIntervalMs: 20 });
  try {
    await store.waitFor((img) => img.topics.get('t')!.partitions.every((p) => p.leader === 1));
  } finally {
    timed.stop();
  }
});
