/**
 * Idempotent producers against Tributary: confluent-kafka 1.7.0 / librdkafka 2.0.2 with every codec, kcat
 * with enable.idempotence=true, and kafkajs with idempotent: true. Each run must land every record exactly
 * once, where its acknowledgement said, in produce order per partition, and the partition's producer state
 * (DescribeProducers) must show the client's producer id — proof the batches carried sequences.
 * Read back group-less: with confluent-kafka's assign() (zstd included), or @platformatic/kafka's fetch.
 */
import assert from 'node:assert/strict';
import { fileURLToPath } from 'node:url';
import { after, before, describe, test } from 'node:test';
import { CompressionTypes, Kafka, logLevel, Partitioners, type Producer } from 'kafkajs';
import { startTestBroker, type TestBroker } from './support/broker.js';
import { readTopic } from './support/platformatic-read.js';
import { run, runJson } from './support/processes.js';
import { PYTHON } from './support/python-suite.js';
import { assertExactlyOnce, CODECS, makeRecords, type ConsumedRecord, type Placement, type TestRecord } from './support/records.js';
import { RawClient } from '../helpers/raw-client.js';

const SCRIPTS = fileURLToPath(new URL('../../../test/compat/python/', import.meta.url));
const PRODUCE_SCRIPT = `${SCRIPTS}confluent_kafka_produce.py`;
const CONSUME_SCRIPT = `${SCRIPTS}confluent_kafka_consume.py`;
const DESCRIBE_PRODUCERS = 61;
const PARTITIONS = [0, 1, 2];

interface DescribedProducer {
  producerId: bigint;
  producerEpoch: number;
  lastSequence: number;
}

/** Records of each partition appear in the order they were produced. */
function assertProduceOrder(produced: readonly TestRecord[], consumed: readonly ConsumedRecord[]): void {
  const index = new Map(produced.map((r, i) => [r.value, i]));
  const last = new Map<number, number>();
  for (const r of consumed) {
    const i = index.get(r.value!)!;
    assert.ok(i > (last.get(r.partition) ?? -1), `partition ${r.partition}: ${r.value} came after a later record`);
    last.set(r.partition, i);
  }
}

describe('idempotent producers against Tributary', () => {
  let broker: TestBroker;
  let raw: RawClient;
  before(async () => {
    broker = await startTestBroker();
    raw = await RawClient.connect(broker.address);
  });
  after(async () => {
    raw?.close();
    await broker?.close();
  });

  async function producers(topic: string): Promise<DescribedProducer[][]> {
    const res = await raw.send(DESCRIBE_PRODUCERS, 0, { topics: [{ name: topic, partitionIndexes: PARTITIONS }] });
    return res.topics[0].partitions.map((p: { errorCode: number; activeProducers: DescribedProducer[] }) => {
      assert.equal(p.errorCode, 0);
      return p.activeProducers;
    });
  }

  /** One producer id across the partitions that got records, whose last sequence counts that partition's batches. */
  async function assertOneIdempotentProducer(topic: string, consumed: readonly ConsumedRecord[]): Promise<void> {
    const described = await producers(topic);
    const ids = new Set<bigint>();
    for (const p of PARTITIONS) {
      const count = consumed.filter((r) => r.partition === p).length;
      if (count === 0) continue;
      assert.equal(described[p]!.length, 1, `partition ${p}: one active producer`);
      const [state] = described[p]!;
      ids.add(state!.producerId);
      assert.ok(state!.producerId >= 0n && state!.producerEpoch >= 0);
      assert.equal(state!.lastSequence, count - 1, `partition ${p}: sequences 0..${count - 1}`);
    }
    assert.equal(ids.size, 1, 'the same producer id on every partition');
  }

  for (const codec of CODECS) {
    test(`confluent-kafka enable.idempotence=True, compression ${codec}: every record once, in order`, async () => {
      const topic = `idem-confluent-${codec}`;
      const records = makeRecords(`confluent-${codec}`, 300);
      const placements = await runJson<Placement[]>(PYTHON, [PRODUCE_SCRIPT, '--idempotent', broker.address, topic, codec], { input: JSON.stringify(records), timeoutMs: 60_000 });
      const { records: consumed } = await runJson<{ records: ConsumedRecord[] }>(PYTHON, [CONSUME_SCRIPT, broker.address, topic], { timeoutMs: 60_000 });
      assertExactlyOnce(records, consumed, { headers: true, placements });
      assertProduceOrder(records, consumed);
      await assertOneIdempotentProducer(topic, consumed);
    });
  }

  test('kcat -X enable.idempotence=true: every record once, in order', async () => {
    const topic = 'idem-kcat';
    const records = makeRecords('kcat-idem', 200).map((r) => ({ ...r, headers: [] as [string, string][] }));
    const input = records.map((r) => `${r.key}\t${r.value}`).join('\n') + '\n';
    await run('kcat', ['-b', broker.address, '-P', '-t', topic, '-K', '\\t', '-X', 'enable.idempotence=true', '-X', 'compression.codec=lz4', '-X', 'batch.num.messages=9'], { input, timeoutMs: 60_000 });
    const consumed = await readTopic(broker.address, topic);
    assertExactlyOnce(records, consumed, { headers: false });
    assertProduceOrder(records, consumed);
    await assertOneIdempotentProducer(topic, consumed);
  });

  describe('kafkajs idempotent: true', () => {
    let producer: Producer;
    before(async () => {
      const kafka = new Kafka({ clientId: 'tributary-compat-idempotent', brokers: [broker.address], logLevel: logLevel.NOTHING, retry: { retries: 3 } });
      producer = kafka.producer({ idempotent: true, maxInFlightRequests: 1, allowAutoTopicCreation: true, createPartitioner: Partitioners.DefaultPartitioner });
      await producer.connect();
    });
    after(async () => {
      await producer?.disconnect();
    });

    test('sends with sequences; every record once, in order', async () => {
      const topic = 'idem-kafkajs';
      const records = makeRecords('kafkajs-idem', 120);
      for (let i = 0; i < records.length; i += 20) {
        const acks = await producer.send({
          topic,
          acks: -1,
          compression: i % 40 === 0 ? CompressionTypes.GZIP : CompressionTypes.None,
          messages: records.slice(i, i + 20).map((r) => ({ key: r.key, value: r.value, headers: Object.fromEntries(r.headers) })),
        });
        for (const a of acks) assert.equal(a.errorCode, 0);
      }
      const consumed = await readTopic(broker.address, topic);
      assertExactlyOnce(records, consumed, { headers: true });
      assertProduceOrder(records, consumed);
      await assertOneIdempotentProducer(topic, consumed);
    });
  });
});
