/**
 * librdkafka 2.15 (@confluentinc/kafka-javascript 1.10.1, the separate package in test/compat/librdkafka,
 * installed by `npm run test:compat` when missing) with group.protocol=consumer (KIP-848) against Tributary:
 * ConsumerGroupHeartbeat v1 with client-generated member ids and SubscribedTopicRegex "" for a list
 * subscription; two consumers splitting a topic's partitions; commit and resume from the committed offsets
 * in a new consumer; a regex subscription (librdkafka's '^' prefix) resolved on the broker, including a
 * topic created after the subscription.
 */
import assert from 'node:assert/strict';
import { createRequire } from 'node:module';
import { after, before, describe, test } from 'node:test';
import { startTestBroker, type TestBroker } from './support/broker.js';
import { Admin } from '../../src/client/admin.js';
import { Producer } from '../../src/client/producer.js';
import { RawClient } from '../helpers/raw-client.js';

const requireRdk = createRequire(new URL('../../../test/compat/librdkafka/package.json', import.meta.url));
const Kafka = requireRdk('@confluentinc/kafka-javascript') as any;

const CG_DESCRIBE = 69;

interface Msg { topic: string; partition: number; offset: number; value: Buffer | null }

function connect(c: any): Promise<void> {
  return new Promise((resolve, reject) => c.connect({ timeout: 10_000 }, (err: Error | null) => (err ? reject(err) : resolve())));
}

function disconnect(c: any): Promise<void> {
  return new Promise((resolve) => c.disconnect(() => resolve()));
}

function consumeOnce(c: any, n: number): Promise<Msg[]> {
  return new Promise((resolve, reject) => c.consume(n, (err: Error | null, msgs: Msg[]) => (err ? reject(err) : resolve(msgs))));
}

function newConsumer(address: string, group: string, extra: Record<string, unknown> = {}): any {
  const c = new Kafka.KafkaConsumer({
    'bootstrap.servers': address,
    'group.id': group,
    'group.protocol': 'consumer',
    'enable.auto.commit': false,
    'client.id': 'librdkafka-kip848',
    ...extra,
  }, { 'auto.offset.reset': 'earliest' });
  c.setDefaultConsumeTimeout(100);
  return c;
}

