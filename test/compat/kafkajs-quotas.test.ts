/**
 * Client quotas against a real client: kafkajs 2.2.4 producing three times its producer_byte_rate (set with our
 * Admin on its client id) is held to the quota — the broker answers each throttled Produce at once with
 * throttle_time_ms and stops reading the connection for that long (KIP-219). The rate is measured on the
 * acknowledgements after the first seconds (the quota window's burst allowance), on a broker with five 1 s
 * quota samples so that the steady state comes within a few seconds.
 */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { Kafka, logLevel, Partitioners, type Producer } from 'kafkajs';
import { startTestBroker, type TestBroker } from './support/broker.js';
import { Admin } from '../../src/client/admin.js';

describe('kafkajs over its producer_byte_rate', () => {
  let broker: TestBroker;
  let admin: Admin;
  let producer: Producer;
  before(async () => {
    broker = await startTestBroker({ 'quota.window.num': '5', 'quota.window.size.seconds': '1' });
    admin = new Admin({ bootstrapServers: broker.address, retries: 1 });
    await admin.connect();
    await admin.createTopics([{ name: 'kafkajs-quota', numPartitions: 1 }]);
    const kafka = new Kafka({ clientId: 'kafkajs-paced', brokers: [broker.address], logLevel: logLevel.NOTHING, retry: { retries: 3 } });
    producer = kafka.producer({ idempotent: false, allowAutoTopicCreation: false, createPartitioner: Partitioners.DefaultPartitioner });
    await producer.connect();
  });
  after(async () => {
    await producer?.disconnect();
    await admin?.close();
    await broker?.close();
  });

  test('is held within 10 % of the quota', async () => {
    const quota = 100_000;
    const results = await admin.alterClientQuotas([{ entity: { 'client-id': 'kafkajs-paced' }, ops: [{ key: 'producer_byte_rate', value: quota }] }]);
    assert.equal(results[0]!.error, null);
    const value = Buffer.alloc(10_000, 7);
    const acked: number[] = [];
    const sends: Array<Promise<unknown>> = [];
    const start = Date.now();
    const durationMs = 10_000;
    try {
      // 10 kB every 33 ms (one Produce each): 300 kB/s offered.
      for (let i = 0; Date.now() - start < durationMs; i++) {
        sends.push(producer.send({ topic: 'kafkajs-quota', acks: 1, messages: [{ value }] }).then(() => { acked.push(Date.now() - start); }));
        const next = start + Math.round((i + 1) * 33.3);
        if (next > Date.now()) await new Promise((r) => setTimeout(r, next - Date.now()));
      }
      const from = 4000, to = durationMs;
      const rate = (acked.filter((t) => t >= from && t < to).length * value.length) / ((to - from) / 1000);
      console.log(`kafkajs offered ${Math.round((sends.length * value.length) / (durationMs / 1000))} B/s, achieved ${Math.round(rate)} B/s between ${from} and ${to} ms (quota ${quota})`);
      assert.ok(Math.abs(rate - quota) <= quota * 0.1, `achieved ${Math.round(rate)} B/s, quota ${quota}`);
    } finally {
      await admin.alterClientQuotas([{ entity: { 'client-id': 'kafkajs-paced' }, ops: [{ key: 'producer_byte_rate', value: null }] }]);
      await Promise.allSettled(sends);
    }
  });
});
