/**
 * kafkajs 2.2.4 transactions against Tributary: one transaction committed and one aborted (each also
 * committing a group offset through sendOffsets), read back by a read_committed group consumer, which sees
 * the committed records once and the aborted ones never; the group's offset is the committed transaction's.
 */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { Kafka, logLevel, type Admin } from 'kafkajs';
import { startTestBroker, type TestBroker } from './support/broker.js';

describe('kafkajs transactions against Tributary', () => {
  let broker: TestBroker;
  let kafka: Kafka;
  let admin: Admin;
  before(async () => {
    broker = await startTestBroker({ 'group.initial.rebalance.delay.ms': '0', 'offsets.topic.num.partitions': '5', 'transaction.state.log.num.partitions': '5' });
    kafka = new Kafka({ clientId: 'tributary-compat', brokers: [broker.address], logLevel: logLevel.NOTHING, retry: { retries: 3 } });
    admin = kafka.admin();
    await admin.connect();
  });
  after(async () => {
    await admin?.disconnect();
    await broker?.close();
  });

  test('commit and abort, read back read_committed by a group consumer', async () => {
    const topic = 'kjs-txn';
    await admin.createTopics({ topics: [{ topic, numPartitions: 2 }, { topic: 'source', numPartitions: 1 }] });
    const producer = kafka.producer({ transactionalId: 'kjs-txn-1', maxInFlightRequests: 1, idempotent: true });
    await producer.connect();

    const committed = await producer.transaction();
    await committed.send({ topic, messages: ['c0', 'c1', 'c2', 'c3'].map((value, i) => ({ key: `k${i}`, value })) });
    await committed.sendOffsets({ consumerGroupId: 'kjs-txn-src', topics: [{ topic: 'source', partitions: [{ partition: 0, offset: '42' }] }] });
    await committed.commit();

    const aborted = await producer.transaction();
    await aborted.send({ topic, messages: ['a0', 'a1', 'a2'].map((value, i) => ({ key: `k${i}`, value })) });
    await aborted.sendOffsets({ consumerGroupId: 'kjs-txn-src', topics: [{ topic: 'source', partitions: [{ partition: 0, offset: '99' }] }] });
    await aborted.abort();

    const last = await producer.transaction();
    await last.send({ topic, messages: [{ key: 'k9', value: 'c4' }] });
    await last.commit();
    await producer.disconnect();

    const offsets = await admin.fetchOffsets({ groupId: 'kjs-txn-src', topics: ['source'] });
    assert.equal(offsets[0]!.partitions.find((p) => p.partition === 0)?.offset, '42');

    const consumer = kafka.consumer({ groupId: 'kjs-txn-reader', sessionTimeout: 6000, heartbeatInterval: 500, readUncommitted: false });
    await consumer.connect();
    await consumer.subscribe({ topic, fromBeginning: true });
    const seen: string[] = [];
    await new Promise<void>((resolve, reject) => {
      consumer.run({
        eachMessage: async ({ message }) => {
          seen.push(message.value!.toString());
          if (seen.length >= 5) resolve();
        },
      }).catch(reject);
    });
    await consumer.disconnect();
    assert.deepEqual([...seen].sort(), ['c0', 'c1', 'c2', 'c3', 'c4']);
  });
});
