/**
 * @platformatic/kafka 1.22 against Tributary: Admin, Producer (idempotence off) and reading.
 * Codecs: every one the client has on this Node; its zstd uses node:zlib's zstd, which Node 20
 * lacks, so zstd is exercised only on a newer Node (the other clients cover it here).
 * Reading: records are read with the same client's group-less low-level Consumer.fetch
 * (support/platformatic-read.ts); its group consumer is tested in platformatic-consumer-group.test.ts.
 */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { Admin, compressionsAlgorithms, Consumer, murmur2, ProduceAcks, Producer } from '@platformatic/kafka';
import { startTestBroker, type TestBroker } from './support/broker.js';
import { readTopic } from './support/platformatic-read.js';
import { assertExactlyOnce, CODECS, expectedFirstAtOrAfter, makeRecords, makeTimedRecords, type Placement, type TestRecord } from './support/records.js';

const AVAILABLE = CODECS.filter((codec) => compressionsAlgorithms[codec].available);

describe('@platformatic/kafka against Tributary', () => {
  let broker: TestBroker;
  let admin: Admin;
  let producer: Producer;
  before(async () => {
    broker = await startTestBroker();
    admin = new Admin({ clientId: 'tributary-compat', bootstrapBrokers: [broker.address] });
    producer = new Producer({ clientId: 'tributary-compat', bootstrapBrokers: [broker.address], idempotent: false, acks: ProduceAcks.ALL });
  });
  after(async () => {
    await producer?.close();
    await admin?.close();
    await broker?.close();
  });

  /** Sends and turns the per-partition base offsets into each record's (partition, offset). */
  async function send(topic: string, records: readonly TestRecord[], compression: (typeof CODECS)[number], partitionCount: number): Promise<Placement[]> {
    const result = await producer.send({
      compression,
      messages: records.map((r) => ({
        topic,
        key: Buffer.from(r.key),
        value: Buffer.from(r.value),
        headers: new Map(r.headers.map(([k, v]) => [Buffer.from(k), Buffer.from(v)])),
        ...(r.timestamp === undefined ? {} : { timestamp: BigInt(r.timestamp) }),
      })),
    });
    const base = new Map((result.offsets ?? []).map((o) => [o.partition, Number(o.offset)]));
    const next = new Map<number, number>();
    return records.map((r) => {
      // The client's default partitioner: unsigned murmur2 of the key, modulo the partition count.
      const partition = (murmur2(Buffer.from(r.key)) >>> 0) % partitionCount;
      const offset = next.get(partition) ?? base.get(partition);
      assert.ok(offset !== undefined, `no acknowledgement for partition ${partition}`);
      next.set(partition, offset + 1);
      return { partition, offset };
    });
  }

  test('metadata lists the one broker', async () => {
    const metadata = await admin.metadata({ topics: [] });
    const [host, port] = broker.address.split(':');
    assert.deepEqual([...metadata.brokers.values()].map((b) => ({ host: b.host, port: b.port })), [{ host, port: Number(port) }]);
  });

  test('this Node has at least none, gzip, snappy and lz4', () => {
    for (const codec of ['none', 'gzip', 'snappy', 'lz4'] as const) assert.ok(AVAILABLE.includes(codec), codec);
  });

  const topic = 'platformatic-codecs';
  const produced: TestRecord[] = [];
  const placements: Placement[] = [];

  test('createTopics makes a 3-partition topic that metadata shows', async () => {
    const created = await admin.createTopics({ topics: [topic], partitions: 3, replicas: 1 });
    assert.deepEqual(created.map((t) => ({ name: t.name, partitions: t.partitions })), [{ name: topic, partitions: 3 }]);
    const metadata = await admin.metadata({ topics: [topic], forceUpdate: true });
    assert.equal(metadata.topics.get(topic)?.partitionsCount, 3);
  });

  for (const codec of AVAILABLE) {
    test(`send with acks=all and compression ${codec}`, async () => {
      const records = makeRecords(`platformatic-${codec}`, 40);
      placements.push(...await send(topic, records, codec, 3));
      produced.push(...records);
    });
  }

  test('every record reads back once, with key and headers, at its acknowledged offset', async () => {
    assert.equal(produced.length, 40 * AVAILABLE.length, 'the produce tests ran first');
    const consumed = await readTopic(broker.address, topic);
    const keyPartitions = assertExactlyOnce(produced, consumed, { headers: true, placements });
    assert.ok(new Set(keyPartitions.values()).size > 1, 'all keys landed in one partition');
  });

  test('listOffsets by timestamp finds the first record at or after it', async () => {
    const timed = 'platformatic-timestamps';
    await admin.createTopics({ topics: [timed], partitions: 1, replicas: 1 });
    const base = Date.now() - 3_600_000;
    const records = makeTimedRecords('platformatic-ts', 10, base);
    await send(timed, records, 'none', 1);

    const at = base + 5_500;
    // 1.22 (the last release whose dependencies support Node 20) lists offsets by timestamp on the Consumer.
    const consumer = new Consumer({ clientId: 'tributary-compat', groupId: 'unused-no-group', bootstrapBrokers: [broker.address] });
    const listed = await consumer.listOffsetsWithTimestamps({ topics: [timed], partitions: { [timed]: [0] }, timestamp: BigInt(at) }).finally(() => consumer.close());
    const hit = listed.get(timed)!.get(0)!;
    assert.equal(hit.offset, 6n);
    assert.equal(hit.timestamp, BigInt(records[6].timestamp!));
    const consumed = await readTopic(broker.address, timed, { from: new Map([[0, hit.offset]]) });
    assert.equal(consumed[0]?.value, expectedFirstAtOrAfter(records, at)!.value);
    assert.deepEqual(consumed.map((r) => r.timestamp), records.slice(6).map((r) => r.timestamp));
  });

  test('deleteTopics removes the topics from listTopics', async () => {
    await admin.deleteTopics({ topics: [topic, 'platformatic-timestamps'] });
    const left = await admin.listTopics();
    assert.deepEqual(left.filter((name) => name.startsWith('platformatic-')), []);
  });
});
