/**
 * Support for the sink tests: one in-process broker per test file, topics, records written with the Producer,
 * pipeline configs, and a sink wrapper that simulates a crash after a number of written batches.
 */
import Database from 'better-sqlite3';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startBroker, type RunningBroker } from '../../../src/index.js';
import { Admin } from '../../../src/client/admin.js';
import { Producer } from '../../../src/client/producer.js';
import { Consumer, type ConsumerRecord } from '../../../src/client/consumer.js';
import type { ClientOptions } from '../../../src/client/cluster.js';
import { SinkError, type PipelineConfig, type SinkConfig, type SinkConnector } from '../../../src/connect/types.js';
import type { SinkRunOptions } from '../../../src/connect/sink-runtime.js';

export interface TestBroker {
  broker: RunningBroker;
  dir: string;
  client: ClientOptions;
  close(): Promise<void>;
}

export async function startTestBroker(): Promise<TestBroker> {
  const dir = await mkdtemp(join(tmpdir(), 'tributary-sink-'));
  const broker = await startBroker({
    host: '127.0.0.1',
    port: 0,
    dataDir: join(dir, 'broker'),
    config: { 'num.partitions': '3', 'group.initial.rebalance.delay.ms': '0', 'group.min.session.timeout.ms': '100', 'offsets.topic.num.partitions': '1' },
    logLevel: 'silent',
  });
  return {
    broker,
    dir,
    client: { bootstrapServers: broker.address, retryBackoffMs: 50 },
    async close() {
      await broker.close();
      await rm(dir, { recursive: true, force: true });
    },
  };
}

export async function createTopic(client: ClientOptions, name: string, partitions = 3): Promise<void> {
  const admin = new Admin(client);
  try {
    await admin.connect();
    await admin.createTopics([{ name, numPartitions: partitions, replicationFactor: 1 }]);
  } finally {
    await admin.close();
  }
}

/** Produces values (objects as JSON, strings as is) with keys, in order, and waits for every acknowledgement. */
export async function produce(client: ClientOptions, topic: string, records: Array<{ key?: string | null; value: unknown }>): Promise<void> {
  const producer = new Producer({ ...client, lingerMs: 2 });
  try {
    await producer.connect();
    await producer.sendBatch(records.map((r) => ({
      topic,
      key: r.key ?? null,
      value: typeof r.value === 'string' ? r.value : JSON.stringify(r.value),
    })));
  } finally {
    await producer.close();
  }
}

/** Every record of a topic (from the beginning, until `count` arrived or the timeout). */
export async function readTopic(client: ClientOptions, topic: string, count: number, timeoutMs = 10_000): Promise<ConsumerRecord[]> {
  const admin = new Admin(client);
  await admin.connect();
  const [desc] = await admin.describeTopics([topic]);
  await admin.close();
  const consumer = new Consumer({ ...client, autoOffsetReset: 'earliest', fetchMaxWaitMs: 100 });
  const out: ConsumerRecord[] = [];
  try {
    await consumer.connect();
    consumer.assign(desc.partitions.map((p) => ({ topic, partition: p.partition })));
    const deadline = Date.now() + timeoutMs;
    while (out.length < count && Date.now() < deadline) out.push(...(await consumer.poll(200)));
  } finally {
    await consumer.close();
  }
  return out;
}

export function sinkPipeline(name: string, topic: string, sink: Partial<SinkConfig> & Pick<SinkConfig, 'type' | 'url'>): PipelineConfig {
  return {
    name,
    topic,
    group: `connect-${name}`,
    tasks: 1,
    sink: {
      mode: 'insert',
      autoCreate: true,
      batchSize: 100,
      guarantee: 'at-least-once',
      deadLetterTopic: `${topic}-dlq`,
      ...sink,
    },
  };
}

/** Runtime options for tests: quick group membership, quiet logs kept for assertions, bounded by a timeout. */
export function runOptions(extra: Partial<SinkRunOptions> & { logs?: string[] } = {}): SinkRunOptions {
  const logs = extra.logs ?? [];
  return {
    signal: AbortSignal.timeout(30_000),
    once: true,
    idleMs: 800,
    progressIntervalMs: 200,
    log: (m) => logs.push(m),
    consumer: { sessionTimeoutMs: 3000, heartbeatIntervalMs: 100, fetchMaxWaitMs: 100 },
    ...extra,
  };
}

/**
 * Wraps a sink to simulate a crash: after `afterWrites` successful writes it aborts `controller` and reports
 * the last write as a (retriable) failure, so the runtime stops as if it died after the database committed
 * but before the group commit.
 */
export function crashingSink(inner: SinkConnector, afterWrites: number, controller: AbortController): SinkConnector & { writes: number } {
  const wrapper = {
    name: inner.name,
    writes: 0,
    open: () => inner.open(),
    close: () => inner.close(),
    storedOffsets: (pipeline: string, tps: Array<{ topic: string; partition: number }>) => inner.storedOffsets(pipeline, tps),
    async write(...args: Parameters<SinkConnector['write']>) {
      const failures = await inner.write(...args);
      wrapper.writes++;
      if (wrapper.writes >= afterWrites) {
        controller.abort();
        throw new SinkError('simulated crash after the transaction committed', { retriable: true });
      }
      return failures;
    },
  };
  return wrapper;
}

export const users = (n: number, from = 0): Array<{ key: string; value: { id: number; name: string; age: number } }> =>
  Array.from({ length: n }, (_, i) => ({ key: String(from + i), value: { id: from + i, name: `user-${from + i}`, age: 20 + ((from + i) % 50) } }));

/** The rows of a query on a SQLite file (opened read-only for it). */
export function querySqlite<R>(path: string, sql: string): R[] {
  const db = new Database(path, { readonly: true });
  try {
    return db.prepare(sql).all() as R[];
  } finally {
    db.close();
  }
}
