/**
 * The controller's APIs on an in-process cluster over a real etcd: reassignments (KIP-455) that move a
 * partition's data to other brokers and delete it from the old ones, preferred and unclean elections
 * (ElectLeaders), NOT_CONTROLLER from the other brokers, the Admin and Kafka scripts that drive them, throttled
 * catch-up, and the automatic leader rebalance after a restart.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startBroker, type RunningBroker } from '../../../src/index.js';
import { Admin } from '../../../src/client/admin.js';
import { Producer } from '../../../src/client/producer.js';
import { Consumer } from '../../../src/client/consumer.js';
import { startEtcd } from '../../helpers/etcd.js';
import { RawClient } from '../../helpers/raw-client.js';
import { runKafkaScript } from '../../helpers/cli.js';
import { ErrorCode } from '../../../src/protocol/generated/error-codes.js';

const CREATE_TOPICS = 19;
const ELECT_LEADERS = 43;
const ALTER_REASSIGNMENTS = 45;
const LIST_REASSIGNMENTS = 46;

const FAST = {
  'replica.fetch.wait.max.ms': '100',
  'replica.fetch.backoff.ms': '100',
  'replica.lag.time.max.ms': '3000',
  'offsets.topic.num.partitions': '3',
  'transaction.state.log.num.partitions': '3',
  'group.initial.rebalance.delay.ms': '0',
};

async function until(what: string, ok: () => boolean | Promise<boolean>, ms = 15_000): Promise<void> {
  const deadline = Date.now() + ms;
  while (!(await ok())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

class TestCluster {
  etcd!: Awaited<ReturnType<typeof startEtcd>>;
  readonly dirs = new Map<number, string>();
  readonly brokers = new Map<number, RunningBroker>();
  constructor(private readonly config: Record<string, string>) {}

  async open(ids: number[]): Promise<void> {
    this.etcd = await startEtcd();
    for (const id of ids) await this.start(id);
  }

  async start(id: number): Promise<RunningBroker> {
    if (!this.dirs.has(id)) this.dirs.set(id, mkdtempSync(join(tmpdir(), `tributary-control-${id}-`)));
    const b = await startBroker({ port: 0, dataDir: this.dirs.get(id)!, logLevel: 'warn', config: { ...FAST, ...this.config, 'etcd.connect': this.etcd.endpoint, 'node.id': id } });
    this.brokers.set(id, b);
    return b;
  }

  async stop(id: number): Promise<void> {
    await this.brokers.get(id)?.close();
    this.brokers.delete(id);
  }

  bootstrap(): string {
    return [...this.brokers.values()].map((b) => b.address).join(',');
  }

  async close(): Promise<void> {
    for (const b of this.brokers.values()) await b.close().catch(() => undefined);
    await this.etcd?.stop();
    for (const d of this.dirs.values()) rmSync(d, { recursive: true, force: true });
  }

  /** The broker elected controller, once every broker's image agrees on one. */
  async controller(): Promise<RunningBroker> {
    let id = -1;
    await until('a controller', () => {
      const ids = new Set([...this.brokers.values()].map((b) => b.context.replication.controllerId()));
      id = [...ids][0]!;
      return ids.size === 1 && this.brokers.has(id) && this.brokers.get(id)!.context.replication.activeController?.() != null;
    });
    return this.brokers.get(id)!;
  }

  /** CreateTopics with a manual assignment (partition i on assignment[i]). */
  async createAssigned(name: string, assignment: number[][], configs: Record<string, string> = {}): Promise<void> {
    const c = await RawClient.connect((await this.controller()).address);
    try {
      const res = await c.send(CREATE_TOPICS, 5, {
        topics: [{ name, numPartitions: -1, replicationFactor: -1, assignments: assignment.map((brokerIds, partitionIndex) => ({ partitionIndex, brokerIds })), configs: Object.entries(configs).map(([n, value]) => ({ name: n, value })) }],
        timeoutMs: 10_000,
        validateOnly: false,
      });
      assert.equal(res.topics[0].errorCode, ErrorCode.NONE, res.topics[0].errorMessage);
    } finally {
      c.close();
    }
  }
}

async function produce(bootstrap: string, topic: string, n: number, prefix = 'v', bytes = 0): Promise<void> {
  const producer = new Producer({ bootstrapServers: bootstrap, acks: -1 });
  try {
    const pad = 'x'.repeat(bytes);
    await Promise.all(Array.from({ length: n }, (_, i) => producer.send({ topic, partition: 0, value: `${prefix}${i}${pad}` })));
  } finally {
    await producer.close();
  }
}

