/**
 * kafkajs 2.2.4's alterPartitionReassignments / listPartitionReassignments against a three-broker cluster on
 * etcd: kafkajs sends them to Metadata's controller; the partition's data moves to the new replica, and kafkajs
 * reads it all back afterwards.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { Kafka, logLevel } from 'kafkajs';
import { startBroker, type RunningBroker } from '../../src/index.js';
import { startEtcd } from '../helpers/etcd.js';

const FAST = { 'replica.fetch.wait.max.ms': '100', 'replica.fetch.backoff.ms': '100', 'offsets.topic.num.partitions': '3', 'transaction.state.log.num.partitions': '3', 'group.initial.rebalance.delay.ms': '0' };

async function until(what: string, ok: () => Promise<boolean>, ms = 20_000): Promise<void> {
  const deadline = Date.now() + ms;
  while (!(await ok())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

describe('kafkajs partition reassignment on a cluster', () => {
  let etcd: Awaited<ReturnType<typeof startEtcd>>;
  const dirs: string[] = [];
  const brokers: RunningBroker[] = [];
  before(async () => {
    etcd = await startEtcd();
    for (let id = 1; id <= 3; id++) {
      const dir = mkdtempSync(join(tmpdir(), `tributary-kafkajs-reassign-${id}-`));
      dirs.push(dir);
      brokers.push(await startBroker({ port: 0, dataDir: dir, logLevel: 'warn', config: { ...FAST, 'etcd.connect': etcd.endpoint, 'node.id': id } }));
    }
  });
  after(async () => {
    for (const b of brokers) await b.close().catch(() => undefined);
    await etcd?.stop();
    for (const d of dirs) rmSync(d, { recursive: true, force: true });
  });

  test('alterPartitionReassignments moves {1,2} to {2,3}; the records are all there', async () => {
    const kafka = new Kafka({ clientId: 'tributary-compat', brokers: brokers.map((b) => b.address), logLevel: logLevel.NOTHING, retry: { retries: 8, initialRetryTime: 100, maxRetryTime: 500 } });
    const admin = kafka.admin();
    const producer = kafka.producer();
    const consumer = kafka.consumer({ groupId: 'reassign-reader' });
    try {
      await admin.connect();
      await admin.createTopics({ topics: [{ topic: 'js-moving', replicaAssignment: [{ partition: 0, replicas: [1, 2] }] }], waitForLeaders: true });
      await producer.connect();
      for (let i = 0; i < 10; i++) await producer.send({ topic: 'js-moving', acks: -1, messages: Array.from({ length: 10 }, (_, j) => ({ value: `m${i * 10 + j}` })) });
      await admin.alterPartitionReassignments({ topics: [{ topic: 'js-moving', partitionAssignment: [{ partition: 0, replicas: [2, 3] }] }] });
      await until('reassignment complete', async () => {
        const listed = await admin.listPartitionReassignments({});
        const md = await admin.fetchTopicMetadata({ topics: ['js-moving'] });
        const p = md.topics[0]!.partitions[0]!;
        return listed.topics.length === 0 && p.replicas.join() === '2,3' && [...p.isr].sort().join() === '2,3';
      });
      await until('broker 1 dropped its replica', async () => brokers[0]!.context.topics.tryLog('js-moving', 0) === undefined);
      await consumer.connect();
      await consumer.subscribe({ topic: 'js-moving', fromBeginning: true });
      const seen: string[] = [];
      await consumer.run({ eachMessage: async ({ message }) => void seen.push(message.value!.toString()) });
      await until('all records consumed', async () => seen.length >= 100);
      assert.deepEqual(seen, Array.from({ length: 100 }, (_, i) => `m${i}`));
    } finally {
      await consumer.disconnect().catch(() => undefined);
      await producer.disconnect().catch(() => undefined);
      await admin.disconnect().catch(() => undefined);
    }
  });
});
