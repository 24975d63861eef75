/**
 * kafkajs 2.2.4 while a coordinator partition changes hands: the broker resigns the group's (or the
 * transactional id's) internal-topic partition, kafkajs gets NOT_COORDINATOR, looks the coordinator up again
 * and retries (its consumer and transactional producer do; its admin fetchOffsets does not), and succeeds once the partition is elected again — with the state reloaded from the log.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { Kafka, logLevel, type Admin } from 'kafkajs';
import { startBroker, type RunningBroker } from '../../src/index.js';
import { partitionFor } from '../../src/coordinator/runtime.js';

const PARTITIONS = 5;
const ELECT_AFTER_MS = 400;

describe('kafkajs across a coordinator resignation and election', () => {
  let dir: string;
  let broker: RunningBroker;
  let kafka: Kafka;
  let admin: Admin;
  before(async () => {
    dir = mkdtempSync(join(tmpdir(), 'tributary-coordinator-move-'));
    broker = await startBroker({
      host: '127.0.0.1', port: 0, dataDir: dir, logLevel: 'silent',
      config: { 'offsets.topic.num.partitions': PARTITIONS, 'transaction.state.log.num.partitions': PARTITIONS, 'group.initial.rebalance.delay.ms': 0 },
    });
    kafka = new Kafka({
      clientId: 'tributary-compat', brokers: [broker.address], logLevel: logLevel.NOTHING, retry: { retries: 8, initialRetryTime: 100, maxRetryTime: 400 },
    });
    admin = kafka.admin();
    await admin.connect();
    await admin.createTopics({ topics: [{ topic: 'moved', numPartitions: 1 }] });
  });
  after(async () => {
    await admin?.disconnect();
    await broker?.close();
    rmSync(dir, { recursive: true, force: true });
  });

  test('a consumer retries through NOT_COORDINATOR until the group partition is elected again, then resumes from the reloaded offset', async () => {
    const groupId = 'moved-group';
    const producer = kafka.producer();
    await producer.connect();
    await producer.send({ topic: 'moved', acks: -1, messages: Array.from({ length: 8 }, (_, i) => ({ value: `v${i}` })) });
    await producer.disconnect();
    await admin.setOffsets({ groupId, topic: 'moved', partitions: [{ partition: 0, offset: '5' }] });
    const p = partitionFor(groupId, PARTITIONS);
    broker.context.groups.onResignation(p, 1);
    const started = Date.now();
    const elected = new Promise<void>((resolve, reject) => setTimeout(() => broker.context.groups.onElection(p, 2).then(resolve, reject), ELECT_AFTER_MS));
    const consumer = kafka.consumer({ groupId, sessionTimeout: 6000, heartbeatInterval: 500 });
    await consumer.connect();
    await consumer.subscribe({ topic: 'moved' });
    const seen: string[] = [];
    await new Promise<void>((resolve, reject) => {
      consumer.run({
        eachMessage: async ({ message }) => {
          seen.push(message.value!.toString());
          if (seen.length === 3) resolve();
        },
      }).catch(reject);
    });
    await consumer.disconnect();
    await elected;
    assert.ok(Date.now() - started >= ELECT_AFTER_MS - 20, 'the group was served only once its partition was elected again');
    assert.deepEqual(seen, ['v5', 'v6', 'v7'], 'the committed offset was reloaded from __consumer_offsets');
  });

  test('a transactional producer retries InitProducerId through NOT_COORDINATOR and commits after the election', async () => {
    const transactionalId = 'moved-txn';
    const p = partitionFor(transactionalId, PARTITIONS);
    // Make __transaction_state exist, then resign the id's partition before the producer starts.
    const first = kafka.producer({ transactionalId: 'warm-up', maxInFlightRequests: 1, idempotent: true });
    await first.connect();
    await first.disconnect();
    broker.context.transactions.onResignation(p, 1);
    const started = Date.now();
    const elected = new Promise<void>((resolve, reject) => setTimeout(() => broker.context.transactions.onElection(p, 2).then(resolve, reject), ELECT_AFTER_MS));
    const producer = kafka.producer({ transactionalId, maxInFlightRequests: 1, idempotent: true });
    await producer.connect();
    const txn = await producer.transaction();
    await txn.send({ topic: 'moved', messages: [{ value: 'in a moved coordinator' }] });
    await txn.commit();
    await producer.disconnect();
    await elected;
    assert.ok(Date.now() - started >= ELECT_AFTER_MS - 20);
    assert.equal(broker.context.transactions.coordinator.get(transactionalId)?.state, 'CompleteCommit');
    assert.equal(broker.context.transactions.runtime.epochOf(p), 2);
  });
});
