/**
 * Test support for the consumer tests: an in-process broker, topics, and records written with raw
 * Produce requests (buildRecordBatch), including transactional ones, so these tests do not depend on
 * the Producer.
 */
import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startBroker } from '../../../src/index.js';
import { Cluster, CoordinatorType } from '../../../src/client/cluster.js';
import { throwIfError } from '../../../src/client/errors.js';
import { buildRecordBatch, type RecordInput } from '../../../src/protocol/records/record.js';
import type { CompressionType } from '../../../src/protocol/records/compression.js';
import { ProduceRequest } from '../../../src/protocol/generated/produce-request.js';
import { ProduceResponse } from '../../../src/protocol/generated/produce-response.js';
import { CreateTopicsRequest } from '../../../src/protocol/generated/create-topics-request.js';
import { CreateTopicsResponse } from '../../../src/protocol/generated/create-topics-response.js';
import { InitProducerIdRequest } from '../../../src/protocol/generated/init-producer-id-request.js';
import { InitProducerIdResponse } from '../../../src/protocol/generated/init-producer-id-response.js';
import { AddPartitionsToTxnRequest } from '../../../src/protocol/generated/add-partitions-to-txn-request.js';
import { AddPartitionsToTxnResponse } from '../../../src/protocol/generated/add-partitions-to-txn-response.js';
import { EndTxnRequest } from '../../../src/protocol/generated/end-txn-request.js';
import { EndTxnResponse } from '../../../src/protocol/generated/end-txn-response.js';
import type { Consumer, ConsumerRecord } from '../../../src/client/consumer.js';

/** Broker settings that keep group tests fast. */
export const FAST_GROUPS: Record<string, string> = {
  'num.partitions': '3',
  'group.initial.rebalance.delay.ms': '0',
  'group.min.session.timeout.ms': '100',
  'group.consumer.heartbeat.interval.ms': '100',
  'group.consumer.session.timeout.ms': '3000',
  'offsets.topic.num.partitions': '3',
  'transaction.state.log.num.partitions': '3',
};

export async function withBroker(fn: (address: string) => Promise<void>, config: Record<string, string> = {}): Promise<void> {
  const dataDir = await mkdtemp(join(tmpdir(), 'tributary-consumer-'));
  const broker = await startBroker({ host: '127.0.0.1', port: 0, dataDir, config: { ...FAST_GROUPS, ...config }, logLevel: 'silent' });
  try {
    await fn(broker.address);
  } finally {
    await broker.close();
    await rm(dataDir, { recursive: true, force: true });
  }
}

/** Writes test data with raw requests. */
export class Writer {
  private constructor(readonly cluster: Cluster) {}

  static async open(address: string): Promise<Writer> {
    const cluster = new Cluster({ bootstrapServers: address });
    await cluster.connect();
    return new Writer(cluster);
  }

  async createTopic(name: string, numPartitions = 3, configs: Record<string, string> = {}): Promise<void> {
    const conn = await this.cluster.anyConnection();
    const res = await conn.send(CreateTopicsRequest, CreateTopicsResponse, {
      topics: [{ name, numPartitions, replicationFactor: 1, assignments: [], configs: Object.entries(configs).map(([k, v]) => ({ name: k, value: v })) }],
      timeoutMs: 5000,
    });
    throwIfError(res.topics[0].errorCode, `create ${name}`, res.topics[0].errorMessage);
    await this.cluster.refreshMetadata([name]);
  }

