/**
 * kafkajs 2.2.4 against Tributary: admin, producer (idempotence off), offsets by timestamp.
 * Codecs: kafkajs has only none and gzip built in; snappy, lz4 and zstd need codec plugins that
 * this project does not depend on, so they are covered by the other clients.
 * Consuming: what kafkajs produced is read back with @platformatic/kafka's group-less low-level fetch,
 * independent of kafkajs; kafkajs' own group consumer is tested in kafkajs-groups.test.ts.
 */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { CompressionTypes, Kafka, logLevel, Partitioners, type Admin, type PartitionMetadata, type Producer } from 'kafkajs';
import { startTestBroker, type TestBroker } from './support/broker.js';
import { readTopic } from './support/platformatic-read.js';
import { assertExactlyOnce, expectedFirstAtOrAfter, makeRecords, makeTimedRecords, type Placement, type TestRecord } from './support/records.js';

const CODECS = [['none', CompressionTypes.None], ['gzip', CompressionTypes.GZIP]] as const;

describe('kafkajs against Tributary', () => {
  let broker: TestBroker;
  let admin: Admin;
  let producer: Producer;
  before(async () => {
    broker = await startTestBroker();
    const kafka = new Kafka({ clientId: 'tributary-compat', brokers: [broker.address], logLevel: logLevel.NOTHING, retry: { retries: 3 } });
    admin = kafka.admin();
    producer = kafka.producer({ idempotent: false, allowAutoTopicCreation: false, createPartitioner: Partitioners.DefaultPartitioner });
    await admin.connect();
    await producer.connect();
  });
  after(async () => {
    await producer?.disconnect();
    await admin?.disconnect();
    await broker?.close();
  });

  /** Sends and turns the per-partition base offsets into each record's (partition, offset). */
  async function send(topic: string, records: readonly TestRecord[], compression: CompressionTypes, partitions: PartitionMetadata[]): Promise<Placement[]> {
    const partitioner = Partitioners.DefaultPartitioner();
    const messages = records.map((r) => ({
      key: r.key,
      value: r.value,
      headers: Object.fromEntries(r.headers),
      ...(r.timestamp === undefined ? {} : { timestamp: String(r.timestamp) }),
    }));
    const acks = await producer.send({ topic, acks: -1, compression, messages });
    const base = new Map(acks.map((a) => {
      assert.equal(a.errorCode, 0);
      return [a.partition, Number(a.baseOffset)];
    }));
    const next = new Map<number, number>();
    return messages.map((message) => {
      const partition = partitioner({ topic, partitionMetadata: partitions, message });
      const offset = next.get(partition) ?? base.get(partition);
      assert.ok(offset !== undefined, `no acknowledgement for partition ${partition}`);
      next.set(partition, offset + 1);
      return { partition, offset };
    });
  }

  test('describeCluster lists the one broker as controller', async () => {
    const cluster = await admin.describeCluster();
    const [host, port] = broker.address.split(':');
    assert.deepEqual(cluster.brokers.map((b) => ({ host: b.host, port: b.port })), [{ host, port: Number(port) }]);
    assert.equal(cluster.controller, cluster.brokers[0].nodeId);
  });

  const topic = 'kafkajs-codecs';
  const produced: TestRecord[] = [];
  const placements: Placement[] = [];
  let partitions: PartitionMetadata[] = [];

  test('createTopics makes a 3-partition topic that fetchTopicMetadata shows', async () => {
    assert.equal(await admin.createTopics({ topics: [{ topic, numPartitions: 3 }], waitForLeaders: true }), true);
    const { topics } = await admin.fetchTopicMetadata({ topics: [topic] });
    partitions = topics[0].partitions;
    assert.deepEqual(partitions.map((p) => p.partitionId).sort(), [0, 1, 2]);
  });

  for (const [name, codec] of CODECS) {
    test(`producer.send with acks=-1 and compression ${name}`, async () => {
      const records = makeRecords(`kafkajs-${name}`, 40);
      placements.push(...await send(topic, records, codec, partitions));
      produced.push(...records);
    });
  }

  test('every record reads back once, with key and headers, at its acknowledged offset', async () => {
    assert.equal(produced.length, 40 * CODECS.length, 'the produce tests ran first');
    const consumed = await readTopic(broker.address, topic);
    const keyPartitions = assertExactlyOnce(produced, consumed, { headers: true, placements });
    assert.ok(new Set(keyPartitions.values()).size > 1, 'all keys landed in one partition');
  });

  test('fetchTopicOffsetsByTimestamp finds the first record at or after a timestamp', async () => {
    const timed = 'kafkajs-timestamps';
    await admin.createTopics({ topics: [{ topic: timed, numPartitions: 1 }], waitForLeaders: true });
    const { topics } = await admin.fetchTopicMetadata({ topics: [timed] });
    const base = Date.now() - 3_600_000;
    const records = makeTimedRecords('kafkajs-ts', 10, base);
    await send(timed, records, CompressionTypes.None, topics[0].partitions);

    const at = base + 5_500;
    const found = await admin.fetchTopicOffsetsByTimestamp(timed, at);
    assert.deepEqual(found, [{ partition: 0, offset: '6' }]);
    const consumed = await readTopic(broker.address, timed, { from: new Map([[0, 6n]]) });
    assert.equal(consumed[0]?.value, expectedFirstAtOrAfter(records, at)!.value);
    assert.deepEqual(consumed.map((r) => r.timestamp), records.slice(6).map((r) => r.timestamp));
  });

  test('deleteTopics removes the topics from listTopics', async () => {
    await admin.deleteTopics({ topics: [topic, 'kafkajs-timestamps'] });
    const left = await admin.listTopics();
    assert.deepEqual(left.filter((name) => name.startsWith('kafkajs-')), []);
  });
});
