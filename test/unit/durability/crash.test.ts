/**
 * Crash safety of the whole broker process: what was acknowledged with acks=all survives a
 * SIGKILL, and a torn write at the end of the newest segment is cut off on restart.
 * The broker runs through its CLI in a child process; clients are npm packages only (kafkajs to
 * produce, @platformatic/kafka's group-less fetch to read), since kcat is not there in `npm test`.
 */
import assert from 'node:assert/strict';
import { appendFile, mkdtemp, readdir, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { Kafka, logLevel, type Producer } from 'kafkajs';
import { spawnBroker, type BrokerProcess } from '../../compat/support/broker-process.js';
import { readTopic } from '../../compat/support/platformatic-read.js';

const dirs: string[] = [];
const brokers: BrokerProcess[] = [];
after(async () => {
  await Promise.all(brokers.map((b) => b.kill()));
  await Promise.all(dirs.map((d) => rm(d, { recursive: true, force: true })));
});

async function freshDir(): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), 'tributary-crash-'));
  dirs.push(dir);
  return dir;
}

async function start(dataDir: string): Promise<BrokerProcess> {
  const broker = await spawnBroker(dataDir);
  brokers.push(broker);
  return broker;
}

function client(address: string): Kafka {
  // No retries: after the kill, in-flight sends must fail fast instead of reconnecting for seconds.
  return new Kafka({ clientId: 'crash-test', brokers: [address], logLevel: logLevel.NOTHING, retry: { retries: 0 }, connectionTimeout: 2000 });
}

async function createTopic(kafka: Kafka, topic: string, numPartitions: number): Promise<void> {
  const admin = kafka.admin();
  await admin.connect();
  try {
    assert.equal(await admin.createTopics({ topics: [{ topic, numPartitions }], waitForLeaders: true }), true);
  } finally {
    await admin.disconnect();
  }
}

/** kafkajs may wait for a dead broker on disconnect; the test only needs it to let go. */
async function quietly(work: Promise<unknown>): Promise<void> {
  await work.catch(() => {});
}

interface Acked { partition: number; offset: number; value: string }

test('every record acknowledged with acks=all is at its offset after a SIGKILL mid-production', async () => {
  const dataDir = await freshDir();
  const topic = 'crash';
  const PARTITIONS = 3;
  const BATCH = 5;
  const SENDS = 400; // 2000 records at most
  const KILL_AFTER = 1000; // acknowledged records

  let broker = await start(dataDir);
  await createTopic(client(broker.address), topic, PARTITIONS);
  const producer: Producer = client(broker.address).producer({ idempotent: false, allowAutoTopicCreation: false });
  await producer.connect();

  const acked: Acked[] = [];
  let killed: Promise<void> | undefined;
  let sends = 0;
  // One sender per partition, each with one request in flight, so the kill lands between and
  // during requests on all partitions.
  const senders = [...Array(PARTITIONS).keys()].map(async (partition) => {
    while (sends < SENDS) {
      const batch = sends++;
      const values = [...Array(BATCH).keys()].map((i) => `p${partition}-b${batch}-r${i}`);
      let baseOffset: number;
      try {
        const [ack] = await producer.send({ topic, acks: -1, messages: values.map((value) => ({ value, partition })) });
        assert.equal(ack.errorCode, 0);
        assert.equal(ack.partition, partition);
        baseOffset = Number(ack.baseOffset);
      } catch (error) {
        if (killed) return; // expected: the broker is gone
        throw error;
      }
      values.forEach((value, i) => acked.push({ partition, offset: baseOffset + i, value }));
      if (!killed && acked.length >= KILL_AFTER) killed = broker.kill();
    }
  });
  await Promise.all(senders);
  assert.ok(killed, 'production finished before the kill');
  await killed;
  await quietly(producer.disconnect());
  assert.ok(acked.length >= KILL_AFTER && acked.length < SENDS * BATCH, `${acked.length} acknowledged`);

  broker = await start(dataDir);
  const records = await readTopic(broker.address, topic);
  const at = new Map(records.map((r) => [`${r.partition}/${r.offset}`, r.value]));
  const lost = acked.filter((a) => at.get(`${a.partition}/${a.offset}`) !== a.value);
  assert.deepEqual(lost.slice(0, 5), [], `${lost.length} of ${acked.length} acknowledged records are not at their offsets`);

  // The log has no holes and no repeats: offsets run 0, 1, 2 … in each partition.
  for (let partition = 0; partition < PARTITIONS; partition++) {
    const offsets = records.filter((r) => r.partition === partition).map((r) => r.offset);
    assert.deepEqual(offsets, [...offsets.keys()], `partition ${partition} offsets`);
  }

  // And the restarted broker appends right after what it recovered.
  const again = client(broker.address).producer({ idempotent: false });
  await again.connect();
  try {
    const [ack] = await again.send({ topic, acks: -1, messages: [{ value: 'after-restart', partition: 0 }] });
    assert.equal(Number(ack.baseOffset), records.filter((r) => r.partition === 0).length);
  } finally {
    await quietly(again.disconnect());
  }
  await broker.stop();
});