  /** One batch to one partition; returns its base offset. */
  async produce(topic: string, partition: number, records: RecordInput[], opts: { compression?: CompressionType; transactionalId?: string | null; producerId?: bigint; producerEpoch?: number; baseSequence?: number; transactional?: boolean } = {}): Promise<number> {
    const leader = await this.cluster.leaderFor(topic, partition);
    const conn = await this.cluster.connection(leader);
    const batch = buildRecordBatch(records, {
      compression: opts.compression ?? 0,
      producerId: opts.producerId,
      producerEpoch: opts.producerEpoch,
      baseSequence: opts.baseSequence,
      transactional: opts.transactional,
    });
    const res = await conn.send(ProduceRequest, ProduceResponse, {
      transactionalId: opts.transactionalId ?? null,
      acks: -1,
      timeoutMs: 5000,
      topicData: [{ name: topic, partitionData: [{ index: partition, records: batch }] }],
    }, { maxVersion: 11 });
    const p = res.responses[0].partitionResponses[0];
    throwIfError(p.errorCode, `produce ${topic}-${partition}`, p.errorMessage);
    return Number(p.baseOffset);
  }

  /** n records "k<i>"/"v<i>" in batches of `perBatch`; returns nothing. */
  async fill(topic: string, partition: number, n: number, perBatch = 10, compression: CompressionType = 0, prefix = ''): Promise<void> {
    for (let i = 0; i < n; i += perBatch) {
      const records: RecordInput[] = [];
      for (let j = i; j < Math.min(n, i + perBatch); j++) records.push({ key: `${prefix}k${j}`, value: `${prefix}v${j}` });
      await this.produce(topic, partition, records, { compression });
    }
  }

  /** Writes `records` in a transaction on one partition and commits or aborts it. */
  async transaction(transactionalId: string, topic: string, partition: number, batches: RecordInput[][], commit: boolean): Promise<void> {
    const coord = await this.cluster.coordinatorConnection(transactionalId, CoordinatorType.TRANSACTION, 'default');
    const init = await coord.send(InitProducerIdRequest, InitProducerIdResponse, { transactionalId, transactionTimeoutMs: 60000, producerId: -1n, producerEpoch: -1 });
    throwIfError(init.errorCode, 'InitProducerId');
    const { producerId, producerEpoch } = init;
    const add = await coord.send(AddPartitionsToTxnRequest, AddPartitionsToTxnResponse, {
      v3AndBelowTransactionalId: transactionalId,
      v3AndBelowProducerId: producerId,
      v3AndBelowProducerEpoch: producerEpoch,
      v3AndBelowTopics: [{ name: topic, partitions: [partition] }],
    }, { maxVersion: 3 });
    for (const t of add.resultsByTopicV3AndBelow) for (const p of t.resultsByPartition) throwIfError(p.partitionErrorCode, 'AddPartitionsToTxn');
    let seq = 0;
    for (const records of batches) {
      await this.produce(topic, partition, records, { transactionalId, producerId, producerEpoch, baseSequence: seq, transactional: true });
      seq += records.length;
    }
    const end = await coord.send(EndTxnRequest, EndTxnResponse, { transactionalId, producerId, producerEpoch, committed: commit }, { maxVersion: 4 });
    throwIfError(end.errorCode, 'EndTxn');
  }

  async close(): Promise<void> {
    await this.cluster.close();
  }
}

/** Polls until `n` records arrived (or fails after timeoutMs). */
export async function pollN(consumer: Consumer, n: number, timeoutMs = 10_000): Promise<ConsumerRecord[]> {
  const out: ConsumerRecord[] = [];
  const deadline = Date.now() + timeoutMs;
  while (out.length < n) {
    const left = deadline - Date.now();
    assert.ok(left > 0, `timed out with ${out.length} of ${n} records`);
    out.push(...(await consumer.poll(Math.min(left, 500))));
  }
  return out;
}

/** Polls (driving the consumer) until cond() holds. */
export async function pollUntil(consumers: Consumer[], cond: () => boolean, timeoutMs = 10_000, sink?: ConsumerRecord[]): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!cond()) {
    assert.ok(Date.now() < deadline, 'condition not reached in time');
    const batches = await Promise.all(consumers.map((c) => c.poll(50)));
    if (sink) for (const b of batches) sink.push(...b);
  }
}

export const str = (b: Buffer | null): string | null => (b === null ? null : b.toString('utf8'));
