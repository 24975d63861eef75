/**
 * @platformatic/kafka 1.22 with groupProtocol 'consumer' (KIP-848: ConsumerGroupHeartbeat, server-side
 * assignor) against Tributary — the one client here that speaks the new protocol. Two consumers split a
 * four-partition topic and read every record; a commit carries the member epoch; when one leaves, the
 * other is handed its partitions.
 */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import type { EventEmitter } from 'node:events';
import { Admin, Consumer, ProduceAcks, Producer, stringDeserializers, type Message, type MessagesStream } from '@platformatic/kafka';
import { startTestBroker, type TestBroker } from './support/broker.js';
import { RawClient } from '../helpers/raw-client.js';

const TOPIC = 'kip848-orders';
const GROUP = 'kip848-platformatic';
const COUNT = 40;
const CG_DESCRIBE = 69, OFFSET_FETCH = 9;

type Stream = MessagesStream<string, string, string, string>;

function owned(c: Consumer<string, string, string, string>): number[] {
  return (c.assignments ?? []).filter((a) => a.topic === TOPIC).flatMap((a) => a.partitions).sort((a, b) => a - b);
}

/** Resolves once `cond` holds, re-checking whenever one of the emitters emits one of the events. */
function until(cond: () => boolean, sources: Array<[EventEmitter, string]>, what: string, timeoutMs = 30_000): Promise<void> {
  return new Promise((resolve, reject) => {
    const check = (): void => {
      if (!cond()) return;
      done();
      resolve();
    };
    const timer = setTimeout(() => {
      done();
      reject(new Error(`timed out waiting for ${what}`));
    }, timeoutMs);
    const done = (): void => {
      clearTimeout(timer);
      for (const [e, name] of sources) e.off(name, check);
    };
    for (const [e, name] of sources) e.on(name, check);
    check();
  });
}

describe('@platformatic/kafka KIP-848 consumer group against Tributary', () => {
  let broker: TestBroker;
  let admin: Admin;
  let producer: Producer;
  const consumers: Array<Consumer<string, string, string, string>> = [];
  const streams: Stream[] = [];
  before(async () => {
    // A short heartbeat interval so that reconciliation takes a few hundred milliseconds.
    broker = await startTestBroker({ 'group.consumer.heartbeat.interval.ms': '200', 'offsets.topic.num.partitions': '3' });
    admin = new Admin({ clientId: 'tributary-compat', bootstrapBrokers: [broker.address] });
    producer = new Producer({ clientId: 'tributary-compat', bootstrapBrokers: [broker.address], idempotent: false, acks: ProduceAcks.ALL });
  });
  after(async () => {
    for (const s of streams) await s.close();
    for (const c of consumers) await c.close(true);
    await producer?.close();
    await admin?.close();
    await broker?.close();
  });

  test('two members split the partitions and read every record; a commit carries the epoch; a leaver hands over', async () => {
    await admin.createTopics({ topics: [TOPIC], partitions: 4, replicas: 1 });
    await producer.send({ messages: Array.from({ length: COUNT }, (_, i) => ({ topic: TOPIC, partition: i % 4, value: Buffer.from(`v-${i}`) })) });

    const seen: Array<[string, number, string]> = [];
    const last = new Map<string, Message<string, string, string, string>>();
    const closing = new Set<string>();
    const streamErrors: Error[] = [];
    const join = async (clientId: string): Promise<Consumer<string, string, string, string>> => {
      const c = new Consumer({ clientId, groupId: GROUP, bootstrapBrokers: [broker.address], groupProtocol: 'consumer', deserializers: stringDeserializers });
      consumers.push(c);
      const stream = await c.consume({ topics: [TOPIC], mode: 'committed', fallbackMode: 'earliest', autocommit: false, maxWaitTime: 200 });
      stream.on('data', (m: Message<string, string, string, string>) => {
        seen.push([clientId, m.partition, m.value]);
        last.set(clientId, m);
      });
      // 1.22 fails a fetch in flight when its consumer closes and emits that on the stream: an error only
      // while the consumer is open counts.
      stream.on('error', (e: Error) => { if (!closing.has(clientId)) streamErrors.push(e); });
      streams.push(stream);
      return c;
    };
    const c1 = await join('c1');
    const c2 = await join('c2');
    const events = (): Array<[EventEmitter, string]> => [
      ...consumers.map((c): [EventEmitter, string] => [c, 'consumer:heartbeat:end']), ...streams.map((s): [EventEmitter, string] => [s, 'data']),
    ];
    await until(() => owned(c1).length === 2 && owned(c2).length === 2 && new Set(seen.map(([, , v]) => v)).size === COUNT, events(), 'a 2/2 split and every record');
    assert.deepEqual([...owned(c1), ...owned(c2)].sort(), [0, 1, 2, 3]);
    assert.deepEqual(new Set(seen.map(([, , v]) => v)), new Set(Array.from({ length: COUNT }, (_, i) => `v-${i}`)));
    const raw = await RawClient.connect(broker.address);
    try {
      const d = await raw.send(CG_DESCRIBE, 0, { groupIds: [GROUP], includeAuthorizedOperations: false });
      assert.deepEqual([d.groups[0].errorCode, d.groups[0].groupState, d.groups[0].members.length], [0, 'Stable', 2]);

      // OffsetCommit v9 with the member's epoch.
      const m = last.get('c1')!;
      await m.commit();
      const f = await raw.send(OFFSET_FETCH, 9, { groups: [{ groupId: GROUP, memberId: null, memberEpoch: -1, topics: [{ name: TOPIC, partitionIndexes: [m.partition] }] }], requireStable: false });
      // 1.22 (the newest release whose dependencies support Node 20) commits the record's own offset, not the
      // next one as later releases do: the broker stores what was sent.
      assert.equal(f.groups[0].topics[0].partitions[0].committedOffset, m.offset);

      closing.add('c2');
      await c2.close();
      await until(() => owned(c1).length === 4, events(), 'c1 to take over every partition');
      const after = await raw.send(CG_DESCRIBE, 0, { groupIds: [GROUP], includeAuthorizedOperations: false });
      assert.deepEqual(after.groups[0].members.map((x: any) => x.clientId), ['c1']);
      assert.deepEqual(streamErrors, []);
    } finally {
      raw.close();
    }
  });
});
