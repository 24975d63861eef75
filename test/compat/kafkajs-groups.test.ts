/**
 * kafkajs 2.2.4 consumer groups against Tributary: a consumer in a group reads a topic from the
 * beginning, commits, and the admin client sees the group and its committed offsets.
 */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { Kafka, logLevel, type Admin } from 'kafkajs';
import { startTestBroker, type TestBroker } from './support/broker.js';

describe('kafkajs consumer groups against Tributary', () => {
  let broker: TestBroker;
  let kafka: Kafka;
  let admin: Admin;
  before(async () => {
    broker = await startTestBroker({ 'group.initial.rebalance.delay.ms': '0', 'offsets.topic.num.partitions': '5' });
    kafka = new Kafka({ clientId: 'tributary-compat', brokers: [broker.address], logLevel: logLevel.NOTHING, retry: { retries: 3 } });
    admin = kafka.admin();
    await admin.connect();
  });
  after(async () => {
    await admin?.disconnect();
    await broker?.close();
  });

  test('a consumer group reads every record and its commits are visible to the admin client', async () => {
    const topic = 'kjs-group';
    const groupId = 'kjs-group-1';
    await admin.createTopics({ topics: [{ topic, numPartitions: 3 }] });
    const producer = kafka.producer({ allowAutoTopicCreation: false });
    await producer.connect();
    const values = Array.from({ length: 30 }, (_, i) => `v${i}`);
    await producer.send({ topic, acks: -1, messages: values.map((value, i) => ({ key: `k${i % 7}`, value })) });
    await producer.disconnect();

    const consumer = kafka.consumer({ groupId, sessionTimeout: 6000, heartbeatInterval: 500 });
    await consumer.connect();
    await consumer.subscribe({ topic, fromBeginning: true });
    const seen: string[] = [];
    await new Promise<void>((resolve, reject) => {
      consumer.run({
        eachMessage: async ({ message }) => {
          seen.push(message.value!.toString());
          if (seen.length === values.length) resolve();
        },
      }).catch(reject);
    });
    await consumer.disconnect(); // commits what was consumed and leaves the group

    assert.deepEqual([...seen].sort(), [...values].sort());
    const listed = await admin.listGroups();
    assert.ok(listed.groups.some((g) => g.groupId === groupId && g.protocolType === 'consumer'));
    const [described] = (await admin.describeGroups([groupId])).groups;
    assert.equal(described!.state, 'Empty');
    const offsets = await admin.fetchOffsets({ groupId, topics: [topic] });
    const ends = await admin.fetchTopicOffsets(topic);
    const committed = offsets[0]!.partitions.map((p) => [p.partition, p.offset]).sort();
    assert.deepEqual(committed, ends.map((e) => [e.partition, e.offset]).sort());
  });
});