async function readAll(bootstrap: string, topic: string, expected: number): Promise<string[]> {
  const c = new Consumer({ bootstrapServers: bootstrap, autoOffsetReset: 'earliest' });
  const out: string[] = [];
  try {
    await c.connect();
    c.assign([{ topic, partition: 0 }]);
    const deadline = Date.now() + 15_000;
    while (out.length < expected && Date.now() < deadline) for (const r of await c.poll(500)) out.push(r.value?.toString() ?? '');
  } finally {
    await c.close();
  }
  return out;
}

describe('reassignments and elections on a four-broker cluster', () => {
  const cluster = new TestCluster({ 'auto.leader.rebalance.enable': 'false' });
  before(async () => cluster.open([1, 2, 3, 4]));
  after(async () => cluster.close());

  test('a reassignment from {1,2} to {3,4} moves the data and deletes the old replicas', async () => {
    await cluster.createAssigned('moving', [[1, 2]]);
    await produce(cluster.bootstrap(), 'moving', 500);
    const admin = new Admin({ bootstrapServers: cluster.bootstrap() });
    try {
      const results = await admin.alterPartitionReassignments([{ topic: 'moving', partition: 0, replicas: [3, 4] }]);
      assert.deepEqual(results.map((r) => r.error), [null]);
      await until('reassignment complete', async () => {
        const [t] = await admin.describeTopics(['moving']);
        const p = t!.partitions[0]!;
        return p.replicas.join() === '3,4' && [...p.isr].sort().join() === '3,4' && p.leader === 3;
      }, 20_000);
      assert.deepEqual(await admin.listPartitionReassignments(), []);
    } finally {
      await admin.close();
    }
    const read = await readAll(cluster.brokers.get(3)!.address, 'moving', 500);
    assert.equal(read.length, 500);
    read.forEach((v, i) => assert.equal(v, `v${i}`));
    await until('old replicas deleted', () => [1, 2].every((id) => cluster.brokers.get(id)!.context.topics.tryLog('moving', 0) === undefined));
    await until('new replicas caught up', () => [3, 4].every((id) => cluster.brokers.get(id)!.context.topics.tryLog('moving', 0)?.logEndOffset === 500));
    const [a, b] = [3, 4].map((id) => cluster.brokers.get(id)!.context.topics.log('moving', 0).read(0, 1 << 22, true));
    assert.ok(a!.length > 0 && a!.equals(b!), 'the new replicas hold the same bytes');
    for (const id of [1, 2]) assert.ok(!existsSync(join(cluster.dirs.get(id)!, 'moving-0')), `broker ${id} still has the directory`);
  });

  test('a throttled catch-up (follower.replication.throttled.rate) takes at least its bytes over the rate', async () => {
    await cluster.createAssigned('slow', [[1]]);
    const producer = new Producer({ bootstrapServers: cluster.bootstrap(), acks: -1, lingerMs: 0 });
    try {
      // One small batch per record: a fetch overshoots its budget by one batch at most.
      for (let i = 0; i < 150; i++) await producer.send({ topic: 'slow', partition: 0, value: `s${i}`.padEnd(1000, '.') });
    } finally {
      await producer.close();
    }
    const bytes = cluster.brokers.get(1)!.context.topics.log('slow', 0).read(0, 1 << 22, true).length;
    const rate = 80_000;
    const admin = new Admin({ bootstrapServers: cluster.bootstrap() });
    try {
      await admin.incrementalAlterConfigs([
        { type: 'topic', name: 'slow', ops: [{ name: 'follower.replication.throttled.replicas', op: 'set', value: '0:2' }] },
        { type: 'broker', name: '2', ops: [{ name: 'follower.replication.throttled.rate', op: 'set', value: String(rate) }] },
      ]);
      const started = Date.now();
      assert.deepEqual((await admin.alterPartitionReassignments([{ topic: 'slow', partition: 0, replicas: [1, 2] }])).map((r) => r.error), [null]);
      await until('throttled replica caught up', () => cluster.brokers.get(2)!.context.topics.tryLog('slow', 0)?.logEndOffset === 150, 20_000);
      const elapsed = Date.now() - started;
      const least = ((bytes - 1200) / rate) * 1000;
      assert.ok(elapsed >= least, `caught up ${bytes} bytes in ${elapsed} ms, under the ${least.toFixed(0)} ms the rate allows`);
      assert.ok(elapsed < least + 6000, `took ${elapsed} ms`);
      await until('reassignment complete', async () => (await admin.listPartitionReassignments()).length === 0);
      const [t] = await admin.describeTopics(['slow']);
      assert.deepEqual([...t!.partitions[0]!.isr].sort(), [1, 2]);
    } finally {
      await admin.incrementalAlterConfigs([{ type: 'broker', name: '2', ops: [{ name: 'follower.replication.throttled.rate', op: 'delete' }] }]).catch(() => undefined);
      await admin.close();
    }
  });
});
