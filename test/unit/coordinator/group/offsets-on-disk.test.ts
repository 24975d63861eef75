// The group coordinator's offsets over a real __consumer_offsets on disk (LogManager in a temp dir, clock on
// a ManualScheduler): transactional offsets across an unclean restart between EndTxn and its markers, and
// the retention of a KIP-848 consumer group's offsets.
import { test, describe, beforeEach, afterEach } from 'node:test';
import assert from 'node:assert/strict';
import { cpSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { resolveBrokerConfig } from '../../../../src/server/config.js';
import { TopicStore } from '../../../../src/storage/topic-store.js';
import { LogManager } from '../../../../src/storage/log-manager.js';
import { TopicManager } from '../../../../src/server/topic-manager.js';
import { LocalPartitions } from '../../../../src/server/local-partitions.js';
import { ManualScheduler } from '../../../../src/coordinator/scheduler.js';
import { GROUP_METADATA_TOPIC, GroupCoordinatorService } from '../../../../src/coordinator/group/group-coordinator-service.js';
import { TransactionCoordinatorService, transactionServiceConfig } from '../../../../src/coordinator/transaction/transaction-coordinator-service.js';
import type { ConsumerGroupHeartbeatRequest } from '../../../../src/protocol/generated/consumer-group-heartbeat-request.js';
import { ErrorCode } from '../../../../src/protocol/generated/error-codes.js';

interface Broker {
  logs: LogManager;
  topics: TopicManager;
  groups: GroupCoordinatorService;
  txns: TransactionCoordinatorService;
}

describe('group offsets on disk', () => {
  const dirs: string[] = [];
  const open: Broker[] = [];
  let clock: ManualScheduler;
  let nextId = 100n;
  const producerIds = { generate: () => nextId++ };
  const { values: config } = resolveBrokerConfig({
    overrides: { 'offsets.topic.num.partitions': 3, 'transaction.state.log.num.partitions': 2, 'offsets.retention.minutes': 1, 'offsets.retention.check.interval.ms': 5000 },
  });

  const tempDir = (): string => {
    const d = mkdtempSync(join(tmpdir(), 'tributary-offsets-disk-'));
    dirs.push(d);
    return d;
  };

  /** A broker's coordinators over the data dir; `groupsOnly` loads the group coordinator alone (no marker rewrite). */
  async function start(dir: string, groupsOnly = false): Promise<Broker> {
    const store = TopicStore.open(dir, { nodeId: 1 });
    const defaults = Object.fromEntries(config);
    const logs = new LogManager({ dataDir: dir, brokerDefaults: defaults });
    await logs.load(store.topics().map((t) => ({ name: t.name, partitions: t.partitions, config: t.config })));
    const topics = new TopicManager(store, logs, defaults);
    const groups = new GroupCoordinatorService(new LocalPartitions(topics), config, clock);
    await groups.runtime.load();
    const txns = new TransactionCoordinatorService(new LocalPartitions(topics), groups, transactionServiceConfig(config), producerIds, clock);
    if (!groupsOnly) await txns.load();
    const b = { logs, topics, groups, txns };
    open.push(b);
    return b;
  }

  async function stop(b: Broker): Promise<void> {
    open.splice(open.indexOf(b), 1);
    await b.txns.close();
    b.groups.close();
    await b.logs.close();
  }

  beforeEach(() => {
    clock = new ManualScheduler();
  });
  afterEach(async () => {
    for (const b of [...open]) await stop(b);
    for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
  });

  const offsetOf = (b: Broker, group: string) => b.groups.fetchOffsets(group, [{ name: 'in', partitions: [0] }])[0]!.offset;

  /**
   * A transaction that commits offset 42 for group `g`, then EndTxn whose markers cannot be written (the
   * broker dies before them): returns an image of the data dir as the crash leaves it.
   */
  async function crashBeforeMarkers(committed: boolean): Promise<string> {
    const dir = tempDir();
    const b = await start(dir);
    await b.topics.create('in', { partitions: 1, replicationFactor: 1 });
    const { txns, groups } = b;
    const init = await txns.run(() => txns.coordinator.initProducerId({ transactionalId: 'tx', transactionTimeoutMs: 60_000, producerId: -1n, producerEpoch: -1 }, 4));
    const ids = { transactionalId: 'tx', producerId: init.producerId, producerEpoch: init.producerEpoch };
    assert.equal((await txns.run(() => txns.coordinator.addOffsetsToTxn({ ...ids, groupId: 'g' }, 3))).errorCode, ErrorCode.NONE);
    const errors = await groups.runtime.run(() => groups.coordinator.commitTxnOffsets({
      groupId: 'g', producerId: init.producerId, producerEpoch: init.producerEpoch, generationId: -1, memberId: '', groupInstanceId: null,
      retentionTimeMs: -1, topics: [{ name: 'in', partitions: [{ partition: 0, offset: 42, leaderEpoch: 0, metadata: 'm' }] }],
    }));
    assert.deepEqual(errors.map((e) => e.errorCode), [ErrorCode.NONE]);
    const offsetsLog = b.topics.log(GROUP_METADATA_TOPIC, groups.runtime.partitionOf('g'));
    assert.equal(offsetsLog.lastStableOffset, 0, 'the transactional batch holds the partition LSO');
    offsetsLog.writeTxnMarker = () => {
      throw new Error('the broker dies before writing this marker');
    };
    assert.equal((await txns.run(() => txns.coordinator.endTxn({ ...ids, committed }, 3))).errorCode, ErrorCode.NONE);
    assert.equal(txns.coordinator.get('tx')?.state, committed ? 'PrepareCommit' : 'PrepareAbort');
    assert.equal(offsetOf(b, 'g'), -1, 'no marker yet');
    const image = tempDir();
    cpSync(dir, image, { recursive: true });
    return image;
  }

  test('unclean restart between PrepareCommit and the markers: the offsets show once the markers are rewritten', async () => {
    const image = await crashBeforeMarkers(true);
    const pending = await start(image, true);
    assert.equal(pending.groups.coordinator.hasPendingTxnOffset('g', 'in', 0), true, 'replayed as pending from the transactional batch');
    assert.equal(offsetOf(pending, 'g'), -1);
    await stop(pending);

    const b = await start(image);
    assert.equal(b.txns.coordinator.get('tx')?.state, 'CompleteCommit', 'markers rewritten on load');
    assert.deepEqual(b.groups.fetchOffsets('g', [{ name: 'in', partitions: [0] }])[0], { topic: 'in', partition: 0, offset: 42, leaderEpoch: 0, metadata: 'm' });
    assert.equal(b.groups.coordinator.hasPendingTxnOffset('g', 'in', 0), false);
    await stop(b);

    const again = await start(image, true);
    assert.equal(offsetOf(again, 'g'), 42, 'the COMMIT marker in __consumer_offsets is replayed');
  });

  test('unclean restart between PrepareAbort and the markers: the aborted offsets never appear', async () => {
    const image = await crashBeforeMarkers(false);
    const b = await start(image);
    assert.equal(b.txns.coordinator.get('tx')?.state, 'CompleteAbort');
    assert.equal(offsetOf(b, 'g'), -1);
    assert.equal(b.groups.coordinator.hasPendingTxnOffset('g', 'in', 0), false);
    await stop(b);

    const again = await start(image, true);
    assert.equal(offsetOf(again, 'g'), -1, 'the ABORT marker in __consumer_offsets is replayed');
    assert.equal(again.groups.coordinator.hasPendingTxnOffset('g', 'in', 0), false);
  });

  test("a consumer group's offsets do not expire while a member subscribes to their topic; the empty group goes with them", async () => {
    const dir = tempDir();
    const b = await start(dir);
    await b.topics.create('in', { partitions: 1, replicationFactor: 1 });
    await b.topics.create('other', { partitions: 1, replicationFactor: 1 });
    const { groups } = b;
    const hb = (req: Partial<ConsumerGroupHeartbeatRequest>) => groups.runtime.run(() => groups.consumerGroupHeartbeat({
      groupId: 'cg', memberId: '', memberEpoch: 0, instanceId: null, rackId: null, rebalanceTimeoutMs: 30_000,
      subscribedTopicNames: null, subscribedTopicRegex: null, serverAssignor: null, topicPartitions: null, ...req,
    }, { clientId: 'c', clientHost: '/127.0.0.1' }, 0));
    const joined = await hb({ subscribedTopicNames: ['in'], topicPartitions: [] });
    assert.equal(joined.errorCode, ErrorCode.NONE);
    const member = { memberId: joined.memberId!, memberEpoch: joined.memberEpoch };
    const commit = (name: string) => groups.runtime.run(() => groups.commitOffsets({
      groupId: 'cg', generationId: member.memberEpoch, memberId: member.memberId, groupInstanceId: null, retentionTimeMs: -1,
      topics: [{ name, partitions: [{ partition: 0, offset: 7, leaderEpoch: -1, metadata: null }] }],
    }, 9));
    assert.equal((await commit('in'))[0]!.errorCode, ErrorCode.NONE);
    assert.equal((await commit('other'))[0]!.errorCode, ErrorCode.NONE);
    const offset = (topic: string) => groups.fetchOffsets('cg', [{ name: topic, partitions: [0] }])[0]!.offset;

    // Three retention periods, heartbeating within the session timeout; the retention job runs meanwhile.
    for (let i = 0; i < 9; i++) {
      clock.advance(20_000);
      const r = await hb({ memberId: member.memberId, memberEpoch: member.memberEpoch });
      assert.equal(r.errorCode, ErrorCode.NONE);
      member.memberEpoch = r.memberEpoch;
    }
    assert.equal(offset('in'), 7, 'a member subscribes to it: kept');
    assert.equal(offset('other'), -1, 'no member subscribes to it: expired retention after its commit');

    assert.equal((await hb({ memberId: member.memberId, memberEpoch: -1 })).errorCode, ErrorCode.NONE, 'the member leaves');
    clock.advance(30_000);
    await new Promise((resolve) => setImmediate(resolve)); // the expiry's tombstones reach the log
    assert.equal(offset('in'), -1, 'no member left: it expires too');
    // Kafka deletes an empty group left without offsets: the consumer group goes, durably.
    await new Promise((resolve) => setImmediate(resolve));
    assert.equal(groups.consumerGroups.group('cg'), undefined, 'the empty consumer group is deleted once its offsets expired');
    assert.deepEqual(groups.listGroups([], []).filter((g) => g.groupId === 'cg'), []);
    await stop(b);
    const again = await start(dir, true);
    assert.equal(again.groups.consumerGroups.group('cg'), undefined, 'deleted in the log too');
  });
});
