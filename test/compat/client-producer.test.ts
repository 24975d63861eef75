/**
 * Tributary's Producer cross-checked with real clients: what it writes (every codec, keys, headers,
 * timestamps) is read back by kcat (librdkafka) and kafka-python; its key partitioning matches
 * kafka-python's (Java's murmur2); a transactional write is read read_committed by confluent-kafka.
 */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { Producer } from '../../src/client/producer.js';
import { startTestBroker, type TestBroker } from './support/broker.js';
import { run } from './support/processes.js';
import { assertExactlyOnce, CODECS, makeRecords, type ConsumedRecord, type Placement, type TestRecord } from './support/records.js';

const PYTHON = '/usr/bin/python3';
const script = (name: string): string => fileURLToPath(new URL(`../../../test/compat/python/${name}`, import.meta.url));

/**
 * confluent-kafka reading one topic from the beginning with isolation.level as given, until every
 * partition reports end-of-partition (which read_committed reaches at the last stable offset).
 * Prints [{"partition", "offset", "key", "value"}].
 */
const CONFLUENT_READ = `
import json, sys, time
from confluent_kafka import Consumer, TopicPartition, OFFSET_BEGINNING, KafkaError
bootstrap, topic, isolation = sys.argv[1], sys.argv[2], sys.argv[3]
c = Consumer({'bootstrap.servers': bootstrap, 'group.id': 'tributary-compat-unused', 'enable.auto.commit': False,
              'isolation.level': isolation, 'enable.partition.eof': True})
md = c.list_topics(topic, timeout=10)
parts = sorted(md.topics[topic].partitions.keys())
c.assign([TopicPartition(topic, p, OFFSET_BEGINNING) for p in parts])
done, out, deadline = set(), [], time.monotonic() + 30
while len(done) < len(parts):
    if time.monotonic() > deadline:
        raise SystemExit('timed out; at eof: %r' % sorted(done))
    m = c.poll(0.5)
    if m is None:
        continue
    if m.error() is not None:
        if m.error().code() == KafkaError._PARTITION_EOF:
            done.add(m.partition())
            continue
        raise SystemExit('consume error: %s' % m.error())
    out.append({'partition': m.partition(), 'offset': m.offset(),
                'key': None if m.key() is None else m.key().decode(), 'value': None if m.value() is None else m.value().decode()})
c.close()
json.dump(out, sys.stdout)
`;

describe('Tributary Producer read back by real clients', () => {
  let broker: TestBroker;
  before(async () => {
    broker = await startTestBroker();
  });
  after(async () => {
    await broker?.close();
  });

  const topic = 'producer-codecs';
  const produced: TestRecord[] = [];
  const placements: Placement[] = [];

  for (const codec of CODECS) {
    test(`our producer writes keyed records with headers and timestamps, compression ${codec}`, async () => {
      const producer = new Producer({ bootstrapServers: broker.address, compression: codec, lingerMs: 10 });
      try {
        await producer.connect();
        const base = Date.UTC(2025, 0, 1) + CODECS.indexOf(codec) * 100_000;
        const records = makeRecords(`ours-${codec}`, 40).map((r, i) => ({ ...r, timestamp: base + i }));
        const metas = await producer.sendBatch(records.map((r) => ({
          topic, key: r.key, value: r.value, headers: r.headers.map(([key, value]) => ({ key, value })), timestamp: r.timestamp,
        })));
        produced.push(...records);
        placements.push(...metas.map((m) => ({ partition: m.partition, offset: m.offset })));
      } finally {
        await producer.close();
      }
    });
  }

  test('kcat reads every record once, where the acknowledgements said, with keys and headers', async () => {
    assert.equal(produced.length, 40 * CODECS.length, 'the produce tests ran first');
    const { stdout } = await run('kcat', ['-C', '-b', broker.address, '-t', topic, '-e', '-q', '-f', '%k|%s|%p|%o|%T|%h\\n'], { timeoutMs: 60_000 });
    const consumed: ConsumedRecord[] = stdout.split('\n').filter(Boolean).map((line) => {
      const [key, value, partition, offset, ts, headers] = line.split('|');
      return {
        key, value, partition: Number(partition), offset: Number(offset), timestamp: Number(ts),
        headers: headers.split(',').map((h) => h.split('=') as [string, string]),
      };
    });
    const keyPartitions = assertExactlyOnce(produced, consumed, { headers: true, placements });
    assert.ok(new Set(keyPartitions.values()).size > 1, 'all keys landed in one partition');
  });

  test('kafka-python reads every record once, with keys, headers and timestamps', async () => {
    const { stdout } = await run(PYTHON, [script('kafka_python_consume.py'), broker.address, topic], { timeoutMs: 60_000 });
    const { records } = JSON.parse(stdout) as { records: ConsumedRecord[] };
    assertExactlyOnce(produced, records, { headers: true, placements });
  });

  test('kafka-python and our producer put the same keys on the same partitions (murmur2)', async () => {
    const records = makeRecords('interop', 30).map((r, i) => ({ ...r, key: `interop-key-${i}` }));
    const theirs = JSON.parse((await run(PYTHON, [script('kafka_python_produce.py'), broker.address, 'keys-theirs', 'none'], {
      input: JSON.stringify(records), timeoutMs: 60_000,
    })).stdout) as Placement[];
    const producer = new Producer({ bootstrapServers: broker.address });
    try {
      await producer.connect();
      const ours = await producer.sendBatch(records.map((r) => ({ topic: 'keys-ours', key: r.key, value: r.value })));
      assert.deepEqual(ours.map((m) => m.partition), theirs.map((m) => m.partition));
      assert.ok(new Set(ours.map((m) => m.partition)).size === 3, 'thirty keys cover the three partitions');
    } finally {
      await producer.close();
    }
  });

  test('a transactional write read read_committed by confluent-kafka: committed records only', async () => {
    const producer = new Producer({ bootstrapServers: broker.address, transactionalId: 'compat-txn' });
    try {
      await producer.connect();
      producer.beginTransaction();
      await producer.sendBatch([0, 1, 2].map((i) => ({ topic: 'txn-compat', key: `k${i}`, value: `committed-${i}` })));
      await producer.commitTransaction();
      producer.beginTransaction();
      await producer.sendBatch([0, 1, 2].map((i) => ({ topic: 'txn-compat', key: `k${i}`, value: `aborted-${i}` })));
      await producer.abortTransaction();
      producer.beginTransaction();
      await producer.send({ topic: 'txn-compat', key: 'k0', value: 'committed-3' });
      await producer.commitTransaction();
    } finally {
      await producer.close();
    }
    const read = async (isolation: string): Promise<string[]> => {
      const { stdout } = await run(PYTHON, ['-c', CONFLUENT_READ, broker.address, 'txn-compat', isolation], { timeoutMs: 60_000 });
      return (JSON.parse(stdout) as Array<{ value: string }>).map((r) => r.value).sort();
    };
    assert.deepEqual(await read('read_committed'), ['committed-0', 'committed-1', 'committed-2', 'committed-3']);
    assert.deepEqual(await read('read_uncommitted'), ['aborted-0', 'aborted-1', 'aborted-2', 'committed-0', 'committed-1', 'committed-2', 'committed-3']);
  });
});
