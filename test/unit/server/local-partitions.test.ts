// LocalPartitions: the coordinators' partitions over a real TopicManager and Logs in a temp dir.
import { test, describe, beforeEach, afterEach } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { resolveBrokerConfig } from '../../../src/server/config.js';
import { TopicStore } from '../../../src/storage/topic-store.js';
import { LogManager } from '../../../src/storage/log-manager.js';
import { TopicManager } from '../../../src/server/topic-manager.js';
import { LocalPartitions } from '../../../src/server/local-partitions.js';
import { buildRecordBatch, iterateBatches } from '../../../src/protocol/records/record.js';
import { CONTROL_FLAG_MASK } from '../../../src/protocol/records/record-batch.js';

describe('LocalPartitions', () => {
  let dir: string;
  let logs: LogManager;
  let topics: TopicManager;
  let partitions: LocalPartitions;

  beforeEach(async () => {
    dir = mkdtempSync(join(tmpdir(), 'tributary-local-partitions-'));
    const defaults = Object.fromEntries(resolveBrokerConfig({}).values);
    const store = TopicStore.open(dir, { nodeId: 1 });
    logs = new LogManager({ dataDir: dir, brokerDefaults: defaults });
    await logs.load([]);
    topics = new TopicManager(store, logs, defaults);
    partitions = new LocalPartitions(topics);
  });
  afterEach(async () => {
    await logs.close();
    rmSync(dir, { recursive: true, force: true });
  });

  test('creates an internal topic and reports it; unknown topics and partitions are undefined', async () => {
    assert.equal(partitions.topic('__state'), undefined);
    await partitions.createTopic('__state', 3, { 'cleanup.policy': 'compact' });
    const t = partitions.topic('__state');
    assert.equal(t?.partitions, 3);
    assert.equal(t?.topicId, topics.get('__state')!.topicId);
    assert.equal(topics.get('__state')!.config['cleanup.policy'], 'compact');
    assert.deepEqual(partitions.offsets('__state', 2), { logStartOffset: 0, logEndOffset: 0 });
    assert.equal(partitions.offsets('__state', 3), undefined);
    assert.equal(partitions.offsets('nope', 0), undefined);
    await assert.rejects(partitions.createTopic('__state', 1, {}), { kafkaError: 'TOPIC_ALREADY_EXISTS' });
  });

  test('appends batches, reads them back, and continues a producer\'s sequence within its epoch', async () => {
    await partitions.createTopic('__state', 1, {});
    const rec = [{ key: Buffer.from('k'), value: Buffer.from('v') }];
    await partitions.append('__state', 0, buildRecordBatch([...rec, ...rec]), 2);
    assert.deepEqual(partitions.offsets('__state', 0), { logStartOffset: 0, logEndOffset: 2 });

    assert.equal(partitions.nextSequence('__state', 0, 7n, 0), 0, 'a producer with no batch here starts at 0');
    const txn = { producerId: 7n, producerEpoch: 0, transactional: true };
    await partitions.append('__state', 0, buildRecordBatch(rec, { ...txn, baseSequence: 0 }), 1);
    await partitions.append('__state', 0, buildRecordBatch([...rec, ...rec], { ...txn, baseSequence: 1 }), 2);
    assert.equal(partitions.nextSequence('__state', 0, 7n, 0), 3);
    assert.equal(partitions.nextSequence('__state', 0, 7n, 1), 0, 'a new epoch starts again at 0');

    const bases = [...iterateBatches(partitions.read('__state', 0, 0, 1 << 20))].map((b) => b.header.baseOffset);
    assert.deepEqual(bases, [0, 2, 3]);
    assert.equal([...iterateBatches(partitions.read('__state', 0, 3, 1))].length, 1, 'at least one whole batch');
    await assert.rejects(partitions.append('__state', 1, buildRecordBatch(rec), 1), { kafkaError: 'UNKNOWN_TOPIC_OR_PARTITION' });
  });

  test('writes a transaction marker where the partition exists, nothing where it does not', async () => {
    await partitions.createTopic('t', 1, {});
    const marker = { producerId: 9n, producerEpoch: 0, coordinatorEpoch: 0, commit: true, timestamp: 1 };
    await partitions.writeTxnMarker('t', 0, marker);
    const [batch] = [...iterateBatches(partitions.read('t', 0, 0, 1 << 20))];
    assert.ok(batch && batch.header.attributes & CONTROL_FLAG_MASK, 'a control batch');
    assert.equal(batch.header.producerId, 9n);
    assert.equal(partitions.writeTxnMarker('t', 1, marker), undefined);
    assert.equal(partitions.writeTxnMarker('gone', 0, marker), undefined);
  });
});