/** The newest (highest base offset) .log file in the directory of `topic`-`partition`, wherever the data dir nests it. */
async function newestSegment(dataDir: string, topic: string, partition: number): Promise<string> {
  const wanted = `${topic}-${partition}`;
  const entries = await readdir(dataDir, { recursive: true, withFileTypes: true });
  const dir = entries.find((e) => e.isDirectory() && e.name === wanted);
  assert.ok(dir, `no ${wanted} directory under ${dataDir}`);
  const path = join(dir.parentPath, dir.name);
  const logs = (await readdir(path)).filter((name) => name.endsWith('.log')).sort();
  assert.ok(logs.length > 0, `no .log segment in ${path}`);
  return join(path, logs[logs.length - 1]);
}

test('a torn write after the last batch of the newest segment is truncated on restart', async () => {
  const dataDir = await freshDir();
  const topic = 'torn';
  let broker = await start(dataDir);
  await createTopic(client(broker.address), topic, 1);
  const producer = client(broker.address).producer({ idempotent: false, allowAutoTopicCreation: false });
  await producer.connect();
  const values: string[] = [];
  for (let batch = 0; batch < 3; batch++) {
    const messages = [...Array(5).keys()].map((i) => ({ value: `b${batch}-r${i}`, partition: 0 }));
    await producer.send({ topic, acks: -1, messages });
    values.push(...messages.map((m) => m.value));
  }
  await quietly(producer.disconnect());
  // A crash, not a clean stop: that is when a torn write can be left behind, and recovery must run.
  await broker.kill();

  const segment = await newestSegment(dataDir, topic, 0);
  const goodSize = (await stat(segment)).size;
  assert.ok(goodSize > 0, 'the segment holds the three batches');
  // The start of a batch that never finished: baseOffset 15, batchLength 500, then a few bytes of it.
  const torn = Buffer.alloc(12 + 25, 0xab);
  torn.writeBigInt64BE(15n, 0);
  torn.writeInt32BE(500, 8);
  await appendFile(segment, torn);

  broker = await start(dataDir);
  assert.equal((await stat(segment)).size, goodSize, 'the torn write is still in the segment after restart');

  const records = await readTopic(broker.address, topic);
  assert.deepEqual(records.map((r) => r.value), values);
  assert.deepEqual(records.map((r) => r.offset), [...values.keys()]);

  const again = client(broker.address).producer({ idempotent: false });
  await again.connect();
  try {
    const [ack] = await again.send({ topic, acks: -1, messages: [{ value: 'after-restart', partition: 0 }] });
    assert.equal(Number(ack.baseOffset), values.length);
  } finally {
    await quietly(again.disconnect());
  }
  const appended = await readTopic(broker.address, topic, { from: new Map([[0, BigInt(values.length)]]) });
  assert.deepEqual(appended.map((r) => [r.offset, r.value]), [[values.length, 'after-restart']]);
  await broker.stop();
});