/** Polls every consumer until `done()` or the deadline; returns what each read. */
async function pollUntil(consumers: any[], done: (seen: Msg[][]) => boolean, what: string, timeoutMs = 30_000): Promise<Msg[][]> {
  const seen: Msg[][] = consumers.map(() => []);
  const deadline = Date.now() + timeoutMs;
  while (!done(seen)) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}; read ${seen.map((s) => s.length).join('/')}`);
    const batches = await Promise.all(consumers.map((c) => consumeOnce(c, 100)));
    batches.forEach((b, i) => seen[i]!.push(...b));
  }
  return seen;
}

function assigned(c: any, topic: string): number[] {
  return (c.assignments() as Array<{ topic: string; partition: number }>).filter((a) => a.topic === topic).map((a) => a.partition).sort((a, b) => a - b);
}

describe('librdkafka 2.15 with group.protocol=consumer against Tributary', () => {
  let broker: TestBroker;
  let admin: Admin;
  let producer: Producer;
  let raw: RawClient;
  const open: any[] = [];

  before(async () => {
    // A short heartbeat interval so that reconciliation takes a few hundred milliseconds.
    broker = await startTestBroker({ 'group.consumer.heartbeat.interval.ms': '250', 'offsets.topic.num.partitions': '3' });
    admin = new Admin({ bootstrapServers: broker.address });
    producer = new Producer({ bootstrapServers: broker.address });
    raw = await RawClient.connect(broker.address);
    assert.match(Kafka.librdkafkaVersion, /^2\.15\./);
  });
  after(async () => {
    for (const c of open) await disconnect(c);
    raw?.close();
    await producer?.close();
    await admin?.close();
    await broker?.close();
  });

  const produce = async (topic: string, from: number, count: number, partitions: number): Promise<void> => {
    await producer.sendBatch(Array.from({ length: count }, (_, i) => ({ topic, partition: (from + i) % partitions, value: `v${from + i}` })));
  };

  test('subscribe by list: two consumers split four partitions, read every record once; the group is a consumer group', async () => {
    const topic = 'rdk-list';
    await admin.createTopics([{ name: topic, numPartitions: 4 }]);
    await produce(topic, 0, 40, 4);
    const a = newConsumer(broker.address, 'rdk-g1');
    const b = newConsumer(broker.address, 'rdk-g1');
    open.push(a, b);
    await connect(a);
    await connect(b);
    a.subscribe([topic]);
    b.subscribe([topic]);
    const seen = await pollUntil([a, b], (s) => {
      const pa = assigned(a, topic), pb = assigned(b, topic);
      return s[0]!.length + s[1]!.length >= 40 && pa.length === 2 && pb.length === 2;
    }, 'both members to hold two partitions and 40 records');
    const values = [...seen[0]!, ...seen[1]!].map((m) => m.value!.toString()).sort();
    assert.deepEqual(values, Array.from({ length: 40 }, (_, i) => `v${i}`).sort(), 'every record once');
    assert.deepEqual([...assigned(a, topic), ...assigned(b, topic)].sort(), [0, 1, 2, 3], 'disjoint and complete');

    const d = await raw.send(CG_DESCRIBE, 1, { groupIds: ['rdk-g1'], includeAuthorizedOperations: false });
    const g = d.groups[0];
    assert.equal(g.errorCode, 0);
    assert.equal(g.groupState, 'Stable');
    assert.equal(g.members.length, 2);
    for (const m of g.members) {
      assert.ok(m.memberId.length > 0, 'librdkafka chose its member id (KIP-1082)');
      assert.equal(m.subscribedTopicRegex, null, 'the empty regex of a list subscription means none');
      assert.deepEqual(m.subscribedTopicNames, [topic]);
      assert.equal(m.memberType, 1);
    }
  });

  test('commit, then a new consumer of the group resumes after the committed offsets', async () => {
    const topic = 'rdk-commit';
    await admin.createTopics([{ name: topic, numPartitions: 2 }]);
    await produce(topic, 0, 20, 2);
    const first = newConsumer(broker.address, 'rdk-g2');
    await connect(first);
    first.subscribe([topic]);
    const read = await pollUntil([first], (s) => s[0]!.length >= 20, '20 records');
    assert.equal(read[0]!.length, 20);
    // Asynchronous commit: commitSync would block the one JS thread the in-process broker also runs on.
    first.commit();
    const deadline = Date.now() + 10_000;
    for (;;) {
      const offsets = await admin.listGroupOffsets('rdk-g2');
      if (offsets.length === 2 && offsets.every((o) => Number(o.offset) === 10)) break;
      assert.ok(Date.now() < deadline, `the commit did not land: ${JSON.stringify(offsets.map((o) => [o.partition, Number(o.offset)]))}`);
      await consumeOnce(first, 1);
    }
    await disconnect(first);

    await produce(topic, 20, 10, 2);
    const second = newConsumer(broker.address, 'rdk-g2');
    open.push(second);
    await connect(second);
    second.subscribe([topic]);
    const resumed = await pollUntil([second], (s) => s[0]!.length >= 10, '10 new records');
    // A little longer: nothing older may follow.
    resumed[0]!.push(...await consumeOnce(second, 100));
    assert.deepEqual(resumed[0]!.map((m) => m.value!.toString()).sort(), Array.from({ length: 10 }, (_, i) => `v${20 + i}`).sort());
  });

  test('subscribe by regex: resolved on the broker, and a topic created later is picked up', async () => {
    await admin.createTopics([{ name: 'rdkre-a', numPartitions: 1 }, { name: 'rdkre-b', numPartitions: 2 }, { name: 'other-rdkre', numPartitions: 1 }]);
    await produce('rdkre-a', 0, 5, 1);
    await produce('rdkre-b', 5, 6, 2);
    await produce('other-rdkre', 100, 3, 1);
    const c = newConsumer(broker.address, 'rdk-g3');
    open.push(c);
    await connect(c);
    c.subscribe(['^rdkre-.*']);
    const seen = await pollUntil([c], (s) => s[0]!.length >= 11, '11 records of rdkre-a and rdkre-b');
    const d = await raw.send(CG_DESCRIBE, 1, { groupIds: ['rdk-g3'], includeAuthorizedOperations: false });
    const member = d.groups[0].members[0];
    assert.ok(member.subscribedTopicRegex !== null && member.subscribedTopicRegex !== '', `librdkafka sent a regex (${member.subscribedTopicRegex})`);

    await admin.createTopics([{ name: 'rdkre-c', numPartitions: 1 }]);
    await produce('rdkre-c', 200, 4, 1);
    const more = await pollUntil([c], (s) => s[0]!.some((m) => m.topic === 'rdkre-c') && s[0]!.filter((m) => m.topic === 'rdkre-c').length >= 4, 'the new topic rdkre-c', 40_000);
    const topics = new Set([...seen[0]!, ...more[0]!].map((m) => m.topic));
    assert.deepEqual([...topics].sort(), ['rdkre-a', 'rdkre-b', 'rdkre-c'], "'other-rdkre' does not match '^rdkre-.*'");
    assert.equal(more[0]!.filter((m) => m.topic === 'rdkre-c').length, 4);
  });
});
