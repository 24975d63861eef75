import { test, describe, beforeEach, afterEach } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { resolveBrokerConfig } from '../../../../src/server/config.js';
import { TopicStore } from '../../../../src/storage/topic-store.js';
import { LogManager } from '../../../../src/storage/log-manager.js';
import { TopicManager } from '../../../../src/server/topic-manager.js';
import { LocalPartitions } from '../../../../src/server/local-partitions.js';
import { ManualScheduler } from '../../../../src/coordinator/scheduler.js';
import { GroupCoordinatorService } from '../../../../src/coordinator/group/group-coordinator-service.js';
import {
  TRANSACTION_STATE_TOPIC, TransactionCoordinatorService, transactionServiceConfig,
} from '../../../../src/coordinator/transaction/transaction-coordinator-service.js';
import { ErrorCode } from '../../../../src/protocol/generated/error-codes.js';


describe('TransactionCoordinatorService over __transaction_state', () => {
  let dir: string;
  let logs: LogManager;
  let topics: TopicManager;
  let clock: ManualScheduler;
  const { values: config } = resolveBrokerConfig({ overrides: { 'transaction.state.log.num.partitions': 4, 'offsets.topic.num.partitions': 2 } });
  let nextId = 100n;
  const producerIds = { generate: () => nextId++ };

  beforeEach(async () => {
    dir = mkdtempSync(join(tmpdir(), 'tributary-txn-service-'));
    ({ logs, topics } = await open(dir));
    clock = new ManualScheduler();
  });
  afterEach(async () => {
    await logs.close();
    rmSync(dir, { recursive: true, force: true });
  });

  async function open(d: string): Promise<{ logs: LogManager; topics: TopicManager }> {
    const store = TopicStore.open(d, { nodeId: 1 });
    const defaults = Object.fromEntries(config);
    const lm = new LogManager({ dataDir: d, brokerDefaults: defaults });
    await lm.load(store.topics().map((t) => ({ name: t.name, partitions: t.partitions, config: t.config })));
    return { logs: lm, topics: new TopicManager(store, lm, defaults) };
  }

  /** LocalPartitions whose next append to __transaction_state fails when `failNext` is set (a full disk, say). */
  class FlakyPartitions extends LocalPartitions {
    failNext = false;
    override append(topic: string, partition: number, batch: Buffer, recordCount: number): Promise<void> {
      if (this.failNext && topic === TRANSACTION_STATE_TOPIC) {
        this.failNext = false;
        return Promise.reject(new Error('injected append failure'));
      }
      return super.append(topic, partition, batch, recordCount);
    }
  }

  async function service(partitions: LocalPartitions = new LocalPartitions(topics)): Promise<TransactionCoordinatorService> {
    const groups = new GroupCoordinatorService(new LocalPartitions(topics), config, clock);
    await groups.runtime.load();
    const s = new TransactionCoordinatorService(partitions, groups, transactionServiceConfig(config), producerIds, clock);
    await s.load();
    return s;
  }

  const initReq = (transactionalId: string, transactionTimeoutMs = 60_000) => ({ transactionalId, transactionTimeoutMs, producerId: -1n, producerEpoch: -1 });

  test('reads Kafka config keys with their defaults', () => {
    const { values } = resolveBrokerConfig({});
    assert.deepEqual(transactionServiceConfig(values), {
      transactionMaxTimeoutMs: 900000, transactionalIdExpirationMs: 604800000, abortTimedOutIntervalMs: 10000,
      removeExpiredIntervalMs: 3600000, numPartitions: 50, segmentBytes: 104857600,
    });
  });

  test('a failed __transaction_state append answers COORDINATOR_NOT_AVAILABLE and its change is rolled back', async () => {
    await topics.create('t', { partitions: 2, replicationFactor: 1 });
    const partitions = new FlakyPartitions(topics);
    const s = await service(partitions);
    const init = await s.run(() => s.coordinator.initProducerId(initReq('flaky'), 4));
    assert.equal(init.errorCode, ErrorCode.NONE);
    const add = (p: number) => s.run(() => s.coordinator.addPartitionsToTxn({
      v3AndBelowTransactionalId: 'flaky', v3AndBelowProducerId: init.producerId, v3AndBelowProducerEpoch: init.producerEpoch,
      v3AndBelowTopics: [{ name: 't', partitions: [p] }], transactions: [],
    }, 3));
    partitions.failNext = true;
    await assert.rejects(add(0), (err: any) => err.kafkaError === 'COORDINATOR_NOT_AVAILABLE');
    const m = s.coordinator.get('flaky')!;
    assert.deepEqual([m.state, [...m.partitions.get('t') ?? []]], ['Empty', []], 'memory is what the log says');
    const again = await add(1);
    assert.equal(again.resultsByTopicV3AndBelow[0].resultsByPartition[0].partitionErrorCode, ErrorCode.NONE);
    assert.deepEqual([...s.coordinator.get('flaky')!.partitions.get('t') ?? []], [1]);
    await s.close();
  });

  test('state is persisted to __transaction_state and replayed by a new service (a restart)', async () => {
    await topics.create('t', { partitions: 1, replicationFactor: 1 });
    const s1 = await service();
    const init = await s1.run(() => s1.coordinator.initProducerId(initReq('persisted'), 4));
    assert.equal(init.errorCode, ErrorCode.NONE);
    const added = await s1.run(() => s1.coordinator.addPartitionsToTxn({
      v3AndBelowTransactionalId: 'persisted', v3AndBelowProducerId: init.producerId, v3AndBelowProducerEpoch: init.producerEpoch,
      v3AndBelowTopics: [{ name: 't', partitions: [0] }], transactions: [],
    }, 3));
    assert.equal(added.resultsByTopicV3AndBelow[0].resultsByPartition[0].partitionErrorCode, ErrorCode.NONE);
    assert.ok(topics.get(TRANSACTION_STATE_TOPIC), 'the internal topic is created on first use');
    await s1.close();

    const s2 = await service();
    const m = s2.coordinator.get('persisted');
    assert.ok(m);
    assert.deepEqual([m.state, m.producerId, m.producerEpoch, [...m.partitions.get('t') ?? []]], ['Ongoing', init.producerId, init.producerEpoch, [0]]);
    await s2.close();
  });

  test('the periodic job aborts a transaction past its timeout (clock driven by the ManualScheduler)', async () => {
    await topics.create('t', { partitions: 1, replicationFactor: 1 });
    const s = await service();
    const init = await s.run(() => s.coordinator.initProducerId(initReq('slow', 1000), 4));
    await s.run(() => s.coordinator.addPartitionsToTxn({
      v3AndBelowTransactionalId: 'slow', v3AndBelowProducerId: init.producerId, v3AndBelowProducerEpoch: init.producerEpoch,
      v3AndBelowTopics: [{ name: 't', partitions: [0] }], transactions: [],
    }, 3));
    clock.advance(500);
    await s.abortTimedOutTransactions();
    assert.equal(s.coordinator.get('slow')?.state, 'Ongoing', 'not yet timed out');
    clock.advance(1000);
    await s.abortTimedOutTransactions();
    const m = s.coordinator.get('slow');
    assert.deepEqual([m?.state, m?.producerEpoch], ['CompleteAbort', init.producerEpoch + 1], 'aborted with a fencing bump');
    assert.equal(topics.log('t', 0).logEndOffset, 1, 'an ABORT control batch was written');
    await s.close();
  });
});
