/**
 * Every real client against a 3-broker Tributary cluster (three broker processes on one etcd), topics with
 * replication factor 3 (issue 10): kcat, kafka-python, confluent-kafka (idempotent + transactional, read_committed
 * group), kafkajs (idempotent, transactions with sendOffsets, group, admin), @platformatic/kafka (produce, group)
 * and librdkafka 2.15 with group.protocol=consumer (KIP-848). Each test reads back exact records and checks that
 * every partition of its topics has 3 replicas, all in the ISR.
 */
import assert from 'node:assert/strict';
import { createRequire } from 'node:module';
import { after, before, describe, test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { Kafka, logLevel } from 'kafkajs';
import { Admin as PlatformaticAdmin, Consumer as PlatformaticConsumer, ProduceAcks, Producer as PlatformaticProducer, stringDeserializers, type Message } from '@platformatic/kafka';
import { startProcessCluster, until, type ProcessCluster } from './support/cluster.js';
import { run, runJson } from './support/processes.js';
import { PYTHON } from './support/python-suite.js';
import { Admin } from '../../src/client/admin.js';

const SCRIPTS = fileURLToPath(new URL('../../../test/compat/python/', import.meta.url));
const requireRdk = createRequire(new URL('../../../test/compat/librdkafka/package.json', import.meta.url));

const sorted = (xs: readonly string[]): string[] => [...xs].sort();
const range = (n: number, f: (i: number) => string): string[] => Array.from({ length: n }, (_, i) => f(i));

describe('real clients against a 3-broker cluster (replication factor 3)', () => {
  let cluster: ProcessCluster;
  let admin: Admin;

  before(async () => {
    cluster = await startProcessCluster(3, { 'group.consumer.heartbeat.interval.ms': '250' });
    admin = new Admin({ bootstrapServers: cluster.bootstrap() });
  });
  after(async () => {
    await admin?.close().catch(() => undefined);
    await cluster?.stop();
  });

  /** Every partition of `topics` has replicas [1, 2, 3], all in the ISR, and a leader. */
  const assertRf3 = async (topics: string[], partitions: number): Promise<void> => {
    const ds = await cluster.waitForFullIsr(topics);
    for (const d of ds) {
      assert.equal(d.partitions.length, partitions, d.name);
      for (const p of d.partitions) {
        assert.deepEqual([...p.replicas].sort(), [1, 2, 3], `${d.name}/${p.partition} replicas`);
        assert.deepEqual([...p.isr].sort(), [1, 2, 3], `${d.name}/${p.partition} ISR`);
      }
    }
  };

  test('kcat: -L shows 3 brokers and ISR 3; produce acks=all; consume every record', async () => {
    const topic = 'cl-kcat';
    await admin.createTopics([{ name: topic, numPartitions: 3 }]);
    await assertRf3([topic], 3);
    const kcat = (args: readonly string[], input?: string) => run('kcat', ['-b', cluster.bootstrap(), '-m', '15', ...args], { input, timeoutMs: 30_000 });
    const md = JSON.parse((await kcat(['-L', '-J', '-t', topic])).stdout) as {
      brokers: Array<{ id: number }>;
      topics: Array<{ topic: string; partitions: Array<{ partition: number; replicas: Array<{ id: number }>; isrs: Array<{ id: number }> }> }>;
    };
    assert.deepEqual(md.brokers.map((b) => b.id).sort(), [1, 2, 3]);
    const t = md.topics.find((x) => x.topic === topic)!;
    assert.equal(t.partitions.length, 3);
    for (const p of t.partitions) {
      assert.equal(p.replicas.length, 3);
      assert.equal(p.isrs.length, 3);
    }
    const values = range(60, (i) => `kcat-${i}`);
    await kcat(['-P', '-t', topic, '-K', ':', '-X', 'acks=all', '-X', 'linger.ms=10'], values.map((v, i) => `k${i % 7}:${v}`).join('\n') + '\n');
    const { stdout } = await kcat(['-C', '-t', topic, '-o', 'beginning', '-e', '-q', '-f', '%p|%k|%s\\n']);
    const lines = stdout.split('\n').filter(Boolean).map((l) => l.split('|'));
    assert.deepEqual(sorted(lines.map((l) => l[2]!)), sorted(values));
    // One key, one partition.
    const partitionOf = new Map<string, string>();
    for (const [p, k] of lines) {
      assert.equal(partitionOf.get(k!) ?? p, p, `key ${k} in two partitions`);
      partitionOf.set(k!, p!);
    }
  });

  test('kafka-python: admin create/describe RF 3, acks=all producer, classic group consumer commits', async () => {
    const topic = 'cl-kafka-python';
    const py = <T>(script: string, args: readonly string[], input?: string): Promise<T> =>
      runJson<T>(PYTHON, [`${SCRIPTS}${script}`, cluster.bootstrap(), ...args], { input, timeoutMs: 60_000 });
    const created = await py<{ errors: Array<{ topic: string; error: string | null }> }>('kafka_python_admin.py', ['create', topic, '3', '3']);
    assert.deepEqual(created.errors, [{ topic, error: null }]);
    await assertRf3([topic], 3);
    const described = await py<{ topics: Array<{ name: string; partitions: Array<{ partition: number; leader: number; replicas: number[]; isr: number[] }> }> }>(
      'kafka_python_admin.py', ['describe', topic]);
    assert.deepEqual(described.topics[0]!.partitions.map((p) => [p.partition, p.replicas, p.isr]), [0, 1, 2].map((p) => [p, [1, 2, 3], [1, 2, 3]]));

    const records = range(45, (i) => `kp-${i}`).map((value, i) => ({ key: `key-${i % 5}`, value, headers: [] }));
    const acks = await py<Array<{ partition: number; offset: number }>>('kafka_python_produce.py', [topic, 'none'], JSON.stringify(records));
    assert.equal(acks.length, 45);

    const out = await runJson<{ records: Array<{ partition: number; offset: number; value: string }>; commits: Record<string, number> }>(
      PYTHON, [`${SCRIPTS}kafka_python_group.py`, 'commit', cluster.bootstrap(), topic, 'cl-kp-group', '45'], { timeoutMs: 60_000 });
    assert.deepEqual(sorted(out.records.map((r) => r.value)), sorted(records.map((r) => r.value)));
    // Each record where its acknowledgement said.
    const placed = new Map(records.map((r, i) => [r.value, acks[i]!]));
    for (const r of out.records) assert.deepEqual({ partition: r.partition, offset: r.offset }, placed.get(r.value));
    const offsets = await admin.listGroupOffsets('cl-kp-group');
    const expected = [0, 1, 2].map((p) => acks.filter((a) => a.partition === p).length).map((n, p) => [p, n]).filter(([, n]) => n > 0);
    assert.deepEqual(offsets.filter((o) => o.topic === topic).map((o) => [o.partition, Number(o.offset)]).sort((a, b) => a[0]! - b[0]!), expected);
  });

  test('confluent-kafka: transactional (idempotent) producer commits and aborts; read_committed group; exact output', async () => {
    type Rec = [partition: number, offset: number, value: string];
    interface Txn { n: number; outcome: 'commit' | 'abort'; inputs: Rec[]; sent: Record<string, number>; committed: Record<string, number> }
    const py = <T>(args: readonly string[]): Promise<T> => runJson<T>(PYTHON, [`${SCRIPTS}confluent_kafka_txn.py`, cluster.bootstrap(), ...args], { timeoutMs: 90_000 });
    await admin.createTopics([{ name: 'cl-ck-in', numPartitions: 2 }, { name: 'cl-ck-out', numPartitions: 2 }]);
    await assertRf3(['cl-ck-in', 'cl-ck-out'], 2);
    const COUNT = 24;
    const out = await py<{ txns: Txn[]; final: Record<string, number> }>(['ctp', 'cl-ck-in', 'cl-ck-out', 'cl-ck-group', 'cl-ck-txn', String(COUNT), '4', '3']);
    const committed = out.txns.filter((t) => t.outcome === 'commit');
    assert.ok(out.txns.some((t) => t.outcome === 'abort'), 'some transaction aborted');
    assert.deepEqual(out.final, { 0: COUNT / 2, 1: COUNT / 2 });
    const read = await py<{ records: Rec[] }>(['read', 'cl-ck-out', 'read_committed']);
    const expected = committed.flatMap((t) => t.inputs.map(([, , v]) => `${v}|t${t.n}`));
    assert.deepEqual(sorted(read.records.map(([, , v]) => v)), sorted(expected));
    assert.deepEqual(new Set(read.records.map(([, , v]) => v.split('|')[0])), new Set(range(COUNT, (i) => `in-${i}`)));
    const uncommitted = await py<{ records: Rec[] }>(['read', 'cl-ck-out', 'read_uncommitted']);
    assert.deepEqual(sorted(uncommitted.records.map(([, , v]) => v)), sorted(out.txns.flatMap((t) => t.inputs.map(([, , v]) => `${v}|t${t.n}`))));
  });

  test('kafkajs: admin, idempotent producer, transactions with sendOffsets, consumer group', async () => {
    const kafka = new Kafka({ clientId: 'cl-kafkajs', brokers: cluster.bootstrap().split(','), logLevel: logLevel.NOTHING, retry: { retries: 10 } });
    const kadmin = kafka.admin();
    const producer = kafka.producer({ idempotent: true, maxInFlightRequests: 1 });
    const txProducer = kafka.producer({ transactionalId: 'cl-kafkajs-txn', idempotent: true, maxInFlightRequests: 1 });
    const consumer = kafka.consumer({ groupId: 'cl-kafkajs-group', sessionTimeout: 10_000, heartbeatInterval: 500 });
    try {
      await kadmin.connect();
      assert.equal(await kadmin.createTopics({ topics: [{ topic: 'cl-kj-in', numPartitions: 3, replicationFactor: 3 }, { topic: 'cl-kj-out', numPartitions: 3, replicationFactor: 3 }], waitForLeaders: true }), true);
      await assertRf3(['cl-kj-in', 'cl-kj-out'], 3);
      const kmd = await kadmin.fetchTopicMetadata({ topics: ['cl-kj-in'] });
      for (const p of kmd.topics[0]!.partitions) assert.deepEqual([p.replicas.length, p.isr.length], [3, 3]);
      const desc = await kadmin.describeCluster();
      assert.deepEqual(desc.brokers.map((b) => b.nodeId).sort(), [1, 2, 3]);

      await producer.connect();
      const inputs = range(30, (i) => `kj-${i}`);
      const res = await producer.send({ topic: 'cl-kj-in', acks: -1, messages: inputs.map((value, i) => ({ key: `k${i % 6}`, value })) });
      assert.equal(res.reduce((n, r) => n + (r.errorCode === 0 ? 1 : 0), 0), res.length);

      // Three transactions on the output topic, the middle one aborted; each sends the group's offsets.
      await txProducer.connect();
      const outcomes = ['commit', 'abort', 'commit'] as const;
      for (const [n, outcome] of outcomes.entries()) {
        const txn = await txProducer.transaction();
        await txn.send({ topic: 'cl-kj-out', messages: Array.from({ length: 9 }, (_, i) => ({ partition: i % 3, value: `t${n}-${i}` })) });
        await txn.sendOffsets({ consumerGroupId: 'cl-kj-txn-group', topics: [{ topic: 'cl-kj-in', partitions: [{ partition: 0, offset: String(n + 1) }] }] });
        if (outcome === 'commit') await txn.commit();
        else await txn.abort();
      }
      const txOffsets = await kadmin.fetchOffsets({ groupId: 'cl-kj-txn-group', topics: ['cl-kj-in'] });
      assert.equal(txOffsets[0]!.partitions.find((p) => p.partition === 0)!.offset, '3');

      // A read_committed group reads the output: the committed transactions' records, nothing of the aborted one.
      const seenOut: string[] = [];
      const seenIn: string[] = [];
      await consumer.connect();
      await consumer.subscribe({ topics: ['cl-kj-out', 'cl-kj-in'], fromBeginning: true });
      await consumer.run({ eachMessage: async ({ topic, message }) => { (topic === 'cl-kj-out' ? seenOut : seenIn).push(message.value!.toString()); } });
      await until('the group to read 18 + 30 records', () => (seenOut.length >= 18 && seenIn.length >= 30 ? true : undefined), 40_000);
      await new Promise((r) => setTimeout(r, 500));
      assert.deepEqual(sorted(seenOut), sorted([...range(9, (i) => `t0-${i}`), ...range(9, (i) => `t2-${i}`)]));
      assert.deepEqual(sorted(seenIn), sorted(inputs));
      await consumer.stop();
      const groupOffsets = await kadmin.fetchOffsets({ groupId: 'cl-kafkajs-group', topics: ['cl-kj-in'] });
      assert.equal(groupOffsets[0]!.partitions.reduce((n, p) => n + Number(p.offset), 0), 30);
    } finally {
      await consumer.disconnect().catch(() => undefined);
      await txProducer.disconnect().catch(() => undefined);
      await producer.disconnect().catch(() => undefined);
      await kadmin.disconnect().catch(() => undefined);
    }
  });

  test('@platformatic/kafka: acks=all idempotent produce and a consumer group read every record', async () => {
    const topic = 'cl-platformatic';
    const bootstrapBrokers = cluster.bootstrap().split(',');
    const padmin = new PlatformaticAdmin({ clientId: 'cl-platformatic', bootstrapBrokers });
    const producer = new PlatformaticProducer({ clientId: 'cl-platformatic', bootstrapBrokers, idempotent: true, acks: ProduceAcks.ALL });
    const consumer = new PlatformaticConsumer({ clientId: 'cl-platformatic', groupId: 'cl-platformatic-group', bootstrapBrokers, deserializers: stringDeserializers });
    try {
      await padmin.createTopics({ topics: [topic], partitions: 3, replicas: 3 });
      await assertRf3([topic], 3);
      const values = range(40, (i) => `pl-${i}`);
      await producer.send({ messages: values.map((v, i) => ({ topic, partition: i % 3, value: Buffer.from(v) })) });
      const stream = await consumer.consume({ topics: [topic], mode: 'earliest', autocommit: false, maxWaitTime: 200 });
      const seen: Array<Message<string, string, string, string>> = [];
      stream.on('data', (m: Message<string, string, string, string>) => { seen.push(m); });
      await until('40 records', () => (seen.length >= 40 ? true : undefined), 30_000);
      assert.deepEqual(sorted(seen.map((m) => m.value)), sorted(values));
      for (const m of seen) assert.equal(m.partition, Number(m.value.slice(3)) % 3);
      await stream.close();
    } finally {
      await Promise.resolve(consumer.close(true)).catch(() => undefined);
      await producer.close().catch(() => undefined);
      await padmin.close().catch(() => undefined);
    }
  });

  test('librdkafka 2.15 (group.protocol=consumer, KIP-848): two members split the topic, commit, a new member resumes', async () => {
    const Rdk = requireRdk('@confluentinc/kafka-javascript') as any;
    const topic = 'cl-kip848';
    await admin.createTopics([{ name: topic, numPartitions: 4 }]);
    await assertRf3([topic], 4);
    const kafka = new Kafka({ clientId: 'cl-kip848-producer', brokers: cluster.bootstrap().split(','), logLevel: logLevel.NOTHING });

    const open: any[] = [];
    const newConsumer = async (): Promise<any> => {
      const c = new Rdk.KafkaConsumer({
        'bootstrap.servers': cluster.bootstrap(), 'group.id': 'cl-kip848-group', 'group.protocol': 'consumer',
        'enable.auto.commit': false, 'client.id': 'cl-kip848',
      }, { 'auto.offset.reset': 'earliest' });
      c.setDefaultConsumeTimeout(100);
      open.push(c);
      await new Promise<void>((resolve, reject) => c.connect({ timeout: 10_000 }, (err: Error | null) => (err ? reject(err) : resolve())));
      c.subscribe([topic]);
      return c;
    };
    const consume = (c: any): Promise<Array<{ partition: number; offset: number; value: Buffer }>> =>
      new Promise((resolve, reject) => c.consume(100, (err: Error | null, msgs: any[]) => (err ? reject(err) : resolve(msgs))));
    const owned = (c: any): number[] => (c.assignments() as Array<{ partition: number }>).map((a) => a.partition).sort();
    try {
      const a = await newConsumer();
      const b = await newConsumer();
      const seen: string[][] = [[], []];
      // The split first (so each member reads, and so commits, its own partitions), then the records.
      await until('a 2/2 split', async () => {
        await Promise.all([consume(a), consume(b)]);
        return owned(a).length === 2 && owned(b).length === 2 ? true : undefined;
      }, 40_000, 0);
      const producer = kafka.producer({ idempotent: true, maxInFlightRequests: 1 });
      await producer.connect();
      await producer.send({ topic, acks: -1, messages: range(40, (i) => `v${i}`).map((value, i) => ({ partition: i % 4, value })) });
      await producer.disconnect();
      await until('40 records', async () => {
        const batches = await Promise.all([consume(a), consume(b)]);
        batches.forEach((msgs, i) => seen[i]!.push(...msgs.map((m) => m.value.toString())));
        return owned(a).length === 2 && owned(b).length === 2 && seen[0]!.length + seen[1]!.length >= 40 ? true : undefined;
      }, 40_000, 0);
      assert.deepEqual([...owned(a), ...owned(b)].sort(), [0, 1, 2, 3]);
      assert.deepEqual(sorted([...seen[0]!, ...seen[1]!]), sorted(range(40, (i) => `v${i}`)));
      a.commitSync(null);
      b.commitSync(null);
      let last = '';
      await until('the commits to land', async () => {
        const offsets = await admin.listGroupOffsets('cl-kip848-group');
        last = JSON.stringify(offsets.map((o) => [o.topic, o.partition, Number(o.offset)]));
        return offsets.filter((o) => o.topic === topic).reduce((n, o) => n + Number(o.offset), 0) === 40 ? true : undefined;
      }, 20_000, 200).catch((err: Error) => { throw new Error(`${err.message}; offsets ${last}`); });
      await Promise.all(open.splice(0).map((c) => new Promise<void>((resolve) => c.disconnect(() => resolve()))));

      // 8 more records; a new member reads exactly those (it resumes from the committed offsets).
      const p2 = kafka.producer({ idempotent: true, maxInFlightRequests: 1 });
      await p2.connect();
      await p2.send({ topic, acks: -1, messages: range(8, (i) => `w${i}`).map((value, i) => ({ partition: i % 4, value })) });
      await p2.disconnect();
      const c = await newConsumer();
      const resumed: string[] = [];
      await until('8 new records', async () => {
        resumed.push(...(await consume(c)).map((m) => m.value.toString()));
        return resumed.length >= 8 && owned(c).length === 4 ? true : undefined;
      }, 40_000, 0);
      await new Promise((r) => setTimeout(r, 300));
      resumed.push(...(await consume(c)).map((m) => m.value.toString()));
      assert.deepEqual(sorted(resumed), sorted(range(8, (i) => `w${i}`)));
    } finally {
      await Promise.all(open.map((c) => new Promise<void>((resolve) => c.disconnect(() => resolve()))));
    }
  });
});
