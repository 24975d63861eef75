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
import { InProcessCluster } from '../../helpers/in-process-cluster.js';
import { until } from '../../helpers/cluster-settings.js';
import { RawClient } from '../../helpers/raw-client.js';
import { runKafkaScript } from '../../helpers/cli.js';
import { ErrorCode } from '../../../src/protocol/generated/error-codes.js';

const CREATE_TOPICS = 19;
const ELECT_LEADERS = 43;
const ALTER_REASSIGNMENTS = 45;
const LIST_REASSIGNMENTS = 46;

/** The in-process cluster, plus what these tests ask of its controller. */
class TestCluster extends InProcessCluster {
  constructor(config: Record<string, string>) {
    super('control', config);
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

  /**
   * 150 one-record batches on broker 1, then a reassignment adding `newReplica` with the `side`'s throttle set on
   * `throttledBroker`: the new replica catches up no faster than the rate allows.
   */
  async function throttledCatchUp(topic: string, side: 'follower' | 'leader', throttledBroker: number, newReplica: number): Promise<Admin> {
    await cluster.createAssigned(topic, [[1]]);
    const producer = new Producer({ bootstrapServers: cluster.bootstrap(), acks: -1, lingerMs: 0 });
    try {
      // One small batch per record: a fetch overshoots its budget by one batch at most.
      for (let i = 0; i < 150; i++) await producer.send({ topic, partition: 0, value: `s${i}`.padEnd(1000, '.') });
    } finally {
      await producer.close();
    }
    const bytes = cluster.brokers.get(1)!.context.topics.log(topic, 0).read(0, 1 << 22, true).length;
    const rate = 80_000;
    const admin = new Admin({ bootstrapServers: cluster.bootstrap() });
    const rateKey = `${side}.replication.throttled.rate`;
    try {
      await admin.incrementalAlterConfigs([
        { type: 'topic', name: topic, ops: [{ name: `${side}.replication.throttled.replicas`, op: 'set', value: `0:${newReplica}` }] },
        { type: 'broker', name: String(throttledBroker), ops: [{ name: rateKey, op: 'set', value: String(rate) }] },
      ]);
      const started = Date.now();
      assert.deepEqual((await admin.alterPartitionReassignments([{ topic, partition: 0, replicas: [1, newReplica] }])).map((r) => r.error), [null]);
      await until('throttled replica caught up', () => cluster.brokers.get(newReplica)!.context.topics.tryLog(topic, 0)?.logEndOffset === 150, 20_000);
      const elapsed = Date.now() - started;
      const least = ((bytes - 1200) / rate) * 1000;
      assert.ok(elapsed >= least, `caught up ${bytes} bytes in ${elapsed} ms, under the ${least.toFixed(0)} ms the rate allows`);
      assert.ok(elapsed < least + 6000, `took ${elapsed} ms`);
      await until('reassignment complete', async () => (await admin.listPartitionReassignments()).length === 0);
      return admin;
    } catch (err) {
      await admin.close();
      throw err;
    } finally {
      await admin.incrementalAlterConfigs([{ type: 'broker', name: String(throttledBroker), ops: [{ name: rateKey, op: 'delete' }] }]).catch(() => undefined);
    }
  }

  test('a throttled catch-up (follower.replication.throttled.rate) takes at least its bytes over the rate', async () => {
    const admin = await throttledCatchUp('slow', 'follower', 2, 2);
    try {
      const [t] = await admin.describeTopics(['slow']);
      assert.deepEqual([...t!.partitions[0]!.isr].sort(), [1, 2]);
    } finally {
      await admin.close();
    }
  });

  test('the leader side: leader.replication.throttled.rate on the leader limits what a throttled follower reads', async () => {
    await (await throttledCatchUp('slowlead', 'leader', 1, 3)).close();
  });

  test('a broker that is not the controller answers NOT_CONTROLLER; the Admin goes to the controller', async () => {
    const controller = await cluster.controller();
    const other = [...cluster.brokers.values()].find((b) => b.nodeId !== controller.nodeId)!;
    const c = await RawClient.connect(other.address);
    try {
      const elect = await c.send(ELECT_LEADERS, 2, { electionType: 0, topicPartitions: [{ topic: 'moving', partitions: [0] }], timeoutMs: 5000 });
      assert.equal(elect.errorCode, ErrorCode.NOT_CONTROLLER);
      assert.equal(elect.replicaElectionResults[0].partitionResult[0].errorCode, ErrorCode.NOT_CONTROLLER);
      const alter = await c.send(ALTER_REASSIGNMENTS, 0, { timeoutMs: 5000, topics: [{ name: 'moving', partitions: [{ partitionIndex: 0, replicas: [1, 2] }] }] });
      assert.equal(alter.errorCode, ErrorCode.NOT_CONTROLLER);
      const list = await c.send(LIST_REASSIGNMENTS, 0, { timeoutMs: 5000, topics: null });
      assert.equal(list.errorCode, ErrorCode.NOT_CONTROLLER);
    } finally {
      c.close();
    }
    const admin = new Admin({ bootstrapServers: other.address });
    try {
      const results = await admin.electLeaders('PREFERRED', [{ topic: 'moving', partition: 0 }, { topic: 'nope', partition: 0 }]);
      assert.deepEqual(results.map((r) => `${r.topic}-${r.partition}:${r.error}`).sort(), ['moving-0:ELECTION_NOT_NEEDED', 'nope-0:UNKNOWN_TOPIC_OR_PARTITION']);
      const bad = await admin.alterPartitionReassignments([{ topic: 'moving', partition: 0, replicas: [3, 99] }, { topic: 'moving', partition: 0 + 5, replicas: [3, 4] }]);
      assert.deepEqual(bad.map((r) => r.error).sort(), ['INVALID_REPLICA_ASSIGNMENT', 'UNKNOWN_TOPIC_OR_PARTITION']);
      const cancel = await admin.alterPartitionReassignments([{ topic: 'moving', partition: 0, replicas: null }]);
      assert.deepEqual(cancel.map((r) => r.error), ['NO_REASSIGNMENT_IN_PROGRESS']);
    } finally {
      await admin.close();
    }
  });

  test('preferred and unclean elections (ElectLeaders) after brokers come back', async () => {
    await cluster.createAssigned('elect', [[1, 2, 3]]);
    await cluster.createAssigned('lost', [[3, 4]]);
    await produce(cluster.bootstrap(), 'elect', 20);
    await produce(cluster.bootstrap(), 'lost', 20);
    const admin = new Admin({ bootstrapServers: cluster.bootstrap() });
    const partition = async (topic: string): Promise<{ leader: number; isr: number[] }> => {
      const [t] = await admin.describeTopics([topic]);
      return { leader: t!.partitions[0]!.leader, isr: [...t!.partitions[0]!.isr].sort() };
    };
    try {
      // Broker 1 goes and comes back: broker 2 leads 'elect' until a preferred election.
      await cluster.stop(1);
      await until('broker 2 leads elect', async () => (await partition('elect')).leader === 2);
      await cluster.start(1);
      await until('broker 1 back in the ISR', async () => (await partition('elect')).isr.join() === '1,2,3', 20_000);
      assert.equal((await partition('elect')).leader, 2, 'no rebalance without auto.leader.rebalance.enable');
      const all = await admin.electLeaders('PREFERRED', null);
      assert.ok(all.some((r) => r.topic === 'elect' && r.error === null), JSON.stringify(all));
      assert.ok(!all.some((r) => r.error === 'ELECTION_NOT_NEEDED'), 'all-partition elections leave out the ones not needed');
      await until('broker 1 leads elect again', async () => (await partition('elect')).leader === 1);
      assert.deepEqual((await admin.electLeaders('PREFERRED', [{ topic: 'elect', partition: 0 }])).map((r) => r.error), ['ELECTION_NOT_NEEDED']);

      // 'lost' on {3,4}: 4 goes, then 3 (the last in-sync replica); 4 back is not in sync, so only unclean elects it.
      await cluster.stop(4);
      await until('ISR of lost is {3}', async () => (await partition('lost')).isr.join() === '3');
      await cluster.stop(3);
      await until('lost is offline', async () => (await partition('lost')).leader === -1);
      await cluster.start(4);
      await until('broker 4 registered', async () => (await admin.describeCluster()).brokers.some((b) => b.nodeId === 4));
      assert.deepEqual((await admin.electLeaders('PREFERRED', [{ topic: 'lost', partition: 0 }])).map((r) => r.error), ['PREFERRED_LEADER_NOT_AVAILABLE']);
      assert.equal((await partition('lost')).leader, -1);
      assert.deepEqual((await admin.electLeaders('UNCLEAN', [{ topic: 'lost', partition: 0 }])).map((r) => r.error), [null]);
      await until('broker 4 leads lost', async () => (await partition('lost')).leader === 4);
      await cluster.start(3);
      await until('broker 3 back in the ISR of lost', async () => (await partition('lost')).isr.join() === '3,4', 20_000);
    } finally {
      await admin.close();
    }
  });

  test('kafka-reassign-partitions.sh --generate/--execute --throttle/--verify/--cancel and kafka-leader-election.sh', async () => {
    await cluster.createAssigned('scripted', [[1, 2], [2, 1]]);
    await produce(cluster.bootstrap(), 'scripted', 50);
    const dir = mkdtempSync(join(tmpdir(), 'tributary-reassign-json-'));
    const b = ['--bootstrap-server', cluster.bootstrap()];
    const admin = new Admin({ bootstrapServers: cluster.bootstrap() });
    try {
      writeFileSync(join(dir, 'topics.json'), JSON.stringify({ topics: [{ topic: 'scripted' }], version: 1 }));
      let r = await runKafkaScript('kafka-reassign-partitions.sh', [...b, '--generate', '--topics-to-move-json-file', join(dir, 'topics.json'), '--broker-list', '3,4']);
      assert.equal(r.code, 0, r.stderr);
      const m = /^Current partition replica assignment\n(\{.*\})\n\nProposed partition reassignment configuration\n(\{.*\})\n$/.exec(r.stdout);
      assert.ok(m, r.stdout);
      assert.deepEqual(JSON.parse(m[1]!), { version: 1, partitions: [{ topic: 'scripted', partition: 0, replicas: [1, 2], log_dirs: ['any', 'any'] }, { topic: 'scripted', partition: 1, replicas: [2, 1], log_dirs: ['any', 'any'] }] });
      const proposed = JSON.parse(m[2]!) as { partitions: Array<{ replicas: number[] }> };
      assert.ok(proposed.partitions.every((p) => [...p.replicas].sort().join() === '3,4'), m[2]);
      writeFileSync(join(dir, 'plan.json'), m[2]!);

      r = await runKafkaScript('kafka-reassign-partitions.sh', [...b, '--execute', '--reassignment-json-file', join(dir, 'plan.json'), '--throttle', '50000000']);
      assert.equal(r.code, 0, r.stderr);
      assert.equal(r.stdout, `Current partition replica assignment\n\n${m[1]}\n\nSave this to use as the --reassignment-json-file option during rollback\n`
        + 'Warning: You must run --verify periodically, until the reassignment completes, to ensure the throttle is removed.\n'
        + 'The inter-broker throttle limit was set to 50000000 B/s\nSuccessfully started partition reassignments for scripted-0,scripted-1\n');
      const [topicConfig] = await admin.describeConfigs([{ type: 'topic', name: 'scripted', keys: ['leader.replication.throttled.replicas', 'follower.replication.throttled.replicas'] }]);
      assert.deepEqual(topicConfig!.configs.map((e) => `${e.name}=${e.value}`).sort(), [
        `follower.replication.throttled.replicas=0:${proposed.partitions[0]!.replicas.join(',0:')},1:${proposed.partitions[1]!.replicas.join(',1:')}`,
        'leader.replication.throttled.replicas=0:1,0:2,1:2,1:1',
      ]);

      let verified = '';
      await until('--verify says completed', async () => {
        r = await runKafkaScript('kafka-reassign-partitions.sh', [...b, '--verify', '--reassignment-json-file', join(dir, 'plan.json')]);
        verified = r.stdout;
        return r.code === 0 && !verified.includes('in progress');
      }, 20_000);
      assert.equal(verified, 'Status of partition reassignment:\nReassignment of partition scripted-0 is completed.\nReassignment of partition scripted-1 is completed.\n\n'
        + 'Clearing broker-level throttles on brokers 1,2,3,4\nClearing topic-level throttles on topic scripted\n');
      const [cleared] = await admin.describeConfigs([{ type: 'topic', name: 'scripted', keys: ['follower.replication.throttled.replicas'] }]);
      assert.equal(cleared!.configs[0]!.value, '');
      const [broker3] = await admin.describeConfigs([{ type: 'broker', name: '3', keys: ['follower.replication.throttled.rate'] }]);
      assert.equal(broker3!.configs[0]!.value, '9223372036854775807');
      const read = await readAll(cluster.bootstrap(), 'scripted', 50);
      assert.equal(read.length, 50);

      r = await runKafkaScript('kafka-reassign-partitions.sh', [...b, '--cancel', '--reassignment-json-file', join(dir, 'plan.json'), '--preserve-throttles']);
      assert.equal(r.code, 0, r.stderr);
      assert.equal(r.stdout, 'None of the specified partition reassignments are active.\n');

      r = await runKafkaScript('kafka-leader-election.sh', [...b, '--election-type', 'PREFERRED', '--all-topic-partitions']);
      assert.equal(r.code, 0, r.stderr);
      r = await runKafkaScript('kafka-leader-election.sh', [...b, '--election-type', 'preferred', '--topic', 'scripted', '--partition', '0']);
      assert.equal(r.code, 0, r.stderr);
      assert.equal(r.stdout, 'Valid replica already elected for partitions scripted-0\n');
      writeFileSync(join(dir, 'elect.json'), JSON.stringify({ partitions: [{ topic: 'scripted', partition: 1 }, { topic: 'nope', partition: 0 }] }));
      r = await runKafkaScript('kafka-leader-election.sh', [...b, '--election-type', 'PREFERRED', '--path-to-json-file', join(dir, 'elect.json')]);
      assert.equal(r.code, 1);
      assert.match(r.stdout, /^Valid replica already elected for partitions scripted-1\nError completing leader election \(PREFERRED\) for partition: nope-0: org\.apache\.kafka\.common\.errors\.UnknownTopicOrPartitionException/);
      assert.match(r.stderr, /1 replica\(s\) could not be elected/);
      r = await runKafkaScript('kafka-leader-election.sh', [...b, '--topic', 'scripted', '--partition', '0']);
      assert.equal(r.code, 1);
      assert.match(r.stderr, /election-type/);
    } finally {
      await admin.close();
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe('the controller APIs on a single-node broker', () => {
  let broker: RunningBroker;
  let dir: string;
  before(async () => {
    dir = mkdtempSync(join(tmpdir(), 'tributary-control-single-'));
    broker = await startBroker({ port: 0, dataDir: dir, logLevel: 'warn' });
  });
  after(async () => {
    await broker?.close();
    rmSync(dir, { recursive: true, force: true });
  });

  test('elections are not needed, reassignments only to this broker, none listed', async () => {
    const admin = new Admin({ bootstrapServers: broker.address });
    try {
      await admin.createTopics([{ name: 'solo', numPartitions: 2, replicationFactor: 1 }]);
      const elect = await admin.electLeaders('PREFERRED', [{ topic: 'solo', partition: 0 }, { topic: 'solo', partition: 7 }]);
      assert.deepEqual(elect.map((r) => r.error), ['ELECTION_NOT_NEEDED', 'UNKNOWN_TOPIC_OR_PARTITION']);
      assert.deepEqual(await admin.electLeaders('UNCLEAN', null), []);
      const self = broker.context.nodeId;
      const moved = await admin.alterPartitionReassignments([{ topic: 'solo', partition: 0, replicas: [self] }, { topic: 'solo', partition: 1, replicas: [self + 1] }]);
      assert.deepEqual(moved.map((r) => r.error), [null, 'INVALID_REPLICA_ASSIGNMENT']);
      assert.deepEqual(await admin.listPartitionReassignments(), []);
    } finally {
      await admin.close();
    }
  });
});

describe('auto.leader.rebalance.enable', () => {
  const cluster = new TestCluster({ 'auto.leader.rebalance.enable': 'true', 'leader.imbalance.check.interval.seconds': '1' });
  before(async () => cluster.open([1, 2, 3]));
  after(async () => cluster.close());

  test('after a broker restarts, leadership returns to the preferred replicas', async () => {
    await cluster.createAssigned('balanced', [[1, 2, 3], [2, 3, 1], [3, 1, 2]]);
    const admin = new Admin({ bootstrapServers: cluster.bootstrap() });
    const leaders = async (): Promise<number[]> => (await admin.describeTopics(['balanced']))[0]!.partitions.map((p) => p.leader);
    try {
      await until('preferred leaders', async () => (await leaders()).join() === '1,2,3');
      await cluster.stop(1);
      await until('partition 0 led elsewhere', async () => ![1, -1].includes((await leaders())[0]!));
      await cluster.start(1);
      await until('broker 1 back in sync', async () => (await admin.describeTopics(['balanced']))[0]!.partitions.every((p) => p.isr.length === 3), 20_000);
      await until('leadership back on the preferred replicas', async () => (await leaders()).join() === '1,2,3', 10_000);
    } finally {
      await admin.close();
    }
  });
});
